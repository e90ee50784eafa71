"""How long a run takes from the command that started it to its first training step.

``workbench run`` in the foreground passes the start time of its own process to the worker in
``WORKBENCH_STARTED_AT`` (seconds since the epoch); a worker started any other way (the
dashboard, the queue) counts from its own process start. A process's start time comes from
``/proc`` where there is one (so the interpreter's own start-up is counted too), else from the
moment this module was imported. A command run inside a process that has lived longer (the CLI's
``main()`` called from Python or a test) counts from the call instead.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

STARTED_AT_ENV = "WORKBENCH_STARTED_AT"
METRIC = "startup_s"

_IMPORTED_AT = time.time()
_COMMAND_ENTERED: float | None = None
SAME_COMMAND_S = 3.0
"""A process that reached the CLI's ``main()`` within this many seconds of starting is the
command itself; one that took longer was doing something else first."""


def process_started_at(pid: int | None = None) -> float:
    """Seconds since the epoch at which process ``pid`` (default: this one) started.

    The start is in clock ticks since boot (``/proc/PID/stat``), added to the boot time."""
    pid = os.getpid() if pid is None else pid
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[-1].split()[19])  # field 22: starttime
        return _booted_at() + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return _IMPORTED_AT


_BOOTED_AT: float | None = None


def _booted_at() -> float:
    """Seconds since the epoch at which the machine booted, to a hundredth of a second: now less
    ``/proc/uptime``, read once so that every start computed from it is stable. (``btime`` in
    ``/proc/stat`` is whole seconds: a start computed from it is early by up to a second.)"""
    global _BOOTED_AT
    if _BOOTED_AT is None:
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        _BOOTED_AT = time.time() - uptime
    return _BOOTED_AT


def started_at() -> float:
    """When the command behind this run started: the launcher's start time if it passed one
    (and it is plausible), else this process's."""
    own = process_started_at()
    value = os.environ.get(STARTED_AT_ENV)
    if value:
        try:
            given = float(value)
        except ValueError:
            return own
        if given <= own + 1.0 and own - given < 3600:
            return given
    return own


def mark_command_start() -> None:
    """Called first thing by the CLI's ``main()``."""
    global _COMMAND_ENTERED
    _COMMAND_ENTERED = time.time()


def command_started_at() -> float:
    """When the current CLI command started: its process's start, or the call to ``main()``
    when the process is older than the command."""
    entered = time.time() if _COMMAND_ENTERED is None else _COMMAND_ENTERED
    own = process_started_at()
    return own if entered - own <= SAME_COMMAND_S else entered
