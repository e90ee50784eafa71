"""Failures of the machine rather than of the input: a home that cannot be written, a full disk,
a database file that is not a workbench database or comes from a newer workbench.

Each is turned into one sentence that names the file and says what to do, so that the command
line prints ``error: <sentence>`` instead of a traceback, and a run killed by a full disk records
why. :func:`explain` finds such a failure anywhere in an exception's chain (``torch.save`` on a
full disk, for instance, raises a ``RuntimeError`` whose context is the ``OSError``).
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

LOW_SPACE_BYTES = 1 << 20
"""Below this much free space a folder counts as full (SQLite needs room for its journal)."""

ELSEWHERE = "choose another home with --home DIR (or $WORKBENCH_HOME)"
FREE_SPACE = "free some space"
MAKE_WRITABLE = "make it writable by this user"

_FULL = {errno.ENOSPC, errno.EDQUOT}
_DENIED = {errno.EACCES, errno.EPERM}


def explain_os_error(
    exc: OSError, where: Path | None = None, *, elsewhere: bool = True
) -> str | None:
    """One sentence for an ``OSError`` the environment caused, or None for any other.

    ``where`` names the file or folder when the error itself carries no file name (a write
    into an open handle). ``elsewhere=False`` leaves out the advice to choose another home
    (a run cannot move).
    """
    target = exc.filename if exc.filename is not None else where
    place = f" {target}" if target is not None else ""
    other = f", or {ELSEWHERE}" if elsewhere else ""
    if exc.errno in _FULL:
        return f"no space left on the device holding{place}: {FREE_SPACE}{other}"
    if exc.errno == errno.EROFS:
        fix = ELSEWHERE if elsewhere else "remount it writable"
        return f"{target or 'a file'} is on a read-only file system: {fix}"
    if exc.errno in _DENIED:
        return f"permission denied on{place}: {MAKE_WRITABLE}{other}"
    if exc.errno == errno.ENOTDIR:
        fix = ELSEWHERE if elsewhere else "make it a folder"
        return f"{target or 'a path'}: part of this path is a file, not a folder: {fix}"
    if exc.errno == errno.EIO:
        return f"input/output error on{place}: check the disk (is it full or failing?)"
    return None


def explain(exc: BaseException, where: Path | None = None, *, elsewhere: bool = True) -> str | None:
    """The sentence for the first environment failure in ``exc``'s chain, or None (arguments
    as for :func:`explain_os_error`)."""
    from workbench.store.db import DatabaseUnusable  # the store itself uses this module

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DatabaseUnusable):
            return str(current)
        if isinstance(current, OSError):
            message = explain_os_error(current, where, elsewhere=elsewhere)
            if message is not None:
                return message
        current = current.__cause__ or current.__context__
    return None


def folder_problem(folder: Path) -> tuple[str, str] | None:
    """Why nothing can be written in ``folder``, and what to do: ``(problem, remedy)``, or None
    when it looks writable (read-only file system, not writable by this user, or full)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder", ELSEWHERE
    try:
        if os.statvfs(existing).f_flag & os.ST_RDONLY:
            return f"{existing} is on a read-only file system", ELSEWHERE
        if shutil.disk_usage(existing).free < LOW_SPACE_BYTES:
            return (
                f"no space left on the device holding {existing}",
                f"{FREE_SPACE}, or {ELSEWHERE}",
            )
    except OSError:
        return None
    if not os.access(existing, os.W_OK):
        return f"{existing} is not writable by this user", f"{MAKE_WRITABLE}, or {ELSEWHERE}"
    return None
