"""Writing files so that no reader, and no crash, ever sees half of one; hashing them.

Every file the workbench writes whole (checkpoints, weights, tokenizers, the auth file, exported
labels and comparisons, downloads) goes through :func:`atomic_file`: the data goes to a temporary
file in the same folder, which is renamed over the target only once it is complete. A killed
writer leaves at most a hidden temporary (``.NAME.*.tmp``), never a torn target.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

CHUNK = 1 << 20


@contextmanager
def atomic_file(
    path: Path | str,
    mode: str = "w",
    *,
    fsync: bool = False,
    permissions: int | None = None,
    suffix: str = ".tmp",
    newline: str | None = None,
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing (``mode`` ``"w"`` for UTF-8 text,
    ``"wb"`` for bytes) and rename it to ``path`` when the block ends without an exception;
    otherwise remove it. ``fsync`` makes the data durable before the rename (checkpoints);
    ``permissions`` (e.g. ``0o600``) are set before any byte is written."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_file writes whole files: mode 'w' or 'wb', got {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    try:
        if permissions is not None:
            os.fchmod(fd, permissions)
        text = {"encoding": "utf-8", "newline": newline} if mode == "w" else {}
        with os.fdopen(fd, mode, **text) as handle:
            yield handle
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: Path | str, data: str | bytes, *, fsync: bool = False) -> None:
    """Write all of ``data`` (text as UTF-8) to ``path`` atomically."""
    with atomic_file(path, "wb" if isinstance(data, bytes) else "w", fsync=fsync) as handle:
        handle.write(data)


def sha256_of(path: Path | str) -> str:
    """Hex SHA-256 digest of a file's contents, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
