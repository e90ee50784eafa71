"""The checkpoint callback stops a run on a SIGTERM that Lightning itself did not see."""

from __future__ import annotations

import pytest
from pytorch_lightning.utilities.exceptions import SIGTERMException

from workbench.runner.callbacks import CheckpointAndProgress


class FakeTrainer:
    global_step = 7
    received_sigterm = False
    is_global_zero = True
    loggers: tuple = ()

    def __init__(self) -> None:
        self.saved: list[str] = []

    def save_checkpoint(self, path) -> None:
        self.saved.append(str(path))


class FakeStore:
    def __init__(self) -> None:
        self.updates: list[dict] = []

    def update_run(self, run_id: int, **fields) -> None:
        self.updates.append({"run_id": run_id, **fields})


def test_a_pending_sigterm_saves_a_checkpoint_and_stops(tmp_path):
    requested = {"stop": False}
    store, trainer = FakeStore(), FakeTrainer()
    callback = CheckpointAndProgress(store, 3, tmp_path, None, lambda: requested["stop"])
    callback.on_train_batch_end(trainer, None)
    assert trainer.saved == []  # nothing asked yet: training goes on
    requested["stop"] = True
    with pytest.raises(SIGTERMException):
        callback.on_train_batch_end(trainer, None)
    assert trainer.saved == [str(tmp_path / "last.ckpt")]
    assert store.updates[-1] == {"run_id": 3, "step": 7}


def test_lightning_sigterm_saves_and_lets_lightning_stop(tmp_path):
    store, trainer = FakeStore(), FakeTrainer()
    trainer.received_sigterm = True
    callback = CheckpointAndProgress(store, 3, tmp_path, None, lambda: True)
    callback.on_train_batch_end(trainer, None)  # Lightning raises at the end of the step itself
    assert trainer.saved == [str(tmp_path / "last.ckpt")]


class BarTrainer:
    """A trainer whose progress-bar metrics count how often they are read."""

    def __init__(self) -> None:
        self.global_step = 0
        self.reads = 0

    @property
    def progress_bar_metrics(self) -> dict:
        self.reads += 1
        return {"train/loss": 1.5, "lr": 0.1}


def test_progress_bar_catches_up_at_most_every_refresh_and_at_the_end():
    from workbench.runner.callbacks import StepProgressBar

    trainer = BarTrainer()
    bar = StepProgressBar(total=500, refresh_s=3600.0)
    bar.on_train_start(trainer, None)
    shown = bar._bar
    for step in range(1, 501):
        trainer.global_step = step
        bar.on_train_batch_end(trainer, None)
    assert trainer.reads == 1  # the first step, not every one (issue 15)
    assert shown.n == 1
    bar.on_train_end(trainer, None)
    assert shown.n == 500
    assert shown.postfix == "train/loss=1.5000"
