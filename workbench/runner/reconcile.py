"""Runs whose process is gone become ``interrupted``, with the end of their log as the reason.

Every entry point (the CLI, the dashboard's runs table, the Python API) calls
:func:`reconcile` before it reads runs, so a killed or crashed run never shows as running.
"""

from __future__ import annotations

from workbench.paths import Paths
from workbench.runner.procs import is_same_process
from workbench.store import Store

LOG_FILE = "run.log"
TAIL_LINES = 15
TAIL_BYTES = 4096


def log_tail(paths: Paths, run_id: int) -> str | None:
    """The last lines of a run's ``run.log`` (progress-bar redraws dropped), or None."""
    log = paths.run_dir(run_id) / LOG_FILE
    try:
        with open(log, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - TAIL_BYTES))
            data = f.read()
    except OSError:
        return None
    text = data.decode("utf-8", errors="replace")
    lines = [line.rsplit("\r", 1)[-1].rstrip() for line in text.split("\n")]
    lines = [line for line in lines if line.strip()]
    if size > TAIL_BYTES and lines:
        lines = lines[1:]  # the first may be cut
    return "\n".join(lines[-TAIL_LINES:]) or None


def reconcile(store: Store, paths: Paths) -> list[int]:
    """Mark runs whose process is gone ``interrupted``; return their ids."""
    return store.reconcile(is_same_process, lambda run_id: log_tail(paths, run_id))
