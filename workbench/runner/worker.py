"""The run process: ``python -m workbench.runner.worker --home H --run-id N [--resume]``.

Each run executes in its own OS process so that cancel (SIGTERM), crashes and distributed
launches are isolated. The worker resolves the plugins, builds the tokenizer, the data, the
model and the stage's LightningModule, and runs ``pytorch_lightning.Trainer`` with the store
logger and checkpoints. It always leaves the run in a final status: succeeded, failed (with the
traceback), or cancelled (with a checkpoint to resume from).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import signal
import sys
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from workbench.paths import Paths, resolve_home
from workbench.runner.procs import owner
from workbench.store import Store, open_store

EXIT_SUCCEEDED, EXIT_FAILED, EXIT_CANCELLED = 0, 1, 3


class RunCancelled(Exception):
    """SIGTERM arrived before training started."""


class _SigtermGuard:
    """Until training starts, SIGTERM cancels the run at once; after that it is recorded in
    ``pending``, which the checkpoint callback also reads, so a SIGTERM that lands before
    Lightning has installed its own handler (which calls this one too) is not lost."""

    def __init__(self) -> None:
        self.training = False
        self.pending = False
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if not self.training:
            raise RunCancelled("cancelled before training started")
        self.pending = True


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in ("workbench", "torch", "pytorch-lightning", "pydantic", "tokenizers"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return versions


def _describe_device(trainer: Any) -> str:
    import torch

    device = trainer.strategy.root_device
    if device.type == "cuda":
        return f"cuda:{device.index} ({torch.cuda.get_device_name(device)})"
    return f"{device.type} ({torch.get_num_threads()} threads)"


def _quiet_lightning() -> None:
    for name in ("pytorch_lightning", "lightning_fabric", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*IterableDataset.*__len__.*")
    warnings.filterwarnings("ignore", message=".*resuming from a checkpoint that ended before.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")


def execute(
    paths: Paths, store: Store, run_id: int, *, resume: bool, progress: bool, guard: _SigtermGuard
) -> None:
    """Train one run to completion (or until SIGTERM)."""
    import pytorch_lightning as pl
    import torch

    from workbench.config import resolve_config
    from workbench.devices import check_trainer_options, peak_bf16_flops
    from workbench.files import sha256_of
    from workbench.registry import load_registry
    from workbench.runner import build, phase
    from workbench.runner.callbacks import StartupTimer, ThroughputMonitor, sweep_temporaries
    from workbench.runner.startup import started_at
    from workbench.specs import PairToLabel, RunInfo, StageContext

    _quiet_lightning()
    rank_zero = _is_launch_rank()
    run = store.get_run(run_id)
    run_dir = paths.run_dir(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    registry = _PRELOADED.pop("registry", None) or load_registry()
    resolved = resolve_config(run.config, registry)
    pl.seed_everything(resolved.run.seed, workers=True, verbose=False)

    if rank_zero:
        phase.set_phase(run_dir, phase.DATA)
    dataset = build.build_dataset(resolved, registry, paths)
    if rank_zero:
        phase.set_phase(run_dir, phase.TOKENIZER)

    tokenizer_dir = run_dir / build.TOKENIZER_DIR
    parent_dir = paths.run_dir(run.parent_id) if run.parent_id is not None else None
    if tokenizer_dir.is_dir():
        tokenizer = build.load_tokenizer(resolved, registry, tokenizer_dir)
    elif parent_dir is not None and (parent_dir / build.TOKENIZER_DIR).is_dir():
        # A child keeps its parent's vocabulary, or the parent's weights would not line up.
        tokenizer = build.load_tokenizer(resolved, registry, parent_dir / build.TOKENIZER_DIR)
    else:
        tokenizer = build.fit_tokenizer(resolved, registry, dataset, paths.cache)
    if rank_zero and not tokenizer_dir.is_dir():
        tokenizer_dir.mkdir(parents=True)
        tokenizer.save(tokenizer_dir)
        for file in sorted(tokenizer_dir.iterdir()):
            store.add_artifact(
                run_id,
                kind="tokenizer",
                path=str(file.relative_to(paths.home)),
                sha256=sha256_of(file),
                size=file.stat().st_size,
            )

    if rank_zero:
        phase.set_phase(run_dir, phase.MODEL)
    model = build.build_model(resolved, registry, tokenizer.vocab_size)
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    if rank_zero:
        sweep_temporaries(checkpoint.parent)  # torn writes of a killed run; never a checkpoint
    resuming = resume and checkpoint.is_file()
    if parent_dir is not None and not resuming:
        build.load_weights(model, parent_dir / build.MODEL_FILE)

    def log_sample(step: int, prompt: str, text: str) -> None:
        if rank_zero:
            store.add_sample(run_id, step=step, prompt=prompt, text=text)

    def queue_pairs(pairs: list[PairToLabel]) -> list[int]:
        if not rank_zero or not pairs or run.parent_id is None:
            return []
        return store_pairs_to_label(store, resolved, run_id, run.parent_id, pairs)

    info = RunInfo(
        id=run_id, name=run.name, seed=resolved.run.seed, run_dir=run_dir, home=paths.home
    )
    stage_spec = registry.stage(resolved.plugin("stage"))
    parts = stage_spec.factory(
        StageContext(
            config=resolved.options["stage"],
            run=info,
            model=model,
            tokenizer=tokenizer,
            dataset=dataset,
            log_sample=log_sample,
            parent_heads=build.load_heads(parent_dir) if parent_dir is not None else {},
            load_run=build.run_loader(store, paths, registry),
            queue_pairs=queue_pairs,
        )
    )
    if rank_zero:
        store.update_run(run_id, max_steps=parts.max_steps, run_dir=str(run_dir))

    plan = check_trainer_options(resolved.run.trainer)
    if plan.accelerator == "cuda":
        # TF32 tensor cores for float32 matmuls (Ampere and newer).
        torch.set_float32_matmul_precision("high")
    compile_model = resolved.run.trainer.compile
    if compile_model is True or (compile_model == "auto" and plan.accelerator == "cuda"):
        model.compile()  # in place: state_dict keys stay the same
    flops = model.flops_per_token() if hasattr(model, "flops_per_token") else None
    peak = peak_bf16_flops(plan.name) if plan.accelerator == "cuda" else None
    trainer, _ = make_trainer(
        resolved.run.trainer,
        parts,
        store=store,
        run_id=run_id,
        run_dir=run_dir,
        progress=progress and rank_zero,
        extra_callbacks=[
            ThroughputMonitor(flops, peak),
            StartupTimer(store, run_id, started_at()),
        ],
        stop_requested=lambda: guard.pending,
        home=paths.home,
        run_name=run.name,
        config=resolved.to_dict(),
    )
    if rank_zero:
        store.update_run(run_id, device=_describe_device(trainer))
    if resuming and rank_zero:
        step = torch.load(checkpoint, map_location="cpu", weights_only=False)["global_step"]
        store.delete_metrics_after(run_id, step)
    guard.training = True
    if rank_zero:
        phase.set_phase(run_dir, phase.FIRST_STEPS)
    trainer.fit(
        parts.module, datamodule=parts.datamodule, ckpt_path=str(checkpoint) if resuming else None
    )

    if rank_zero and trainer.is_global_zero:
        model_path = run_dir / build.MODEL_FILE
        build.atomic_torch_save(model.state_dict(), model_path)
        heads_path = run_dir / build.HEADS_FILE
        if parts.heads:
            build.save_heads(parts.heads, heads_path)
        for kind, file in (
            ("model", model_path),
            ("heads", heads_path),
            ("checkpoint", checkpoint),
        ):
            if file.is_file():
                store.add_artifact(
                    run_id,
                    kind=kind,
                    path=str(file.relative_to(paths.home)),
                    sha256=sha256_of(file),
                    size=file.stat().st_size,
                    step=trainer.global_step,
                )


def store_pairs_to_label(
    store: Store, resolved: Any, run_id: int, parent_id: int, pairs: Sequence[Any]
) -> list[int]:
    """Store a stage's :class:`~workbench.specs.PairToLabel` items: the prompts (source: the
    run's dataset block and seed, as ``workbench pairs generate`` records them), the run's and
    its parent's completions, and the pairs; return the pair ids."""
    from workbench.operations.pairs import prompt_source, store_pairs_against

    dataset = {
        "name": resolved.plugin("dataset"),
        **resolved.options["dataset"].model_dump(mode="json"),
    }
    source = prompt_source(dataset, resolved.run.seed)
    return store_pairs_against(store, source, pairs, run_id, parent_id)


def make_trainer(
    trainer_opts: Any,
    parts: Any,
    *,
    store: Store,
    run_id: int,
    run_dir: Path,
    progress: bool,
    extra_callbacks: Sequence[Any] = (),
    stop_requested: Callable[[], bool] | None = None,
    home: Path,
    run_name: str,
    config: Mapping[str, Any],
) -> tuple[Any, Any]:
    """The ``pl.Trainer`` of a run: the store logger (plus any Lightning loggers the config asks
    for, each given ``config`` as hyper-parameters), ``last.ckpt`` checkpoints written
    atomically, and the step progress bar."""
    import pytorch_lightning as pl

    from workbench.runner.callbacks import (
        AtomicCheckpointIO,
        CheckpointAndProgress,
        StepProgressBar,
        StoreLogger,
    )
    from workbench.runner.tracking import log_config, make_logger

    store_logger = StoreLogger(store, run_id)
    extra_loggers = [
        make_logger(
            name,
            run_dir=run_dir,
            home=home,
            run_name=run_name,
            tracking_uri=trainer_opts.tracking_uri,
        )
        for name in trainer_opts.loggers
    ]
    log_config(extra_loggers, config)
    loggers: list[Any] = [store_logger, *extra_loggers]
    callbacks: list[Any] = [
        CheckpointAndProgress(
            store, run_id, run_dir / "checkpoints", parts.checkpoint_every, stop_requested
        ),
        *extra_callbacks,
    ]
    if progress:
        callbacks.append(StepProgressBar(parts.max_steps))
    trainer = pl.Trainer(
        accelerator=trainer_opts.accelerator,
        devices=trainer_opts.devices,
        precision=trainer_opts.precision,
        strategy=trainer_opts.strategy,
        num_nodes=trainer_opts.num_nodes,
        deterministic=trainer_opts.deterministic,
        max_steps=parts.max_steps,
        log_every_n_steps=trainer_opts.log_every_n_steps,
        logger=loggers,
        callbacks=callbacks,
        plugins=[AtomicCheckpointIO()],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(run_dir),
        **parts.trainer_kwargs,
    )
    store_logger.trainer = trainer
    return trainer, store_logger


RANK_VARIABLES = ("RANK", "SLURM_PROCID", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK")
"""Set by Lightning's own launcher, torchrun and SLURM; every one is 0 (or unset) on global rank 0."""


def _is_launch_rank() -> bool:
    return all(os.environ.get(var, "0") == "0" for var in RANK_VARIABLES)


def record_failure(store: Store, run_id: int, exc: BaseException, run_dir: Path) -> None:
    """Mark the run failed with the traceback. When the machine caused it (a full disk, a
    read-only folder, an unusable database) the error ends with one line that says so and what
    to do, printed alone instead of the traceback; on a full disk, where even the traceback may
    not fit in the database, that line alone is stored."""
    from workbench.environment import explain

    details = "".join(traceback.format_exception(exc))
    cause = explain(exc, run_dir, elsewhere=False)
    if cause is None:
        store.set_status(run_id, "failed", error=details)
        print(details, end="", file=sys.stderr)
        return
    line = f"{cause}; then `workbench resume {run_id}`"
    print(f"error: {line}", file=sys.stderr)
    for error in (f"{details}\n{line}", line):
        try:
            store.set_status(run_id, "failed", error=error)
            return
        except Exception:  # noqa: BLE001 - the store may fail for the same reason
            continue


_PRELOADED: dict[str, Any] = {}
"""What a prestarted worker loaded while it waited for its run (the registry), used once."""


def _await_run_id() -> int | None:
    """For a worker prestarted by ``workbench run``: do the slow imports while the command
    validates the config, then read the run id from stdin (None at end of input). The id is put
    into ``sys.argv``, because Lightning starts the processes of further devices from it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the command's Ctrl-C is the command's
    import pytorch_lightning  # noqa: F401
    import torch  # noqa: F401

    import workbench.runner.build  # noqa: F401
    import workbench.runner.callbacks  # noqa: F401
    from workbench.registry import load_registry

    # Cheap: the specs import neither torch nor Lightning, and each factory imports its own
    # module when the run calls it, so only the plugins the run uses are imported further.
    _PRELOADED["registry"] = load_registry()
    line = sys.stdin.readline().strip()
    if not line:
        return None
    run_id = int(line)
    if "-" in sys.argv:
        sys.argv[sys.argv.index("-")] = str(run_id)
    return run_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workbench.runner.worker")
    parser.add_argument("--home", required=True)
    parser.add_argument(
        "--run-id", required=True, help="the run, or '-' to read it from stdin after start-up"
    )
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--progress", action="store_true", help="show a progress bar")
    args = parser.parse_args(argv)
    if args.run_id == "-":
        args.run_id = _await_run_id()
        if args.run_id is None:
            return EXIT_SUCCEEDED  # prestarted, then not needed (the config was refused)
    else:
        try:
            args.run_id = int(args.run_id)
        except ValueError:
            parser.error(f"--run-id must be a number or '-', got {args.run_id!r}")

    guard = _SigtermGuard()
    if args.progress:
        # A foreground child of `workbench run`: Ctrl-C reaches the whole process group, and the
        # parent turns it into SIGTERM (checkpoint, then cancelled). Ignore the SIGINT itself, or
        # Lightning would exit with an error and no checkpoint.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    paths = resolve_home(args.home)
    store = open_store(paths)
    if not _is_launch_rank():
        # A process Lightning started for another device of the same run: train, write nothing.
        execute(paths, store, args.run_id, resume=args.resume, progress=False, guard=guard)
        return EXIT_SUCCEEDED
    store.update_run(args.run_id, **owner(os.getpid()))
    store.set_status(args.run_id, "running")
    try:
        execute(paths, store, args.run_id, resume=args.resume, progress=args.progress, guard=guard)
    except (RunCancelled, KeyboardInterrupt) as exc:
        store.set_status(args.run_id, "cancelled", error=str(exc) or "cancelled")
        return EXIT_CANCELLED
    except SystemExit as exc:
        from pytorch_lightning.utilities.exceptions import SIGTERMException

        if isinstance(exc, SIGTERMException):
            store.set_status(args.run_id, "cancelled", error="cancelled by SIGTERM")
            return EXIT_CANCELLED
        store.set_status(args.run_id, "failed", error=traceback.format_exc())
        return EXIT_FAILED
    except BaseException as exc:
        record_failure(store, args.run_id, exc, paths.run_dir(args.run_id))
        return EXIT_FAILED
    store.set_status(args.run_id, "succeeded")
    return EXIT_SUCCEEDED


if __name__ == "__main__":
    from workbench.runner.exiting import exit_process

    exit_process(main())
