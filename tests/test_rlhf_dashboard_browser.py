"""Human labels first, in the dashboard: label pairs in the Label tab, train a reward model on
them from the New run tab, then PPO against it — without leaving the dashboard (real Chromium).

Tiny shapes; deselected by default: ``pytest -m browser tests/test_rlhf_dashboard_browser.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from workbench.cli import main
from workbench.paths import Paths
from workbench.registry import load_registry
from workbench.store import TERMINAL_STATUSES, open_store
from workbench.ui.app import build_app
from workbench.ui.context import UIContext

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
LABELS = 12

SYNTHETIC = {"size_chars": 20_000, "seed": 3}
ARCH = {"name": "gpt", "preset": "gpt-nano", "block_size": 128}
TRAINER = {"accelerator": "cpu", "devices": 1, "log_every_n_steps": 5}


def _config(name: str, stage: dict, dataset: dict, init_from: str | None) -> dict:
    return {
        "name": name,
        "seed": 3,
        "stage": stage,
        "architecture": ARCH,
        "tokenizer": {"name": "char"},
        "dataset": dataset,
        "trainer": TRAINER,
        "init_from": init_from,
    }


LM = _config(
    "tiny-lm",
    {"name": "pretrain", "max_steps": 120, "batch_size": 16, "lr": 3e-3, "warmup_steps": 10,
     "eval_interval": 60, "eval_batches": 2, "sample_tokens": 10},
    {"name": "synthetic", **SYNTHETIC},
    None,
)  # fmt: skip
RM = _config(
    "rm-from-my-labels",
    {"name": "reward-model", "max_steps": 20, "batch_size": 4, "lr": 1e-3, "warmup_steps": 2,
     "eval_interval": 10, "eval_batches": 1, "likelihood_features": False, "lm_coef": 0.0},
    {"name": "preference-labels", "kind": "human", "val_fraction": 0.25},
    "tiny-lm",
)  # fmt: skip
PPO = _config(
    "ppo-on-my-labels",
    {"name": "ppo", "reward_run": "rm-from-my-labels", "rollouts": 2, "rollout_batch_size": 4,
     "mini_batch_size": 4, "ppo_epochs": 1, "lr": 1e-4, "max_new_tokens": 12,
     "eval_interval": 2, "val_prompts": 4, "samples": 1},
    {"name": "synthetic-prompts", **SYNTHETIC},
    "tiny-lm",
)  # fmt: skip


def _wait_for(store, name: str, timeout: float = 300.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [r for r in store.list_runs() if r.name == name]
        if runs and runs[0].status in TERMINAL_STATUSES:
            return runs[0].status
        time.sleep(1.0)
    raise AssertionError(f"run {name} did not finish within {timeout:.0f} s")


def _launch_yaml(page, sync_api, config: dict) -> None:
    """Open the New run tab's YAML section, replace the editor's text, launch it."""
    page.get_by_role("tab", name="New run").click()
    accordion = page.get_by_text("YAML", exact=True)
    if not page.locator("#wb-yaml .cm-content").is_visible():
        accordion.click()
    editor = page.locator("#wb-yaml .cm-content")
    sync_api.expect(editor).to_be_visible()
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    # Flow style on one line: the editor's auto-indent cannot bend it.
    page.keyboard.insert_text(yaml.safe_dump(config, default_flow_style=True, width=10_000))
    page.get_by_role("button", name="Launch this YAML").click()


def test_labels_to_reward_model_to_ppo_in_the_dashboard(tmp_path: Path, monkeypatch) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    home = tmp_path / "home"
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    lm_file = tmp_path / "lm.yaml"
    lm_file.write_text(yaml.safe_dump(LM))
    assert main(["run", str(lm_file)]) == 0
    assert main(["pairs", "generate", "tiny-lm", "--count", str(LABELS + 4)]) == 0

    paths = Paths(home).ensure()
    store = open_store(paths)
    ctx = UIContext(paths=paths, store=store, registry=load_registry())
    app = build_app(ctx)
    _, url, _ = app.launch(prevent_thread_lock=True, quiet=True)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url)
            page.get_by_role("tab", name="Label").click()
            status = page.locator("#wb-label-status")
            prompt = page.locator("#wb-label-prompt textarea")
            for i in range(LABELS):
                sync_api.expect(prompt).not_to_have_value("")  # the pair is on screen
                page.keyboard.press("1" if i % 2 else "2")
                sync_api.expect(status).to_contain_text("A better" if i % 2 else "B better")
                deadline = time.monotonic() + 30
                while len(store.labels()) < i + 1 and time.monotonic() < deadline:
                    time.sleep(0.1)
            labels = store.labels()
            assert len(labels) == LABELS and {x.annotator for x in labels} == {"local"}

            _launch_yaml(page, sync_api, RM)
            assert _wait_for(store, RM["name"]) == "succeeded"
            _launch_yaml(page, sync_api, PPO)
            assert _wait_for(store, PPO["name"]) == "succeeded"
            browser.close()
    finally:
        app.close()

    runs = {r.name: r for r in store.list_runs()}
    lm, rm, ppo = runs["tiny-lm"], runs[RM["name"]], runs[PPO["name"]]
    assert rm.parent_id == lm.id and ppo.parent_id == lm.id
    assert rm.config["dataset"]["name"] == "preference-labels"
    assert store.metric_names(rm.id) and store.metric_names(ppo.id)
    assert any(name.startswith("val/") for name in store.metric_names(rm.id))
    store.close()
