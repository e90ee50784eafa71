"""Labels survive concurrent writers and a writer killed mid-stream; the dashboard leaks no file
of the home through path tricks; migrations carry data down and up.

Figures for docs/reliability.md come from these tests' parameters (writers, labels, kills).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import urllib.parse
from pathlib import Path

import httpx
import pytest

from reliability.test_who_may_connect import SECRET, served
from workbench.paths import Paths
from workbench.store import open_store

WRITERS, PAIRS = 4, 60


def _make_pairs(home: Path, n: int) -> list[int]:
    store = open_store(Paths(home))
    prompts = store.add_prompts((f"Q{i}?", "test", {}) for i in range(n))
    completions = store.add_completions([(p, f" {side}{p}", {}) for p in prompts for side in "ab"])
    return store.add_pairs(
        (completions[i], completions[i + 1]) for i in range(0, len(completions), 2)
    )


def _label_all(home: str, annotator: str, pair_ids: list[int], rounds: int) -> None:
    """One writer process: label every pair, then relabel them all (the same annotator and
    the same pairs as another writer, so writers race on the same rows)."""
    store = open_store(Paths(Path(home)))
    store.ensure_annotator(annotator)
    for round_ in range(rounds):
        for pair_id in pair_ids:
            store.label(annotator, pair_id, "ab"[(pair_id + round_) % 2])


def test_concurrent_label_writers_lose_and_duplicate_nothing(tmp_path):
    home = tmp_path / "home"
    pair_ids = _make_pairs(home, PAIRS)
    ctx = multiprocessing.get_context("spawn")
    # Two annotators, two processes each: every (annotator, pair) row is written by two
    # processes at once, twice.
    jobs = [
        ctx.Process(target=_label_all, args=(str(home), f"annotator-{w % 2}", pair_ids, 2))
        for w in range(WRITERS)
    ]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(timeout=300)
        assert job.exitcode == 0
    store = open_store(Paths(home))
    for name in ("annotator-0", "annotator-1"):
        labels = store.labels(annotator=name)
        assert sorted(x.pair_id for x in labels) == sorted(pair_ids)  # none lost, none twice
        assert store.progress(name).labelled == PAIRS


KILLS = 3

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from workbench.paths import Paths
    from workbench.store import open_store

    store = open_store(Paths(Path(sys.argv[1])))
    store.ensure_annotator("alice")
    for pair_id in map(int, sys.argv[2:]):
        store.label("alice", pair_id, "a")
        print(pair_id, flush=True)  # acknowledged: the label call returned
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_label_writer_killed_with_sigkill_keeps_every_acknowledged_label(tmp_path):
    home = tmp_path / "home"
    pair_ids = _make_pairs(home, 400)
    acknowledged: set[int] = set()
    todo = list(pair_ids)
    for kill in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(home), *map(str, todo)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        for _ in range(10 + 15 * kill):  # a different point each time
            line = proc.stdout.readline()
            if not line:
                break
            acknowledged.add(int(line))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        acknowledged.update(int(line) for line in proc.stdout.read().split())
        todo = [p for p in todo if p not in acknowledged]
    with sqlite3.connect(home / "workbench.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    stored = {x.pair_id for x in open_store(Paths(home)).labels(annotator="alice")}
    assert acknowledged and acknowledged <= stored  # no acknowledged label lost
    assert len(stored) == len(open_store(Paths(home)).labels(annotator="alice"))


def _traversals(home: Path) -> list[str]:
    """File requests that try to reach the database, the auth file or a run's files."""
    db = home / "workbench.db"
    relative = os.path.relpath(db, Path.cwd())
    targets = [str(db), relative, str(home / "runs" / "1" / "run.log"), "/etc/passwd"]
    paths = []
    for target in targets:
        quoted = urllib.parse.quote(target, safe="")
        paths += [
            f"gradio_api/file={target}",
            f"gradio_api/file={quoted}",
            f"gradio_api/file={urllib.parse.quote(quoted, safe='')}",
            f"file={target}",
            f"gradio_api/file=../../../../../../..{target}",
            f"gradio_api/file=%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e{quoted}",
        ]
    paths += [f"static/..%2f..%2f..%2f..%2f..%2f..{urllib.parse.quote(str(db))}"]
    paths += [f"assets/..%2f..%2f..%2f..%2f..%2f..{urllib.parse.quote(str(db))}"]
    return paths


def test_no_file_of_the_home_is_served_through_path_tricks(tmp_path):
    with served(tmp_path) as (ctx, url):
        run_dir = ctx.paths.run_dir(1)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "run.log").write_text(f"{SECRET} in a log\n")
        db_head = (ctx.paths.home / "workbench.db").read_bytes()[:16]
        assert db_head.startswith(b"SQLite format 3")
        requests = _traversals(ctx.paths.home)
        leaked = []
        with httpx.Client(base_url=url, timeout=30) as http:
            for path in requests:
                response = http.get(path)
                body = response.content
                if b"SQLite format 3" in body or SECRET.encode() in body or b"root:x:0" in body:
                    leaked.append((path, response.status_code))
        assert leaked == [], leaked
        assert len(requests) == 26  # 6 spellings of 4 targets, and 2 through static routes


def test_migrations_down_and_up_keep_the_data_of_the_surviving_tables(tmp_path):
    from workbench.store.db import downgrade, make_engine, upgrade

    home = tmp_path / "home"
    pair_ids = _make_pairs(home, 5)
    store = open_store(Paths(home))
    store.ensure_annotator("alice")
    store.label("alice", pair_ids[0], "b")
    run_id = store.create_run(
        name="kept",
        stage="pretrain",
        architecture="bigram",
        dataset="synthetic",
        tokenizer="char",
        config={"a": 1},
        seed=3,
        plugin_versions={},
        package_versions={},
    )
    store.add_metrics(run_id, [(1, "train/loss", 2.5, 0.0), (2, "train/loss", 2.0, 0.0)])
    engine = make_engine(home / "workbench.db")
    for steps_back in ("-1", "-2"):  # 0004 (evaluation items), then 0003 (pid identity) too
        downgrade(engine, steps_back)
        upgrade(engine)
        again = open_store(Paths(home))
        run = again.get_run(run_id)
        assert (run.name, run.config, run.seed) == ("kept", {"a": 1}, 3)
        assert [m.value for m in again.metrics(run_id, "train/loss")] == [2.5, 2.0]
        assert [(x.pair_id, x.choice) for x in again.labels(annotator="alice")] == [
            (pair_ids[0], "b")
        ]
