"""A run whose worker died says why: the end of its log goes into the recorded error."""

from __future__ import annotations

import subprocess
import sys

from test_store import new_run, paths, store  # noqa: F401 - fixtures

from workbench.paths import Paths
from workbench.runner import reconcile as rec
from workbench.store import Store


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_dead_workers_log_tail_becomes_the_runs_error(store: Store, paths: Paths) -> None:  # noqa: F811
    run_id = new_run(store, status="running", pid=_dead_pid())
    run_dir = paths.run_dir(run_id)
    run_dir.mkdir(parents=True)
    (run_dir / "run.log").write_bytes(
        b"  0%|  | 0/50\r 10%|# | 5/50\n\n"
        b"error: the database file is not usable (disk I/O error); then `workbench resume 1`\n"
    )
    silent = new_run(store, name="no-log", status="running", pid=_dead_pid())
    assert rec.reconcile(store, paths) == [run_id, silent]
    error = store.get_run(run_id).error
    assert error.startswith(f"process {store.get_run(run_id).pid} is gone; the end of its log:")
    assert error.splitlines()[1:] == [
        " 10%|# | 5/50",  # only the last redraw of a progress bar
        "error: the database file is not usable (disk I/O error); then `workbench resume 1`",
    ]
    assert store.get_run(silent).error.endswith("is gone")  # no log: nothing added


def test_log_tail_reads_only_the_end_of_a_long_log(paths: Paths) -> None:  # noqa: F811
    run_dir = paths.run_dir(7)
    run_dir.mkdir(parents=True)
    lines = [f"line {i}" for i in range(5000)]
    (run_dir / "run.log").write_text("\n".join(lines) + "\n")
    tail = rec.log_tail(paths, 7)
    assert tail is not None and tail.splitlines() == lines[-rec.TAIL_LINES :]
    assert rec.log_tail(paths, 8) is None  # no log at all
