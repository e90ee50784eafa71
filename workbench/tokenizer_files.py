"""Helpers for tokenizer plugins (core, so that plugins need not import each other): input
normalisation, the saved file's name, atomic saves, special-token checks."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from workbench.files import atomic_write

TOKENIZER_FILE = "tokenizer.json"
"""The file name the built-in tokenizers write into the directory given to ``save``."""


def as_texts(texts: Iterable[str] | str) -> Iterable[str]:
    """Treat a lone string as one text (iterating it would yield single characters)."""
    return [texts] if isinstance(texts, str) else texts


def as_id_list(ids: Sequence[int]) -> list[int]:
    """Accept lists, tuples, numpy arrays and torch tensors of ids alike."""
    tolist = getattr(ids, "tolist", None)
    if callable(tolist):
        ids = tolist()
    return [int(i) for i in ids]


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so a crash never leaves half a file."""
    atomic_write(path, text)


def read_tokenizer_file(directory: Path) -> tuple[Path, str]:
    """The path and text of the ``tokenizer.json`` saved in ``directory``."""
    path = Path(directory) / TOKENIZER_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no saved tokenizer at {path}")
    return path, path.read_text(encoding="utf-8")


def read_tokenizer_payload(directory: Path, kind: str) -> tuple[Path, dict[str, Any]]:
    """The path and JSON object of the ``tokenizer.json`` in ``directory``, which must say it
    holds a ``kind`` tokenizer (``{"type": kind, ...}``); clear errors otherwise."""
    path, text = read_tokenizer_file(directory)
    try:
        payload: Any = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(payload, dict) or payload.get("type") != kind:
        raise ValueError(f"{path} does not hold a {kind} tokenizer")
    return path, payload


def check_special_tokens(cls: type, value: list[str]) -> list[str]:
    """Special tokens must be non-empty and distinct."""
    if any(not token for token in value):
        raise ValueError("special tokens must be non-empty strings")
    if len(set(value)) != len(value):
        raise ValueError("special tokens must be distinct")
    return value
