"""Helpers shared by the dashboard tests: a workbench home with a corpus in its data folder, a
UI context over it, tiny run configs (a bigram LM, a seq2seq Transformer), and waiting for
runs."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import tiny_config as bigram_config

from workbench.paths import resolve_home
from workbench.registry import load_registry
from workbench.store import open_store
from workbench.ui.context import UIContext

TESTS_DIR = Path(__file__).resolve().parent
TEST_PLUGINS = "wb_test_plugins.testing_stages"

CORPUS_LINES = [
    f"the {animal} sees {n} {thing}s."
    for n in range(40)
    for animal, thing in (("cat", "bird"), ("dog", "ball"), ("owl", "mouse"))
]


@contextmanager
def ui_home(root: Path, *, test_plugins: bool = True) -> Iterator[UIContext]:
    """A fresh home under ``root`` with ``data/corpus.txt``, and a UI context over it.

    The environment (home, and the test plugins unless ``test_plugins`` is false, visible to
    worker processes too) is set for the duration.
    """
    with pytest.MonkeyPatch.context() as mp:
        home = root / "home"
        mp.setenv("WORKBENCH_HOME", str(home))
        if test_plugins:
            mp.setenv("WORKBENCH_PLUGIN_MODULES", TEST_PLUGINS)
        else:
            mp.delenv("WORKBENCH_PLUGIN_MODULES", raising=False)
        mp.setenv(
            "PYTHONPATH",
            os.pathsep.join(p for p in (str(TESTS_DIR), os.environ.get("PYTHONPATH", "")) if p),
        )
        mp.delenv("WORKBENCH_PLUGINS", raising=False)
        mp.delenv("WORKBENCH_DISABLE_PLUGINS", raising=False)
        paths = resolve_home(home).ensure()
        corpus = paths.home / "data" / "corpus.txt"
        corpus.parent.mkdir(parents=True, exist_ok=True)
        corpus.write_text("\n".join(CORPUS_LINES * 4), encoding="utf-8")
        store = open_store(paths)
        try:
            yield UIContext(paths=paths, store=store, registry=load_registry())
        finally:
            store.close()


def tiny_config(name: str = "tiny", **stage: Any) -> dict[str, Any]:
    """A bigram run on ``data/corpus.txt`` (relative to the home) that trains in seconds."""
    config = bigram_config(Path("data/corpus.txt"), **stage)
    config["name"] = name
    return config


def tiny_seq2seq_config(name: str = "tiny-copy") -> dict[str, Any]:
    """A tiny Transformer on the copy task (2+2 layers, 2 heads) that trains in seconds."""
    return {
        "name": name,
        "seed": 0,
        "stage": {
            "name": "seq2seq",
            "max_steps": 20,
            "max_tokens": 256,
            "warmup_steps": 5,
            "eval_interval": 20,
            "eval_examples": 8,
            "bleu_tokenize": "char",
            "sample_count": 1,
        },
        "architecture": {
            "name": "transformer",
            "preset": "transformer-tiny",
            "d_model": 16,
            "n_head": 2,
            "d_ff": 32,
            "max_len": 16,
        },
        "tokenizer": {"name": "char", "special_tokens": ["<pad>", "<bos>", "<eos>"]},
        "dataset": {
            "name": "copy",
            "min_length": 3,
            "max_length": 5,
            "num_symbols": 5,
            "train_size": 100,
            "val_size": 16,
            "test_size": 8,
        },
        "trainer": {"accelerator": "cpu", "devices": 1, "log_every_n_steps": 5},
    }


def wait_until(predicate: Callable[[], Any], timeout: float = 120.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting")


def wait_finished(ctx: UIContext, run_id: int, timeout: float = 120.0) -> str:
    """Wait for a run to end; returns its status."""
    terminal = ("succeeded", "failed", "cancelled", "interrupted")
    return wait_until(
        lambda: (s := ctx.store.get_run(run_id).status) in terminal and s, timeout=timeout
    )


def fake_finished_run(ctx: UIContext, name: str, **overrides: Any) -> int:
    """A succeeded run row with a few metrics, recorded without training (for fast tests)."""
    config = tiny_config(name, **overrides)
    config["dataset"]["path"] = str(ctx.paths.home / "data" / "corpus.txt")
    run_id = ctx.store.create_run(
        name=name,
        stage="pretrain",
        architecture="bigram",
        dataset="text-file",
        tokenizer="char",
        config=config,
        seed=0,
        plugin_versions={},
        package_versions={},
        status="succeeded",
        max_steps=config["stage"]["max_steps"],
    )
    lr = config["stage"]["lr"]
    rows = []
    for step in range(1, 21):
        rows.append((step, "train/loss", 3.0 / step + lr, 1000.0 + step))
        rows.append((step, "tokens", float(step * 64), 1000.0 + step))
        if step % 10 == 0:
            rows.append((step, "val/loss", 3.2 / step + lr, 1000.0 + step))
    ctx.store.add_metrics(run_id, rows)
    ctx.store.update_run(run_id, step=20)
    return run_id


CORPUS = {"size_chars": 20_000, "seed": 0}


def recorded_gpt_run(ctx: UIContext, name: str, dataset: dict, parent_id: int | None = None) -> int:
    """A succeeded run row with a tiny untrained GPT saved as its model (no training): enough
    for the tabs that load a model, a tokenizer and the run's dataset."""
    import torch

    from workbench.config import resolve_config
    from workbench.runner import build

    raw = {
        "name": name,
        "seed": 0,
        "stage": {"name": "pretrain", "max_steps": 1},
        "architecture": {"name": "gpt", "n_layer": 1, "n_head": 2, "n_embd": 16, "block_size": 96},
        "tokenizer": {"name": "char"},
        "dataset": dataset,
    }
    resolved = resolve_config(raw, ctx.registry)
    run_id = ctx.store.create_run(
        name=name, stage="pretrain", architecture="gpt", dataset=dataset["name"],
        tokenizer="char", config=resolved.to_dict(), seed=0, plugin_versions={},
        package_versions={}, parent_id=parent_id, status="succeeded", max_steps=1,
    )  # fmt: skip
    run_dir = ctx.paths.run_dir(run_id)
    corpus = build.build_dataset(resolved, ctx.registry, ctx.paths)
    tokenizer = build.new_tokenizer(resolved, ctx.registry)
    # Fit on the parent corpus's text, so a child shares its parent's vocabulary.
    parent = resolve_config({**raw, "dataset": {"name": "synthetic", **CORPUS}}, ctx.registry)
    tokenizer.fit(build.build_dataset(parent, ctx.registry, ctx.paths).texts())
    tokenizer.save(run_dir / build.TOKENIZER_DIR)
    torch.manual_seed(run_id)
    model = build.build_model(resolved, ctx.registry, tokenizer.vocab_size)
    build.atomic_torch_save(model.state_dict(), run_dir / build.MODEL_FILE)
    assert corpus.extras["prompt_tasks"]
    return run_id
