"""Lightning pieces the runner adds to every run: the store logger, checkpoints, progress bar."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO
from pytorch_lightning.loggers.logger import Logger, rank_zero_experiment
from pytorch_lightning.utilities.exceptions import SIGTERMException
from pytorch_lightning.utilities.rank_zero import rank_zero_only

from workbench.files import atomic_file
from workbench.store import Store

LAST_CHECKPOINT = "last.ckpt"


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes a checkpoint to a temporary file in the same folder, then renames it into place,
    so a crash mid-write never leaves a truncated ``last.ckpt``."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        import torch

        with atomic_file(path, "wb", fsync=True) as handle:
            torch.save(checkpoint, handle)


def sweep_temporaries(folder: Path) -> list[Path]:
    """Remove checkpoint temporaries a killed writer left behind (``.NAME.*.tmp``); never a
    finished checkpoint. Returns what was removed."""
    removed = []
    for tmp in sorted(folder.glob(".*.tmp")) if folder.is_dir() else []:
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


class StoreLogger(Logger):
    """A Lightning logger that writes metrics to the workbench store, in batches.

    Rows wait in memory (up to ``flush_every_s``) to keep SQLite off the hot path, except that
    everything is written before each checkpoint (:meth:`durable_through`) and rows for a step
    that a checkpoint already covers are written at once: a run killed and resumed from its
    checkpoint has lost no metric up to that checkpoint.
    """

    def __init__(
        self, store: Store, run_id: int, flush_every_s: float = 2.0, flush_rows: int = 500
    ):
        super().__init__()
        self.trainer: pl.Trainer | None = None
        """Set by the runner: metrics are then stored at ``trainer.global_step`` (optimizer steps
        completed), so training and validation metrics share one x axis."""
        self._store = store
        self._run_id = run_id
        self._rows: list[tuple[int, str, float, float]] = []
        self._last_flush = time.monotonic()
        self._flush_every_s = flush_every_s
        self._flush_rows = flush_rows
        self._max_step = 0
        self._checkpointed_step = -1

    @property
    def name(self) -> str:
        return "workbench"

    @property
    def version(self) -> str:
        return str(self._run_id)

    @property
    @rank_zero_experiment
    def experiment(self) -> Store:
        return self._store

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """The resolved config is stored with the run already."""

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        now = time.time()
        step = self.trainer.global_step if self.trainer is not None else int(step or 0)
        self._max_step = max(self._max_step, step)
        for name, value in metrics.items():
            if name == "epoch":
                continue
            self._rows.append((step, name, float(value), now))
        if step <= self._checkpointed_step:
            self.flush()
        else:
            self._maybe_flush()

    def _maybe_flush(self) -> None:
        due = time.monotonic() - self._last_flush > self._flush_every_s
        if len(self._rows) >= self._flush_rows or due:
            self.flush()

    @rank_zero_only
    def flush(self) -> None:
        if self._rows:
            self._store.add_metrics(self._run_id, self._rows)
            self._rows = []
        self._last_flush = time.monotonic()

    def durable_through(self, step: int) -> None:
        """Called just before a checkpoint at ``step`` is written: store every buffered row, and
        store rows of steps up to ``step`` as they arrive from now on."""
        self.flush()
        self._checkpointed_step = max(self._checkpointed_step, step)

    @rank_zero_only
    def save(self) -> None:
        # Lightning calls save() after every log_metrics(); writing to SQLite each time would cost
        # milliseconds per step, so rows are written in batches (and always at finalize).
        self._maybe_flush()

    @rank_zero_only
    def finalize(self, status: str) -> None:
        self.flush()


class CheckpointAndProgress(pl.Callback):
    """Saves ``last.ckpt`` every ``every`` steps, at the end, and when SIGTERM arrives; keeps the
    run's ``step`` column current so the UI and ``workbench runs`` can show progress."""

    def __init__(
        self,
        store: Store,
        run_id: int,
        checkpoint_dir: Path,
        every: int | None,
        stop_requested: Callable[[], bool] | None = None,
    ):
        self._stop_requested = stop_requested or (lambda: False)
        self._store = store
        self._run_id = run_id
        self.path = checkpoint_dir / LAST_CHECKPOINT
        self._every = every
        self._last_saved_step = -1
        self._last_progress = 0.0

    def _save(self, trainer: pl.Trainer) -> None:
        if trainer.global_step == self._last_saved_step:
            return
        for logger in trainer.loggers:
            if isinstance(logger, StoreLogger):
                logger.durable_through(trainer.global_step)
        trainer.save_checkpoint(self.path)
        self._last_saved_step = trainer.global_step

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any
    ) -> None:
        step = trainer.global_step
        if trainer.received_sigterm:
            self._save(trainer)
            return
        if self._stop_requested():
            # A SIGTERM Lightning did not see (it came before its handler was installed).
            self._save(trainer)
            if trainer.is_global_zero:
                self._store.update_run(self._run_id, step=step)
            raise SIGTERMException()
        if self._every and step > 0 and step % self._every == 0:
            self._save(trainer)
        now = time.monotonic()
        if trainer.is_global_zero and now - self._last_progress > 1.0:
            self._store.update_run(self._run_id, step=step)
            self._last_progress = now

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._save(trainer)
        if trainer.is_global_zero:
            self._store.update_run(self._run_id, step=trainer.global_step)

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        if isinstance(exception, SIGTERMException):
            self._save(trainer)
            if trainer.is_global_zero:
                self._store.update_run(self._run_id, step=trainer.global_step)


class StepProgressBar(pl.Callback):
    """One tqdm bar over the run's optimizer steps (Lightning's own bar counts per epoch).

    The bar and its loss figures are brought up to date at most every ``refresh_s`` seconds
    (and at the end), not at every step: reading Lightning's progress-bar metrics and formatting
    them cost more than a small model's step can spare."""

    def __init__(self, total: int, refresh_s: float = 0.2):
        self._total = total
        self._refresh_s = refresh_s
        self._next_refresh = 0.0
        self._bar: Any = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=self._total,
            initial=trainer.global_step,
            unit="step",
            dynamic_ncols=True,
            file=sys.stderr,
        )

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any
    ) -> None:
        now = time.monotonic()
        if self._bar is None or now < self._next_refresh:
            return
        self._next_refresh = now + self._refresh_s
        self._catch_up(trainer)

    def _catch_up(self, trainer: pl.Trainer) -> None:
        shown = {
            k: f"{float(v):.4f}"
            for k, v in trainer.progress_bar_metrics.items()
            if k in ("train/loss", "val/loss")
        }
        if shown:
            self._bar.set_postfix(shown, refresh=False)
        self._bar.update(trainer.global_step - self._bar.n)

    def _close(self, trainer: pl.Trainer) -> None:
        if self._bar is not None:
            self._catch_up(trainer)
            self._bar.close()
            self._bar = None

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._close(trainer)

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        self._close(trainer)


class ThroughputMonitor(pl.Callback):
    """Logs ``throughput/tokens_per_s`` (all devices together) over each logging window and, when
    the model knows its FLOPs per token and the device's bf16 peak is known, ``throughput/mfu``."""

    def __init__(self, flops_per_token: float | None, peak_flops: float | None):
        self._flops_per_token = flops_per_token
        self._peak = peak_flops
        self._tokens = 0
        self._start: float | None = None

    @staticmethod
    def _batch_tokens(batch: Any) -> int:
        first = batch[0] if isinstance(batch, list | tuple) else batch
        return int(first.numel()) if hasattr(first, "numel") else 0

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._start is None:
            self._start = time.perf_counter()

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self._tokens += self._batch_tokens(batch) * trainer.world_size
        if (trainer.global_step % trainer.log_every_n_steps) != 0 or self._start is None:
            return
        if (
            trainer.accumulate_grad_batches > 1
            and (batch_idx + 1) % trainer.accumulate_grad_batches
        ):
            return
        if pl_module.device.type == "cuda":
            import torch

            torch.cuda.synchronize(pl_module.device)
        elapsed = time.perf_counter() - self._start
        if elapsed <= 0 or self._tokens == 0:
            return
        rate = self._tokens / elapsed
        pl_module.log("throughput/tokens_per_s", rate, on_step=True, rank_zero_only=True)
        if self._flops_per_token and self._peak:
            from workbench.devices import mfu

            value = mfu(self._flops_per_token, rate, self._peak, trainer.world_size)
            pl_module.log("throughput/mfu", value, on_step=True, rank_zero_only=True)
        self._tokens = 0
        self._start = time.perf_counter()


class StartupTimer(pl.Callback):
    """Records ``startup_s`` — seconds from the command's start (``started_at``) to the first
    training step of this launch — as a metric at the step training starts from, and prints it
    to the run's log."""

    def __init__(self, store: Store, run_id: int, started_at: float):
        self._store = store
        self._run_id = run_id
        self._started_at = started_at
        self._done = False

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._done:
            return
        self._done = True
        now = time.time()
        seconds = max(0.0, now - self._started_at)
        if trainer.is_global_zero:
            from workbench.runner.startup import METRIC

            self._store.add_metrics(self._run_id, [(trainer.global_step, METRIC, seconds, now)])
            from tqdm.auto import tqdm

            # Through tqdm, so that the line does not land inside the progress bar's.
            tqdm.write(
                f"startup: {seconds:.2f} s from the command to the first training step",
                file=sys.stderr,
            )
