"""kill -9 of a worker at a random point, then resume: no metric row logged up to the last
checkpoint is lost, no torn checkpoint is ever chosen, and the resumed curve has no gap.

One kill in the default suite; twenty (different random points) in the slow suite."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest
import torch

from workbench.cli import main
from workbench.config import load_config
from workbench.paths import resolve_home
from workbench.registry import load_registry
from workbench.runner import launcher
from workbench.runner.callbacks import StoreLogger, sweep_temporaries
from workbench.runner.procs import pid_alive
from workbench.store import open_store

MAX_STEPS = 120


def wait_until(predicate, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def kill_and_resume(home: Path, config_path: Path, kill_after_step: int) -> None:
    paths = resolve_home(home).ensure()
    store = open_store(paths)
    run_id = launcher.create_run(store, load_registry(), load_config(config_path, load_registry()))
    proc = launcher.spawn(paths, run_id, store=store)
    wait_until(lambda: store.get_run(run_id).step >= kill_after_step or proc.poll() is not None)
    time.sleep(random.uniform(0, 0.05))  # land anywhere inside a step
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not pid_alive(proc.pid)

    checkpoint = paths.run_dir(run_id) / "checkpoints" / "last.ckpt"
    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)["global_step"]
    logged = {m.step for m in store.metrics(run_id, "train/loss")}
    # Everything logged up to the checkpoint is in the store (the checkpoint's own step may be
    # logged a moment after the checkpoint is written).
    assert set(range(1, saved)) <= logged, sorted(set(range(1, saved)) - logged)

    assert main(["resume", str(run_id)]) == 0
    run = store.get_run(run_id)
    assert run.status == "succeeded" and run.step == MAX_STEPS
    steps = [m.step for m in store.metrics(run_id, "train/loss")]
    assert len(steps) == len(set(steps))
    gaps = set(range(1, MAX_STEPS + 1)) - set(steps)
    assert gaps <= {saved}, f"steps missing after resume: {sorted(gaps)} (checkpoint {saved})"
    assert not list(checkpoint.parent.glob(".*.tmp"))


@pytest.fixture
def slow_config(write_config):
    return write_config(
        "victim",
        name="slow-pretrain",
        step_sleep=0.01,
        max_steps=MAX_STEPS,
        eval_interval=40,
        checkpoint_every=9,
    )


def test_kill_and_resume_once(home, slow_config):
    kill_and_resume(home, slow_config, kill_after_step=30)


@pytest.mark.slow
@pytest.mark.parametrize("repetition", range(20))
def test_kill_and_resume_at_random_points(home, slow_config, repetition):
    rng = random.Random(repetition)
    kill_and_resume(home, slow_config, kill_after_step=rng.randint(10, MAX_STEPS - 10))


def test_store_logger_writes_everything_before_a_checkpoint(home):
    store = open_store(resolve_home(home).ensure())
    run_id = store.create_run(
        name="r", stage="pretrain", architecture="bigram", dataset="d", tokenizer="t",
        config={}, seed=0, plugin_versions={}, package_versions={},
    )  # fmt: skip
    logger = StoreLogger(store, run_id, flush_every_s=3600)
    logger.log_metrics({"train/loss": 1.0}, step=5)
    assert store.metrics(run_id) == []  # buffered
    logger.durable_through(5)
    assert [m.step for m in store.metrics(run_id)] == [5]
    logger.log_metrics({"val/loss": 2.0}, step=5)  # a step the checkpoint covers: at once
    assert [m.name for m in store.metrics(run_id)] == ["train/loss", "val/loss"]
    logger.log_metrics({"train/loss": 0.5}, step=6)  # past it: buffered again
    assert len(store.metrics(run_id)) == 2


def test_torn_checkpoint_temporaries_are_swept(tmp_path):
    (tmp_path / "last.ckpt").write_bytes(b"whole")
    (tmp_path / ".last.ckpt.abc123.tmp").write_bytes(b"torn")
    assert [p.name for p in sweep_temporaries(tmp_path)] == [".last.ckpt.abc123.tmp"]
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]
