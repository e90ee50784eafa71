"""Is a process still there, and is it still the one we recorded?

A pid alone names a process only while that process lives: after it ends, and after every
reboot, the system hands the number to another one. So the workbench records, beside a run's
pid, the process's identity — the boot id and the process's start time in clock ticks, both
from ``/proc`` — and believes or signals the pid only while the identity still matches
(:func:`is_same_process`). Where ``/proc`` cannot tell (another OS), the pid alone decides.
"""

from __future__ import annotations

import os
from pathlib import Path

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def pid_alive(pid: int) -> bool:
    """True when ``pid`` names a live process (a zombie that nobody reaped counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _stat_fields(pid)
    if fields is None:
        return True
    return fields[0] not in ("Z", "X")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (state first), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces and parentheses itself.
    return stat.rsplit(")", 1)[-1].split()


def process_identity(pid: int) -> str | None:
    """``"<boot id>:<start ticks>"`` of a live process, or None where ``/proc`` cannot tell."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 20:
        return None
    try:
        boot = BOOT_ID.read_text().strip()
    except OSError:
        boot = "?"
    # starttime is field 22 of stat; fields[] starts at field 3 (the state).
    return f"{boot}:{fields[19]}"


def is_same_process(pid: int, identity: str | None) -> bool:
    """Whether ``pid`` is alive and still the process whose identity was recorded.

    A pid recorded without an identity (older rows, systems without ``/proc``) is judged by
    :func:`pid_alive` alone.
    """
    if not pid_alive(pid):
        return False
    if identity is None:
        return True
    now = process_identity(pid)
    return now is None or now == identity


def owner(pid: int) -> dict[str, int | str | None]:
    """The ``pid`` and ``pid_started`` columns that record ``pid`` as a run's process."""
    return {"pid": pid, "pid_started": process_identity(pid)}
