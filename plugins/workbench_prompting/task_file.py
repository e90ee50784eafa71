"""Users' own prompt tasks for the ``few-shot`` evaluation: a JSON Lines file of items.

Each non-blank line is one item of one task::

    {"task": "plural", "input": "cat", "output": "cats"}

Every item of a task is a query; its demonstrations are drawn from the task's *other* items, so a
task needs more items than the largest ``k`` evaluated for every prompt to carry ``k``
demonstrations. Errors name ``FILE:LINE``. A model reads only the characters (or tokens) its
tokenizer knows: a character the tokenizer cannot encode is an error naming the line and the
field, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.jsonl import jsonl_objects

FIELDS = ("task", "input", "output")


def _check_text(value: object, key: str, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: {key!r} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{where}: {key!r} is empty")
    if "\n" in value:
        raise ValueError(f"{where}: {key!r} contains a newline, which ends an answer")
    return value


def vocabulary_check(tokenizer: Any) -> Callable[[str], str | None]:
    """A function that returns the first character of a text ``tokenizer`` cannot encode and
    decode back unchanged, or None when it reads the whole text."""
    known: dict[str, bool] = {}

    def readable(ch: str) -> bool:
        if ch not in known:
            try:
                known[ch] = tokenizer.decode(list(tokenizer.encode(ch))) == ch
            except (ValueError, KeyError):
                known[ch] = False
        return known[ch]

    def first_unknown(text: str) -> str | None:
        return next((ch for ch in text if not readable(ch)), None)

    return first_unknown


def load_task_file(
    path: Path | str, first_unknown: Callable[[str], str | None] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The items of a task file by task name, in file order; each item carries the other
    items of its task as ``demos``. ``first_unknown`` (see :func:`vocabulary_check`) rejects
    characters the model cannot read."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"task_file {str(path)!r} does not exist")
    tasks: dict[str, list[dict[str, Any]]] = {}
    for where, obj in jsonl_objects(path):
        missing = [key for key in FIELDS if key not in obj]
        if missing:
            raise ValueError(f"{where}: missing {', '.join(map(repr, missing))}")
        extra = sorted(set(obj) - set(FIELDS))
        if extra:
            raise ValueError(
                f"{where}: unknown key(s) {', '.join(map(repr, extra))}; a line has exactly "
                f"{', '.join(map(repr, FIELDS))}"
            )
        item = {key: _check_text(obj[key], key, where) for key in FIELDS}
        if first_unknown is not None:
            for key in ("input", "output"):
                ch = first_unknown(item[key])
                if ch is not None:
                    raise ValueError(
                        f"{where}: character {ch!r} (U+{ord(ch):04X}) in {key!r} is not in the "
                        "model's vocabulary, so the model cannot read or write it"
                    )
        tasks.setdefault(item.pop("task"), []).append(item)
    if not tasks:
        raise ValueError(f"task_file {str(path)!r} has no items")
    out: dict[str, list[dict[str, Any]]] = {}
    for task, items in tasks.items():
        plain = [dict(item) for item in items]
        out[task] = [
            {**item, "demos": plain[:index] + plain[index + 1 :]}
            for index, item in enumerate(items)
        ]
    return out
