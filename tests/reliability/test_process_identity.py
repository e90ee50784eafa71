"""A run's pid is believed, and signalled, only while it is still the process that was recorded:
a reboot or a reused pid must not keep a dead run "running" or get another process killed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.paths import resolve_home
from workbench.runner import launcher, procs
from workbench.store import open_store

LINUX = Path("/proc/self/stat").exists()


def new_run(store, *, status: str, pid: int, pid_started: str | None) -> int:
    run_id = store.create_run(
        name="victim", stage="pretrain", architecture="bigram", dataset="text-file",
        tokenizer="char", config={"name": "victim"}, seed=0, plugin_versions={},
        package_versions={}, status=status, pid=pid, pid_started=pid_started,
    )  # fmt: skip
    return run_id


@pytest.fixture
def bystander():
    """An unrelated live process whose pid a stale run row will name."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


@pytest.mark.skipif(not LINUX, reason="needs /proc")
def test_identity_of_a_live_process_is_stable_and_distinguishes_processes(bystander):
    mine = procs.process_identity(os.getpid())
    assert mine is not None and mine == procs.process_identity(os.getpid())
    assert procs.is_same_process(os.getpid(), mine)
    assert not procs.is_same_process(os.getpid(), "another-boot:1")
    assert procs.is_same_process(os.getpid(), None)  # old rows: the pid alone decides
    assert procs.owner(bystander.pid) == {
        "pid": bystander.pid,
        "pid_started": procs.process_identity(bystander.pid),
    }


@pytest.mark.skipif(not LINUX, reason="needs /proc")
def test_cancel_never_signals_a_reused_pid(home, bystander, capsys):
    store = open_store(resolve_home(home).ensure())
    run_id = new_run(store, status="running", pid=bystander.pid, pid_started="old-boot:42")
    assert launcher.cancel(store, run_id) == "interrupted"
    assert bystander.poll() is None, "the bystander was signalled"
    assert store.get_run(run_id).status == "interrupted"


@pytest.mark.skipif(not LINUX, reason="needs /proc")
def test_a_stale_running_run_is_interrupted_and_resumable(home, bystander, capsys):
    store = open_store(resolve_home(home).ensure())
    run_id = new_run(store, status="running", pid=bystander.pid, pid_started="old-boot:42")
    queued = new_run(store, status="queued", pid=bystander.pid, pid_started="old-boot:43")
    alive = new_run(
        store,
        status="running",
        pid=bystander.pid,
        pid_started=procs.process_identity(bystander.pid),
    )
    assert main(["runs"]) == 0
    err = capsys.readouterr().err
    assert f"run {run_id} was interrupted" in err and f"run {queued} was interrupted" in err
    assert store.get_run(run_id).status == "interrupted"
    assert store.get_run(alive).status == "running"  # the same process: still believed
    assert bystander.poll() is None


def test_a_new_pid_clears_the_old_identity(home):
    store = open_store(resolve_home(home).ensure())
    run_id = new_run(store, status="running", pid=1, pid_started="boot:1")
    assert store.update_run(run_id, pid=2).pid_started is None


@pytest.mark.skipif(not LINUX, reason="needs /proc")
def test_the_dashboard_table_marks_dead_runs_interrupted(tmp_path, bystander):
    from ui_support import ui_home

    from workbench.ui.runs_tab import runs_table

    with ui_home(tmp_path) as ctx:
        run_id = new_run(ctx.store, status="running", pid=bystander.pid, pid_started="x:1")
        rows = runs_table(ctx)
        assert [row[4] for row in rows if row[0] == run_id] == ["interrupted"]
