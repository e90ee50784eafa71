"""exit_process: a process ends with its code after its threads, atexit handlers and buffered
output, without the interpreter's teardown (issue 15)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROGRAM = """
import atexit, sys, threading, time
from pathlib import Path
from workbench.runner.exiting import exit_process

out = Path(sys.argv[1])
atexit.register(lambda: out.write_text(out.read_text() + "atexit;"))

def late():
    time.sleep(0.2)
    out.write_text(out.read_text() + "thread;")

out.write_text("")
threading.Thread(target=late).start()  # not a daemon: the process waits for it
sys.stdout.write("buffered, no newline")
exit_process(7)
print("never")
"""


def test_exit_process_keeps_what_shutdown_promises(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(marks)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 7
    assert done.stdout == "buffered, no newline"
    assert marks.read_text() == "thread;atexit;"


def test_the_cli_module_exits_with_the_command_code(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "run", str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "WORKBENCH_HOME": str(tmp_path / "home")},
    )
    assert done.returncode == 2, done.stderr
    assert "missing.yaml" in done.stderr
