"""Ending a command's or a worker's process without the interpreter's slow teardown.

When a process that has imported torch and Lightning returns from ``main()``, the interpreter
spends up to a second or two (more on a loaded machine) tearing down: its final garbage
collections walk every object those libraries made, and then every module is emptied. Nobody
waits for that work but the user: ``workbench run`` waits for its worker to exit, and the shell
for the command. :func:`exit_process` does what the interpreter's own shutdown does that anyone
could notice — wait for non-daemon threads, run the ``atexit`` handlers (logging, loggers,
DataLoader workers, coverage), flush the standard streams — and then ends the process at once.

Only a process's entry point calls it, after ``main()`` returned; code that calls ``main()``
from Python (tests) gets the return value as before.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn


def exit_process(code: int | None) -> NoReturn:
    """End this process with exit status ``code`` (None is 0) after the shutdown steps that
    matter, skipping the final garbage collection and module teardown."""
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is None:  # not CPython: leave it to the interpreter
        sys.exit(code)
    shutdown()  # what the interpreter does first: threading's own atexit hooks, then joins
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0 if code is None else int(code))
