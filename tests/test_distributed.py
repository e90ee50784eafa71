"""Two-process DDP on the CPU (gloo) through the real runner: same curve as one process with the
same global batch; a DDP checkpoint resumes on one process."""

from __future__ import annotations

import pytest
import yaml
from test_runner import start_background, wait_until

from workbench.cli import main
from workbench.paths import resolve_home
from workbench.store import open_store


def gpt_config(corpus, *, batch_size: int, devices: int, stage: str = "pretrain", **extra) -> dict:
    strategy = "ddp" if devices > 1 else "auto"
    return {
        "name": f"ddp{devices}",
        "seed": 5,
        "stage": {
            "name": stage,
            "max_steps": 12,
            "batch_size": batch_size,
            "lr": 3e-3,
            "warmup_steps": 2,
            "eval_interval": 6,
            "eval_batches": 2,
            "sample_tokens": 0,
            **extra,
        },
        "architecture": {"name": "gpt", "preset": "gpt-nano", "dropout": 0.0},
        "tokenizer": {"name": "char"},
        "dataset": {"name": "text-file", "path": str(corpus)},
        "trainer": {
            "accelerator": "cpu",
            "devices": devices,
            "strategy": strategy,
            "log_every_n_steps": 1,
        },
    }


def write(tmp_path, name, config) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_ddp_two_processes_match_one_process_with_the_same_global_batch(home, corpus, tmp_path):
    assert (
        main(["run", write(tmp_path, "single", gpt_config(corpus, batch_size=8, devices=1))]) == 0
    )
    assert main(["run", write(tmp_path, "ddp", gpt_config(corpus, batch_size=4, devices=2))]) == 0
    store = open_store(resolve_home(home))
    single = {m.step: m.value for m in store.metrics(1, "train/loss")}
    ddp = {m.step: m.value for m in store.metrics(2, "train/loss")}
    assert sorted(single) == sorted(ddp) == list(range(1, 13))
    for step in single:
        assert ddp[step] == pytest.approx(single[step], rel=2e-3), step
    assert single[12] < single[1]
    # metrics written once (rank 0 only): one row per step and name
    assert len(store.metrics(2, "train/loss")) == 12
    assert store.get_run(2).status == "succeeded"


def test_ddp_checkpoint_resumes_on_one_process(home, corpus, tmp_path):
    config = gpt_config(corpus, batch_size=4, devices=2, stage="slow-pretrain", step_sleep=0.2)
    config["stage"]["max_steps"] = 60
    run_id, proc = start_background(home, write(tmp_path, "ddp-slow", config))
    store = open_store(resolve_home(home))
    wait_until(lambda: store.get_run(run_id).step >= 4, timeout=180)
    assert main(["cancel", str(run_id)]) == 0
    proc.wait(timeout=120)
    run = store.get_run(run_id)
    assert run.status == "cancelled", run.error
    stopped = run.step
    assert (
        main(
            [
                "resume",
                str(run_id),
                "--set",
                "trainer.devices=1",
                "--set",
                "trainer.strategy=auto",
                "--set",
                "stage.lr=1",
            ]
        )
        == 2
    )
    assert (
        main(
            ["resume", str(run_id), "--set", "trainer.devices=1", "--set", "trainer.strategy=auto"]
        )
        == 0
    )
    run = store.get_run(run_id)
    assert run.status == "succeeded" and run.step == 60
    assert run.config["trainer"]["devices"] == 1
    steps = [m.step for m in store.metrics(run_id, "train/loss")]
    assert len(steps) == len(set(steps)) and steps[0] <= stopped < steps[-1] == 60
