"""The worker command line, and the worker that ``workbench run`` starts before anything else.

Kept apart from :mod:`workbench.runner.launcher` (which re-exports it) so that the command can
start its worker before importing the store, the config and the plugins: every fraction of a
second before the worker starts is on the way to the run's first step (``startup_s``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

from workbench.runner import startup

if TYPE_CHECKING:
    from workbench.paths import Paths


def worker_command(
    paths: Paths, run_id: int | str, *, resume: bool = False, progress: bool = False
) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "workbench.runner.worker",
        "--home",
        str(paths.home),
        "--run-id",
        str(run_id),
    ]
    if resume:
        cmd.append("--resume")
    if progress:
        cmd.append("--progress")
    return cmd


PRESTART_ID = "-"
"""``--run-id -``: the worker reads its run id from stdin once its imports are done."""


def prestart(paths: Paths, *, started_at: float | None = None) -> subprocess.Popen | None:
    """Start a foreground worker before the run exists, so that its imports (torch, Lightning,
    the plugins: seconds) overlap the command's own validation; :func:`~workbench.runner.launcher.hand_over`
    then gives it the run id, :func:`~workbench.runner.launcher.abandon` sends it away. None when
    it cannot be started (the caller falls back to :func:`~workbench.runner.launcher.spawn`)."""
    cmd = worker_command(paths, PRESTART_ID, progress=True)
    env = None
    if started_at is not None:
        env = dict(os.environ, **{startup.STARTED_AT_ENV: repr(started_at)})
    try:
        return subprocess.Popen(cmd, stdin=subprocess.PIPE, env=env)
    except OSError:
        return None
