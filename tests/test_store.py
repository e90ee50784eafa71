"""Tests of workbench.store: every Store method, the SQLite pragmas and several writers."""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import IntegrityError

from workbench.paths import Paths
from workbench.store import (
    ArtifactRecord,
    MetricRecord,
    RunHasChildren,
    RunNotFound,
    RunRecord,
    Store,
    StoreError,
    open_store,
)
from workbench.store.db import current_revision, deferred, head_revisions


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "home")


@pytest.fixture
def store(paths: Paths) -> Iterator[Store]:
    with open_store(paths) as opened:
        yield opened


def new_run(store: Store, **overrides: Any) -> int:
    values: dict[str, Any] = {
        "name": "run",
        "stage": "pretrain",
        "architecture": "gpt",
        "dataset": "tiny-shakespeare",
        "tokenizer": "char",
        "config": {"model": {"d_model": 64}, "lr": 3e-4},
        "seed": 1234,
        "plugin_versions": {"workbench_basic": "0.1.0"},
        "package_versions": {"torch": "2.6.0"},
    }
    values.update(overrides)
    return store.create_run(**values)


def count_rows(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


# -- opening and the engine -----------------------------------------------------------------


def test_open_store_creates_home_and_migrates(paths: Paths, store: Store) -> None:
    assert paths.database.is_file()
    assert paths.artifacts.is_dir()
    assert current_revision(store.engine) == head_revisions()[0]


def test_pragmas_are_on_for_every_connection(store: Store) -> None:
    # Several connections at once, so more than the one the migration used. They read through
    # deferred(): two IMMEDIATE transactions could not be open at the same time.
    reader = deferred(store.engine)
    with reader.connect() as first, reader.connect() as second:
        for conn in (first, second):
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30000


def test_transactions_begin_immediate(paths: Paths, store: Store) -> None:
    statements: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def _log(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    new_run(store)
    assert "BEGIN IMMEDIATE" in statements
    # While a write transaction is open, another connection cannot take the write lock.
    with store.engine.begin():
        other = sqlite3.connect(paths.database, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_foreign_key_violation_raises(store: Store) -> None:
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO metrics (run_id, step, name, value, wall_time) "
                "VALUES (999, 1, 'loss', 1.0, 0.0)"
            )
        )
    with pytest.raises(RunNotFound):
        store.add_artifact(999, kind="log", path="x", sha256="0" * 64, size=1)


def test_status_check_constraint(store: Store) -> None:
    run_id = new_run(store)
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(text("UPDATE runs SET status = 'bogus' WHERE id = :id"), {"id": run_id})


# -- runs -----------------------------------------------------------------------------------


def test_create_and_get_run(store: Store) -> None:
    sweep_id = store.create_sweep("lr-sweep", {"lr": [1e-3, 3e-4]}, 2)
    run_id = new_run(store, name="baseline", sweep_id=sweep_id, pid=4321, max_steps=100)
    run = store.get_run(run_id)
    assert isinstance(run, RunRecord)
    assert run.id == run_id
    assert run.name == "baseline"
    assert run.status == "queued"
    assert run.config == {"model": {"d_model": 64}, "lr": 3e-4}
    assert run.plugin_versions == {"workbench_basic": "0.1.0"}
    assert run.package_versions == {"torch": "2.6.0"}
    assert (run.sweep_id, run.pid, run.max_steps, run.step) == (sweep_id, 4321, 100, 0)
    assert run.parent_id is None and run.started_at is None and run.finished_at is None
    assert run.created_at.tzinfo is UTC
    assert abs(datetime.now(UTC) - run.created_at) < timedelta(minutes=1)
    assert not run.is_terminal
    with pytest.raises(AttributeError):
        run.name = "changed"  # type: ignore[misc]


def test_get_run_missing_names_the_id(store: Store) -> None:
    with pytest.raises(RunNotFound, match="42") as info:
        store.get_run(42)
    assert isinstance(info.value, LookupError)
    assert isinstance(info.value, StoreError)


def test_create_run_rejects_bad_status_and_missing_parent(store: Store) -> None:
    with pytest.raises(ValueError, match="queued"):
        new_run(store, status="done")
    with pytest.raises(RunNotFound):
        new_run(store, parent_id=77)


def test_run_ids_are_not_reused(store: Store) -> None:
    first = new_run(store)
    store.delete_run(first)
    assert new_run(store) > first


def test_find_run_by_id_and_name(store: Store) -> None:
    old = new_run(store, name="shakespeare")
    other = new_run(store, name="other")
    newest = new_run(store, name="shakespeare")
    assert store.find_run(old).id == old
    assert store.find_run(str(other)).id == other
    assert store.find_run("shakespeare").id == newest
    with pytest.raises(RunNotFound, match="no run with id or name 'nope'"):
        store.find_run("nope")
    with pytest.raises(RunNotFound, match="no run with id or name '999'"):
        store.find_run("999")


def test_list_runs_filters_newest_first(store: Store) -> None:
    sweep_id = store.create_sweep("s", {}, 1)
    a = new_run(store, name="Alpha", stage="pretrain", architecture="gpt")
    b = new_run(store, name="beta", stage="finetune", architecture="bert", sweep_id=sweep_id)
    c = new_run(store, name="gamma_100%", stage="pretrain", architecture="lstm")
    store.set_status(b, "running")

    assert [r.id for r in store.list_runs()] == [c, b, a]
    assert [r.id for r in store.list_runs(status="running")] == [b]
    assert [r.id for r in store.list_runs(status=["queued", "running"])] == [c, b, a]
    assert [r.id for r in store.list_runs(stage="pretrain")] == [c, a]
    assert [r.id for r in store.list_runs(sweep_id=sweep_id)] == [b]
    assert [r.id for r in store.list_runs(text="ALPH")] == [a]
    assert [r.id for r in store.list_runs(text="Fine")] == [b]
    assert [r.id for r in store.list_runs(text="lst")] == [c]
    assert [r.id for r in store.list_runs(text="%")] == [c]  # wildcards are literal
    assert [r.id for r in store.list_runs(text="a_1")] == [c]
    assert store.list_runs(text="a_b") == []
    assert [r.id for r in store.list_runs(limit=1)] == [c]
    with pytest.raises(ValueError):
        store.list_runs(status="nonsense")


def test_set_status_timestamps(store: Store) -> None:
    run_id = new_run(store)
    created = store.get_run(run_id)

    running = store.set_status(run_id, "running")
    assert running.status == "running"
    assert running.started_at is not None and running.finished_at is None
    assert running.updated_at is not None and running.updated_at >= created.created_at

    failed = store.set_status(run_id, "failed", error="Traceback: boom")
    assert failed.finished_at is not None and failed.error == "Traceback: boom"
    assert failed.started_at == running.started_at
    assert failed.is_terminal

    resumed = store.set_status(run_id, "running")
    assert resumed.finished_at is None and resumed.error is None
    assert resumed.started_at == running.started_at  # kept from the first start

    queued = store.set_status(run_id, "queued")
    assert queued.finished_at is None

    for status in ("succeeded", "cancelled", "interrupted"):
        assert store.set_status(run_id, status).finished_at is not None
    assert store.get_run(run_id).status == "interrupted"

    with pytest.raises(ValueError, match="succeeded") as info:
        store.set_status(run_id, "finished")
    assert "finished" in str(info.value)
    with pytest.raises(RunNotFound):
        store.set_status(999, "running")


def test_update_run(store: Store) -> None:
    run_id = new_run(store)
    before = store.get_run(run_id).updated_at
    time.sleep(0.002)
    run = store.update_run(
        run_id, pid=99, device="cuda:0", step=50, max_steps=200, run_dir=Path("/tmp/r")
    )
    assert (run.pid, run.device, run.step, run.max_steps, run.run_dir) == (
        99,
        "cuda:0",
        50,
        200,
        "/tmp/r",
    )
    assert before is not None and run.updated_at is not None and run.updated_at > before

    stamp = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    run = store.update_run(run_id, updated_at=stamp)
    assert run.updated_at == stamp and run.updated_at.tzinfo is UTC
    assert store.get_run(run_id).updated_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)

    with pytest.raises(ValueError, match="status"):
        store.update_run(run_id, status="running")
    with pytest.raises(ValueError, match="timezone"):
        store.update_run(run_id, updated_at=datetime(2024, 1, 1))
    with pytest.raises(RunNotFound):
        store.update_run(999, pid=1)


def test_children_and_delete_refusal(store: Store) -> None:
    parent = new_run(store, name="parent")
    child_a = new_run(store, name="child-a", parent_id=parent)
    child_b = new_run(store, name="child-b", parent_id=parent)
    assert [r.id for r in store.children(parent)] == [child_a, child_b]
    assert store.children(child_a) == []

    with pytest.raises(RunHasChildren, match=f"{child_a}, {child_b}"):
        store.delete_run(parent)
    assert store.get_run(parent).id == parent

    store.delete_run(child_a)
    store.delete_run(child_b)
    store.delete_run(parent)
    with pytest.raises(RunNotFound):
        store.get_run(parent)
    with pytest.raises(RunNotFound):
        store.delete_run(parent)


def test_delete_run_cascades(store: Store) -> None:
    keep = new_run(store, name="keep")
    doomed = new_run(store, name="doomed")
    for run_id in (keep, doomed):
        store.add_metrics(run_id, [(1, "loss", 1.0, 0.0)])
        store.add_artifact(run_id, kind="checkpoint", path="c.ckpt", sha256="a" * 64, size=3)
        store.add_sample(run_id, step=1, prompt="p", text="t")
        store.add_evaluation(run_id, name="ppl", config={}, metrics={"ppl": 3.0})

    store.delete_run(doomed)
    for table in ("metrics", "artifacts", "samples", "evaluations"):
        assert count_rows(store.engine, table) == 1, table
    assert len(store.metrics(keep)) == 1


def test_deleting_a_sweep_unlinks_its_runs(store: Store) -> None:
    sweep_id = store.create_sweep("s", {"lr": 1}, 3)
    run_id = new_run(store, sweep_id=sweep_id)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM sweeps WHERE id = :id"), {"id": sweep_id})
    assert store.get_run(run_id).sweep_id is None


def test_sweeps(store: Store) -> None:
    first = store.create_sweep("first", {"lr": [1, 2]}, 2)
    second = store.create_sweep("second", {}, 1)
    sweep = store.get_sweep(first)
    assert (sweep.name, sweep.base_config, sweep.max_parallel) == ("first", {"lr": [1, 2]}, 2)
    assert sweep.created_at.tzinfo is UTC
    assert [s.id for s in store.list_sweeps()] == [second, first]
    with pytest.raises(StoreError):
        store.get_sweep(999)
    with pytest.raises(ValueError):
        store.create_sweep("bad", {}, 0)
    with pytest.raises(StoreError):
        new_run(store, sweep_id=999)


def test_reconcile(store: Store) -> None:
    alive = new_run(store, name="alive", status="running", pid=100)
    dead = new_run(store, name="dead", status="running", pid=200)
    queued_no_pid = new_run(store, name="queued")  # waits for an externally started worker
    queued_dead = new_run(store, name="queued-dead", pid=201)
    running_no_pid = new_run(store, name="running-no-pid", status="running")
    queued_alive = new_run(store, name="queued-alive", pid=101)
    finished = new_run(store, name="finished", status="succeeded", pid=300)
    asked: list[int] = []

    def is_alive(pid: int, started: str | None) -> bool:
        asked.append(pid)
        return pid in (100, 101)

    assert store.reconcile(is_alive) == [dead, queued_dead, running_no_pid]
    assert 300 not in asked
    assert store.get_run(queued_no_pid).status == "queued"
    assert store.get_run(alive).status == "running"
    assert store.get_run(queued_alive).status == "queued"
    assert store.get_run(finished).status == "succeeded"
    gone = store.get_run(dead)
    assert gone.status == "interrupted"
    assert gone.error == "process 200 is gone"
    assert gone.finished_at is not None
    no_pid = store.get_run(running_no_pid)
    assert no_pid.status == "interrupted" and no_pid.error is not None
    assert "is gone" in no_pid.error
    assert store.reconcile(is_alive) == []


def test_reconcile_leaves_runs_that_changed_meanwhile(store: Store) -> None:
    run_id = new_run(store, status="running", pid=5)

    def is_alive(pid: int, started: str | None) -> bool:
        store.update_run(run_id, pid=6)  # the run was restarted by another process
        return False

    assert store.reconcile(is_alive) == []
    assert store.get_run(run_id).status == "running"


# -- metrics ----------------------------------------------------------------------------------


def test_metrics_roundtrip(store: Store) -> None:
    run_id = new_run(store)
    before = store.get_run(run_id).updated_at
    time.sleep(0.002)
    added = store.add_metrics(
        run_id,
        [
            (2, "loss", 1.5, 1002.0),
            (1, "loss", 2.0, 1001.0),
            (1, "lr", 3e-4, 1001.0),
            (3, "loss", math.nan, 1003.0),
            (4, "loss", math.inf, 1004.0),
        ],
    )
    assert added == 5
    after = store.get_run(run_id).updated_at
    assert before is not None and after is not None and after > before

    rows = store.metrics(run_id)
    assert [(m.name, m.step) for m in rows] == [
        ("loss", 1),
        ("loss", 2),
        ("loss", 3),
        ("loss", 4),
        ("lr", 1),
    ]
    assert rows[0] == MetricRecord(step=1, name="loss", value=2.0, wall_time=1001.0)
    assert math.isnan(rows[2].value) and rows[3].value == math.inf
    assert [m.step for m in store.metrics(run_id, "loss")] == [1, 2, 3, 4]
    assert store.metrics(run_id, "missing") == []
    assert store.metric_names(run_id) == ["loss", "lr"]
    assert store.add_metrics(run_id, []) == 0
    with pytest.raises(RunNotFound):
        store.add_metrics(999, [(1, "loss", 1.0, 0.0)])


def test_last_metrics_takes_highest_step_in_one_query(store: Store) -> None:
    a = new_run(store, name="a")
    b = new_run(store, name="b")
    empty = new_run(store, name="empty")
    store.add_metrics(a, [(10, "loss", 1.0, 0.0), (20, "loss", 0.5, 0.0), (5, "acc", 0.1, 0.0)])
    store.add_metrics(a, [(15, "loss", 0.7, 0.0)])  # inserted last, but not the highest step
    store.add_metrics(b, [(3, "loss", 9.0, 0.0), (3, "loss", 8.0, 1.0)])  # tie: latest row wins

    selects: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def _log(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    result = store.last_metrics([a, b, empty, 999])
    assert result == {a: {"loss": 0.5, "acc": 0.1}, b: {"loss": 8.0}, empty: {}, 999: {}}
    assert len(selects) == 1
    assert store.last_metrics([]) == {}


def test_delete_metrics_after(store: Store) -> None:
    run_id = new_run(store)
    other = new_run(store)
    rows = [(step, "loss", float(step), 0.0) for step in range(1, 11)]
    store.add_metrics(run_id, rows)
    store.add_metrics(other, rows)
    for step in (2, 5, 8):
        store.add_sample(run_id, step=step, prompt="p", text=f"at {step}")

    store.delete_metrics_after(run_id, 5)
    assert [m.step for m in store.metrics(run_id)] == [1, 2, 3, 4, 5]
    assert [s.step for s in store.samples(run_id)] == [2, 5]
    assert len(store.metrics(other)) == 10


# -- artifacts, samples, evaluations ----------------------------------------------------------


def test_artifacts(store: Store) -> None:
    run_id = new_run(store)
    ckpt = store.add_artifact(
        run_id, kind="checkpoint", path=Path("artifacts/runs/1/last.ckpt"), sha256="f" * 64, size=10
    )
    log = store.add_artifact(
        run_id, kind="log", path="/abs/log.txt", sha256="e" * 64, size=2, step=7
    )
    all_rows = store.artifacts(run_id)
    assert [a.id for a in all_rows] == [ckpt, log]
    first = all_rows[0]
    assert isinstance(first, ArtifactRecord)
    assert (first.kind, first.path, first.size, first.step) == (
        "checkpoint",
        "artifacts/runs/1/last.ckpt",
        10,
        None,
    )
    assert first.created_at.tzinfo is UTC
    assert [a.id for a in store.artifacts(run_id, kind="log")] == [log]
    assert store.artifacts(run_id, kind="html") == []


def test_samples(store: Store) -> None:
    run_id = new_run(store)
    store.add_sample(run_id, step=20, prompt="To be", text="To be or not")
    store.add_sample(run_id, step=10, prompt="O", text="O Romeo")
    samples = store.samples(run_id)
    assert [(s.step, s.prompt, s.text) for s in samples] == [
        (10, "O", "O Romeo"),
        (20, "To be", "To be or not"),
    ]
    with pytest.raises(RunNotFound):
        store.add_sample(999, step=1, prompt="", text="")


def test_evaluations(store: Store) -> None:
    run_id = new_run(store)
    ok = store.add_evaluation(
        run_id, name="perplexity", config={"split": "val"}, metrics={"ppl": 12.5}
    )
    bad = store.add_evaluation(
        run_id, name="bleu", config={}, metrics={}, status="failed", error="Traceback..."
    )
    evals = store.evaluations(run_id)
    assert [e.id for e in evals] == [ok, bad]
    assert (evals[0].name, evals[0].config, evals[0].metrics, evals[0].status) == (
        "perplexity",
        {"split": "val"},
        {"ppl": 12.5},
        "succeeded",
    )
    assert (evals[1].status, evals[1].error) == ("failed", "Traceback...")


# -- several writers --------------------------------------------------------------------------


def test_two_stores_on_one_file_both_write(paths: Paths) -> None:
    with open_store(paths) as first, open_store(paths) as second:
        run_a = new_run(first, name="a")
        run_b = new_run(second, name="b")
        assert {r.id for r in first.list_runs()} == {run_a, run_b}

        errors: list[BaseException] = []

        def write(store: Store, run_id: int) -> None:
            try:
                for step in range(40):
                    store.add_metrics(run_id, [(step, "loss", 1.0 / (step + 1), 0.0)])
                    store.update_run(run_id, step=step)
            except BaseException as err:  # pragma: no cover - reported below
                errors.append(err)

        threads = [
            threading.Thread(target=write, args=(first, run_a)),
            threading.Thread(target=write, args=(second, run_b)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(second.metrics(run_a)) == 40 and len(first.metrics(run_b)) == 40
        assert first.get_run(run_b).step == 39


def test_writer_waits_for_a_held_lock(paths: Paths) -> None:
    with open_store(paths) as first, open_store(paths) as second:
        run_id = new_run(first)
        locked = threading.Event()

        def hold_lock() -> None:
            with first.engine.begin() as conn:
                conn.execute(text("UPDATE runs SET pid = 1 WHERE id = :id"), {"id": run_id})
                locked.set()
                time.sleep(0.3)

        holder = threading.Thread(target=hold_lock)
        holder.start()
        assert locked.wait(5)
        started = time.monotonic()
        second.update_run(run_id, pid=2)  # waits on busy_timeout instead of failing
        waited = time.monotonic() - started
        holder.join()
        assert waited >= 0.1
        assert first.get_run(run_id).pid == 2
