"""What the dashboard lets a user reach on disk: checked uploads, and typed paths confined to the
workbench's data folders.

Uploads must be small UTF-8 text files of an allowed type; they are copied into the home's
``uploads/`` folder (which, like the rest of the home, is never served back as a file). A path a
user types into a config (an option named ``path``, ``*_path``, ``*_file``, ``*_dir``, or a
``file:`` URL) must lie inside one of :attr:`UIContext.data_roots`; a relative path is taken from
the home folder.
"""

from __future__ import annotations

import copy
import hashlib
import re
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench.config import PLUGIN_BLOCKS

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
"""The largest upload the server accepts (also passed to Gradio as ``max_file_size``)."""

CONFIG_SUFFIXES = (".yaml", ".yml")
DATA_SUFFIXES = (".txt", ".jsonl")
UPLOAD_SUFFIXES = CONFIG_SUFFIXES + DATA_SUFFIXES

_PATH_KEY = re.compile(r"^(path|.*_(path|file|dir|folder))$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class UploadError(ValueError):
    """An uploaded file that is refused (type, size or encoding)."""


def check_upload(path: str | Path, suffixes: Sequence[str] = UPLOAD_SUFFIXES) -> str:
    """Read an uploaded file after checking its type, size and encoding; returns its text."""
    file = Path(path)
    if file.suffix.lower() not in suffixes:
        raise UploadError(f"{file.name}: only {', '.join(suffixes)} files can be uploaded here")
    size = file.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise UploadError(
            f"{file.name} is {size / 2**20:.1f} MiB; the limit is {MAX_UPLOAD_BYTES // 2**20} MiB"
        )
    try:
        return file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UploadError(f"{file.name} is not UTF-8 text (byte {exc.start})") from None


def keep_upload(path: str | Path, uploads: Path) -> Path:
    """Check an uploaded data file and copy it into ``uploads``; returns the kept copy.

    The copy's name starts with a digest of the content, so two different files with the same
    name never overwrite each other, and uploading the same file twice keeps one copy.
    """
    source = Path(path)
    check_upload(source, DATA_SUFFIXES)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:10]
    stem = _SAFE_NAME.sub("_", source.stem).strip("._") or "upload"
    target = uploads / f"{digest}-{stem[:80]}{source.suffix.lower()}"
    uploads.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        shutil.copyfile(source, target)
    return target


def is_inside(path: Path, roots: Iterable[Path]) -> bool:
    """Whether ``path`` (symlinks resolved) lies inside one of ``roots``."""
    real = path.resolve()
    return any(real.is_relative_to(root.resolve()) for root in roots)


def _check_value(
    key: str, value: str, home: Path, roots: Sequence[Path]
) -> tuple[str | None, str | None]:
    """``(rewritten value, problem)`` for one string option."""
    is_file_url = value.lower().startswith("file:")
    if is_file_url:
        parsed = urllib.parse.urlsplit(value)
        raw = urllib.request.url2pathname(parsed.path)
    elif _PATH_KEY.match(key):
        raw = value
    else:
        return None, None
    candidate = Path(raw).expanduser()
    if not candidate.is_absolute():
        candidate = home / candidate
    if not is_inside(candidate, roots):
        folders = ", ".join(str(r) for r in roots)
        return None, (
            f"{value!r} is outside the workbench's data folders ({folders}); "
            "upload the file or move it into one of them"
        )
    resolved = str(candidate.resolve())
    return (Path(resolved).as_uri() if is_file_url else resolved), None


def confine_paths(
    raw: Mapping[str, Any], home: Path, roots: Sequence[Path]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Check every path-like option of the plugin blocks of ``raw``.

    Returns a copy with relative paths made absolute (from ``home``), and the problems as
    ``(location, message)`` pairs in the style of :class:`workbench.config.ConfigError`.
    """
    data = copy.deepcopy(dict(raw))
    issues: list[tuple[str, str]] = []

    def visit(container: Any, slot: Any, key: str, loc: str) -> None:
        value = container[slot]
        if isinstance(value, str):
            new, problem = _check_value(key, value, home, roots)
            if problem:
                issues.append((loc, problem))
            elif new is not None:
                container[slot] = new
        elif isinstance(value, dict):
            for child in value:
                visit(value, child, str(child), f"{loc}.{child}")
        elif isinstance(value, list):
            for index in range(len(value)):
                visit(value, index, key, f"{loc}[{index}]")

    for block in PLUGIN_BLOCKS:
        if isinstance(data.get(block), dict):
            for key in data[block]:
                visit(data[block], key, str(key), f"{block}.{key}")
    return data, issues
