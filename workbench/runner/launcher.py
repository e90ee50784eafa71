"""Starting, cancelling and resuming run processes. The only place that starts processes (with
:mod:`workbench.runner.prestart`, the part ``workbench run`` needs before anything heavy is
imported; its names are re-exported here).

A run row is written only after its config validated, so a bad config never leaves a trace.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Collection, Sequence
from pathlib import Path

from workbench.config import ConfigError, ResolvedConfig, apply_overrides, resolve_config
from workbench.paths import Paths
from workbench.registry import Registry
from workbench.runner import preflight, procs, startup
from workbench.runner.prestart import PRESTART_ID, prestart, worker_command  # noqa: F401
from workbench.runner.worker import package_versions
from workbench.store import (
    RESUMABLE_STATUSES,
    TERMINAL_STATUSES,
    RunNotFound,
    RunRecord,
    Store,
)

TERMINAL = TERMINAL_STATUSES
RESUMABLE = RESUMABLE_STATUSES


class RunStateError(ValueError):
    """An operation that the run's current status does not allow."""


def resolve_parent(store: Store, init_from: int | str | None) -> RunRecord | None:
    """The succeeded run named by ``init_from``, or a ConfigError naming the problem."""
    if init_from is None:
        return None
    try:
        parent = store.find_run(init_from)
    except RunNotFound as exc:
        raise ConfigError([("init_from", str(exc))]) from None
    if parent.status != "succeeded":
        raise ConfigError(
            [
                (
                    "init_from",
                    f"run {parent.id} ({parent.name}) is {parent.status}; "
                    "only a succeeded run can be a parent",
                )
            ]
        )
    return parent


def create_run(
    store: Store,
    registry: Registry,
    resolved: ResolvedConfig,
    *,
    sweep_id: int | None = None,
    name: str | None = None,
) -> int:
    """Write a queued run row for a validated config; returns its id."""
    from workbench.devices import validate_trainer_options

    validate_trainer_options(resolved.run.trainer)
    parent = resolve_parent(store, resolved.run.init_from)
    preflight.check(resolved, parent, store)
    config = resolved.to_dict()
    if parent is not None:
        config["init_from"] = parent.id
    if name is not None:
        config["name"] = name
    used = {resolved.plugin(block) for block in ("stage", "architecture", "tokenizer", "dataset")}
    kinds = ("stages", "architectures", "tokenizers", "datasets")
    owners = {
        registry.owners[(kind, n)] for kind in kinds for n in used if (kind, n) in registry.owners
    }
    versions = {p: v for p, v in registry.plugin_versions().items() if p in owners}
    return store.create_run(
        name=config["name"],
        stage=resolved.plugin("stage"),
        architecture=resolved.plugin("architecture"),
        dataset=resolved.plugin("dataset"),
        tokenizer=resolved.plugin("tokenizer"),
        config=config,
        seed=resolved.run.seed,
        plugin_versions=versions,
        package_versions=package_versions(),
        parent_id=parent.id if parent else None,
        sweep_id=sweep_id,
        status="queued",
        **procs.owner(os.getpid()),
    )


def spawn(
    paths: Paths,
    run_id: int,
    *,
    resume: bool = False,
    foreground: bool = False,
    store: Store | None = None,
    started_at: float | None = None,
) -> subprocess.Popen:
    """Start the worker process. In the foreground it shares the terminal (progress bar);
    otherwise its output goes to ``run.log`` in the run folder and it gets its own session, so
    closing the UI or the shell does not kill it.

    With ``store``, the child's pid is recorded at once, so a worker that dies before it writes
    anything is found ``interrupted``, and a process that cannot be started marks the run
    ``failed`` with the reason. ``started_at`` (seconds since the epoch) is when the command
    that asked for the run started; the worker counts its ``startup_s`` from it."""
    cmd = worker_command(paths, run_id, resume=resume, progress=foreground)
    env = None
    if started_at is not None:
        env = dict(os.environ, **{startup.STARTED_AT_ENV: repr(started_at)})
    try:
        if foreground:
            proc = subprocess.Popen(cmd, env=env)
        else:
            run_dir = paths.run_dir(run_id)
            run_dir.mkdir(parents=True, exist_ok=True)
            with open(run_dir / "run.log", "ab") as log:
                proc = subprocess.Popen(
                    cmd,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                    env=env,
                )
    except OSError as exc:
        if store is not None:
            store.set_status(run_id, "failed", error=f"could not start the worker: {exc}")
        raise
    if store is not None and store.get_run(run_id).status == "queued":
        store.update_run(run_id, **procs.owner(proc.pid))
    return proc


def hand_over(proc: subprocess.Popen, store: Store, run_id: int) -> bool:
    """Give a prestarted worker its run. False when it is no longer there to take it."""
    assert proc.stdin is not None
    try:
        proc.stdin.write(f"{run_id}\n".encode())
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        abandon(proc)
        return False
    if store.get_run(run_id).status == "queued":
        store.update_run(run_id, **procs.owner(proc.pid))
    return True


def abandon(proc: subprocess.Popen) -> None:
    """Send a prestarted worker away: it has no run yet and has written nothing, so it is
    simply killed (waiting for it to finish its imports would hold up the command's error)."""
    try:
        if proc.stdin is not None and not proc.stdin.closed:
            proc.stdin.close()
    except OSError:
        pass
    proc.kill()
    proc.wait()


def wait_foreground(store: Store, run_id: int, proc: subprocess.Popen) -> str:
    """Wait for a foreground worker; Ctrl-C asks it to checkpoint and stop. Returns the status."""
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait()
        except KeyboardInterrupt:
            proc.kill()
            proc.wait()
    status = store.get_run(run_id).status
    if status in ("queued", "running"):
        # The worker died without recording an outcome (killed, out of memory, ...).
        store.set_status(
            run_id,
            "interrupted",
            error=f"worker exited with code {proc.returncode} without a final status",
        )
        status = "interrupted"
    return status


def cancel(store: Store, run_id: int) -> str:
    """Ask a running run to checkpoint and stop (SIGTERM); a queued one is cancelled at once."""
    run = store.get_run(run_id)
    if run.status == "queued":
        store.set_status(run_id, "cancelled", error="cancelled before it started")
        if run.pid is not None and _is_our_worker(run, run_id):
            os.kill(run.pid, signal.SIGTERM)
        return "cancelled"
    if run.status != "running":
        raise RunStateError(
            f"run {run_id} is {run.status}; only queued or running runs can be cancelled"
        )
    if run.pid is None or not procs.is_same_process(run.pid, run.pid_started):
        # Never signal a pid that now belongs to another process (reboot, pid reuse).
        store.set_status(run_id, "interrupted", error=f"process {run.pid} is gone")
        return "interrupted"
    os.kill(run.pid, signal.SIGTERM)
    return "cancelling"


def _is_our_worker(run: RunRecord, run_id: int) -> bool:
    """The run's recorded process is still the same process, and it is this run's worker (a
    queued run's pid may be the command that created it, which must not be signalled)."""
    return (
        run.pid is not None
        and procs.is_same_process(run.pid, run.pid_started)
        and _is_worker(run.pid, run_id)
    )


def _is_worker(pid: int, run_id: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"workbench.runner.worker" in cmdline and str(run_id).encode() in cmdline


def prepare_resume(
    store: Store,
    paths: Paths,
    run_id: int,
    registry: Registry | None = None,
    overrides: Sequence[str] = (),
) -> None:
    """Check that a run can be resumed and queue it again. ``overrides`` may change only the
    ``trainer`` block (e.g. resume a 2-GPU run on one device); they are validated first."""
    run = store.get_run(run_id)
    if run.status not in RESUMABLE:
        raise RunStateError(
            f"run {run_id} is {run.status}; only {', '.join(RESUMABLE)} runs can be resumed"
        )
    if not (paths.run_dir(run_id) / "checkpoints" / "last.ckpt").is_file():
        raise RunStateError(f"run {run_id} has no checkpoint to resume from")
    if overrides:
        bad = [o for o in overrides if not o.strip().startswith("trainer.")]
        if bad:
            raise ConfigError(
                [("--set", f"{o!r}: a resumed run can change only trainer.* options") for o in bad]
            )
        if registry is None:
            raise ValueError("overrides need the registry to validate the config")
        from workbench.devices import validate_trainer_options

        resolved = resolve_config(apply_overrides(run.config, overrides), registry)
        validate_trainer_options(resolved.run.trainer)
        config = dict(run.config)
        config["trainer"] = resolved.to_dict()["trainer"]
        store.update_run(run_id, config=config)
    store.set_status(run_id, "queued")
    store.update_run(run_id, **procs.owner(os.getpid()))


def wait_for_status(store: Store, run_id: int, statuses: Collection[str], timeout: float) -> str:
    """Poll until the run reaches one of ``statuses``; returns the status (or the last seen)."""
    deadline = time.monotonic() + timeout
    status = store.get_run(run_id).status
    while status not in statuses and time.monotonic() < deadline:
        time.sleep(0.1)
        status = store.get_run(run_id).status
    return status
