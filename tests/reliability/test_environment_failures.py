"""When the environment fails: a home that cannot be written, a full disk, a damaged database and
one from a newer schema each give one ``error:`` line naming the file and what to do, exit code 2,
and no traceback; a run killed by a full disk records that as its error.

Read-only and full disks are real: a tiny tmpfs, mounted only where this process may mount
(root with CAP_SYS_ADMIN, as in the project's containers) and skipped cleanly elsewhere. A
read-only folder made with chmod is tested only when not running as root, since root writes
through it.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from conftest import tiny_config

from workbench.cli import main
from workbench.paths import resolve_home
from workbench.runner.worker import record_failure
from workbench.store import open_store

ELSEWHERE = "choose another home with --home DIR"


def run_cli(capsys, *argv: str) -> tuple[int, list[str]]:
    """Exit code and the lines written to stderr by ``workbench ARGV``."""
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().err.splitlines()


def assert_one_error_line(lines: list[str], *fragments: str) -> None:
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in lines[0]


@contextmanager
def tmpfs(where: Path, size: str, *options: str) -> Iterator[Path]:
    """A fresh tmpfs of ``size`` mounted on ``where``; skips the test where mounting is refused."""
    where.mkdir(parents=True, exist_ok=True)
    opts = ",".join((f"size={size}", *options))
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        # Lazy: a store this process opened may still hold the database open.
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)


def remount_read_only(where: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True, timeout=30)


def fill(folder: Path, leave: int = 0) -> None:
    """Write a filler file until at most ``leave`` bytes are free on ``folder``'s device."""
    chunk = b"\0" * 65536
    with open(folder / "filler", "wb") as handle:
        try:
            while True:
                free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
                if free <= leave:
                    break
                handle.write(chunk[: min(len(chunk), max(4096, free - leave))])
                handle.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def make_home(home: Path) -> None:
    open_store(resolve_home(home)).close()


# -- a home that cannot be written ---------------------------------------------------------------


def test_a_home_under_a_file(tmp_path, capsys):
    (tmp_path / "a-file").write_text("not a folder")
    home = tmp_path / "a-file" / "home"
    code, lines = run_cli(capsys, "--home", str(home), "runs")
    assert code == 2
    assert_one_error_line(lines, str(home), "not a folder", ELSEWHERE)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through a chmod'ed folder")
def test_a_home_in_a_folder_without_write_permission(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, lines = run_cli(capsys, "--home", str(locked / "home"), "runs")
    finally:
        locked.chmod(0o755)
    assert code == 2
    assert_one_error_line(lines, str(locked / "home"), "permission denied", ELSEWHERE)


def test_a_new_home_on_a_read_only_disk(tmp_path, capsys):
    with tmpfs(tmp_path / "ro", "1m", "ro") as mount:
        code, lines = run_cli(capsys, "--home", str(mount / "home"), "runs")
    assert code == 2
    assert_one_error_line(lines, str(mount / "home"), "read-only file system", ELSEWHERE)


def test_an_existing_home_on_a_read_only_disk(tmp_path, capsys):
    with tmpfs(tmp_path / "ro", "4m") as mount:
        make_home(mount / "home")
        remount_read_only(mount)
        code, lines = run_cli(capsys, "--home", str(mount / "home"), "runs")
    assert code == 2
    assert_one_error_line(
        lines, str(mount / "home" / "workbench.db"), "read-only file system", ELSEWHERE
    )


# -- a full disk -----------------------------------------------------------------------------------


def test_a_new_home_on_a_full_disk(tmp_path, capsys):
    with tmpfs(tmp_path / "full", "1m") as mount:
        fill(mount)
        code, lines = run_cli(capsys, "--home", str(mount / "home"), "runs")
    assert code == 2
    assert_one_error_line(lines, str(mount / "home"), "no space left", "free some space")


def test_an_existing_home_on_a_full_disk(tmp_path, capsys):
    with tmpfs(tmp_path / "full", "4m") as mount:
        make_home(mount / "home")
        fill(mount)
        code, lines = run_cli(capsys, "--home", str(mount / "home"), "runs")
    assert code == 2
    assert_one_error_line(
        lines, str(mount / "home" / "workbench.db"), "no space left", "free some space"
    )


# -- a database that is not ours, or is newer ----------------------------------------------------


def test_a_corrupt_database(tmp_path, capsys):
    home = tmp_path / "home"
    home.mkdir()
    database = home / "workbench.db"
    database.write_bytes(bytes(range(256)) * 40)
    for argv in (("runs",), ("db", "upgrade"), ("show", "1")):
        code, lines = run_cli(capsys, "--home", str(home), *argv)
        assert code == 2, argv
        assert_one_error_line(lines, str(database), "not a workbench database", "move it aside")


def test_a_database_from_a_newer_schema(tmp_path, capsys):
    home = tmp_path / "home"
    make_home(home)
    database = home / "workbench.db"
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00dfeedbeef'")
    for argv in (("runs",), ("db", "upgrade"), ("db", "check")):
        code, lines = run_cli(capsys, "--home", str(home), *argv)
        assert code == 2, argv
        assert_one_error_line(lines, str(database), "f00dfeedbeef", "newer workbench", "Upgrade")
    with sqlite3.connect(database) as conn:  # and nothing was changed
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("f00dfeedbeef",)
        ]


# -- a run killed by a full disk ---------------------------------------------------------------


def _create_run(home: Path) -> int:
    store = open_store(resolve_home(home))
    try:
        return store.create_run(
            name="doomed",
            stage="pretrain",
            architecture="bigram",
            dataset="text-file",
            tokenizer="char",
            config={},
            seed=0,
            plugin_versions={},
            package_versions={},
            status="running",
        )
    finally:
        store.close()


def test_a_full_disk_is_recorded_as_the_run_error(tmp_path, capsys):
    """The worker's failure path, given the error ``torch.save`` raises on a full disk."""
    home = tmp_path / "home"
    run_id = _create_run(home)
    run_dir = tmp_path / "home" / "artifacts" / "runs" / str(run_id)
    store = open_store(resolve_home(home))
    try:
        try:
            try:
                raise OSError(errno.ENOSPC, "No space left on device")
            except OSError:
                raise RuntimeError("[enforce fail at inline_container.cc:672] unexpected pos")  # noqa: B904
        except RuntimeError as exc:
            record_failure(store, run_id, exc, run_dir)
        run = store.get_run(run_id)
    finally:
        store.close()
    assert run.status == "failed"
    last = run.error.rstrip().splitlines()[-1]
    assert "no space left on the device holding" in last and str(run_dir) in last
    assert f"free some space; then `workbench resume {run_id}`" in last
    assert "RuntimeError" in run.error  # the traceback is kept above it
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("error: no space left")


def test_other_failures_keep_their_traceback(tmp_path):
    home = tmp_path / "home"
    run_id = _create_run(home)
    store = open_store(resolve_home(home))
    try:
        try:
            raise ValueError("a bug")
        except ValueError as exc:
            record_failure(store, run_id, exc, tmp_path)
        run = store.get_run(run_id)
    finally:
        store.close()
    assert run.status == "failed"
    assert run.error.rstrip().splitlines()[-1] == "ValueError: a bug"


def test_a_worker_whose_checkpoint_fills_the_disk(tmp_path, corpus, home, capfd):
    """End to end: a real worker on a tiny tmpfs; the first checkpoint does not fit."""
    del home  # the fixture sets $WORKBENCH_HOME and the test plugins; this run uses its own
    config = tiny_config(corpus, max_steps=4, eval_interval=2, eval_batches=1, sample_tokens=4)
    # About 0.4M parameters: a 4.7 MB checkpoint with AdamW's state, on a disk with 1.5 MB free.
    config["architecture"] = {
        "name": "gpt",
        "n_layer": 2,
        "n_head": 2,
        "n_embd": 128,
        "block_size": 16,
    }
    config["name"] = "full-disk"
    config_path = tmp_path / "full-disk.yaml"
    config_path.write_text(yaml.safe_dump(config))
    with tmpfs(tmp_path / "full", "8m") as mount:
        disk_home = mount / "home"
        make_home(disk_home)
        fill(mount, leave=1536 * 1024)
        capfd.readouterr()
        code = main(["--home", str(disk_home), "run", str(config_path)])
        out, err = capfd.readouterr()
        store = open_store(resolve_home(disk_home))
        try:
            (run,) = store.list_runs()
        finally:
            store.close()
    assert code == 1, (out, err)
    assert run.status == "failed", run.error
    last = run.error.rstrip().splitlines()[-1]
    assert "no space left on the device holding" in last, run.error
    assert f"runs/{run.id}" in last and f"free some space; then `workbench resume {run.id}`" in last
    assert "Traceback" not in err, err
    assert "no space left" in err
