"""The one way the workbench writes whole files: atomically."""

from __future__ import annotations

import stat

import pytest

from workbench.files import atomic_file, atomic_write, sha256_of


def test_atomic_write_replaces_the_whole_file(tmp_path):
    target = tmp_path / "deep" / "file.txt"
    atomic_write(target, "first\n")
    atomic_write(target, "second ü\n")
    assert target.read_text(encoding="utf-8") == "second ü\n"
    atomic_write(target, b"\x00\x01", fsync=True)
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_file(target) as handle:
        handle.write("half of the new")
        raise RuntimeError("the writer died")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_permissions_are_set_before_writing_and_mode_is_checked(tmp_path):
    target = tmp_path / "users.jsonl"
    with atomic_file(target, permissions=0o600) as handle:
        handle.write("{}\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with pytest.raises(ValueError, match="mode 'w' or 'wb'"):
        with atomic_file(target, "a"):
            pass


def test_sha256_of_matches_hashlib(tmp_path):
    import hashlib

    data = bytes(range(256)) * 5000  # more than one chunk
    (tmp_path / "blob").write_bytes(data)
    assert sha256_of(tmp_path / "blob") == hashlib.sha256(data).hexdigest()
