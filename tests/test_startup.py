"""The start time a run's ``startup_s`` counts from."""

from __future__ import annotations

import io
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from workbench.runner import startup


def test_process_start_is_in_the_past_and_stable():
    first = startup.process_started_at()
    assert first <= time.time()
    assert abs(startup.process_started_at() - first) < 0.05
    assert startup.process_started_at(os.getppid()) <= first + 0.05  # a parent starts earlier


def test_worker_counts_from_the_launchers_time_when_plausible(monkeypatch):
    own = startup.process_started_at()
    monkeypatch.setenv(startup.STARTED_AT_ENV, repr(own - 2.5))
    assert startup.started_at() == own - 2.5
    # A time after this process started, one from hours ago, or garbage: its own start.
    for bad in (repr(own + 60), repr(own - 7200), "soon"):
        monkeypatch.setenv(startup.STARTED_AT_ENV, bad)
        assert startup.started_at() == own
    monkeypatch.delenv(startup.STARTED_AT_ENV)
    assert startup.started_at() == own


def test_a_command_inside_an_older_process_counts_from_its_call(monkeypatch):
    monkeypatch.setattr(startup, "process_started_at", lambda pid=None: 1000.0)
    monkeypatch.setattr(startup, "_COMMAND_ENTERED", 1003.0)
    assert startup.command_started_at() == 1000.0  # the CLI process itself
    monkeypatch.setattr(startup, "_COMMAND_ENTERED", 1500.0)
    assert startup.command_started_at() == 1500.0  # main() called by a long-lived process


def _prestarted_children() -> list[int]:
    """Our child processes that are prestarted workers (``--run-id -``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[-1].split()[1])
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"workbench.runner.worker" in argv and b"-" in argv:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_refused_config_sends_the_prestarted_worker_away(home, write_config, capsys):
    from workbench.cli import main

    assert main(["run", str(write_config()), "--set", "stage.lr=fast"]) == 2
    assert "stage.lr" in capsys.readouterr().err
    assert _prestarted_children() == []


def test_a_prestarted_worker_takes_its_id_from_stdin(monkeypatch):
    from workbench.runner import worker

    argv = ["worker.py", "--home", "h", "--run-id", "-", "--progress"]
    monkeypatch.setattr(sys, "argv", list(argv))
    monkeypatch.setattr(sys, "stdin", io.StringIO("7\n"))
    previous = signal.getsignal(signal.SIGINT)
    try:
        assert worker._await_run_id() == 7
        # Lightning starts further devices' processes from sys.argv: they must get the id too.
        assert sys.argv == ["worker.py", "--home", "h", "--run-id", "7", "--progress"]
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        assert worker._await_run_id() is None  # the command had no run for it
        with pytest.raises(SystemExit) as usage:
            worker.main(["--home", "h", "--run-id", "soon"])
        assert usage.value.code == 2
        assert worker._PRELOADED.pop("registry") is not None  # loaded while it waited
    finally:
        worker._PRELOADED.clear()
        signal.signal(signal.SIGINT, previous)


@pytest.mark.skipif(not Path("/proc/uptime").exists(), reason="needs /proc")
def test_a_process_start_is_found_to_a_hundredth_of_a_second():
    """Bracketed by a time before the process was started and one it wrote itself (a start
    computed from the whole-second ``btime`` could be up to a second early)."""
    import subprocess

    before = time.time()
    child = subprocess.Popen(
        [
            sys.executable,
            "-S",
            "-c",
            "import sys, time; print(time.time(), flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        printed = float(child.stdout.readline())
        found = startup.process_started_at(child.pid)
    finally:
        child.communicate("")
    assert before - 0.03 <= found <= printed + 0.03
