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
