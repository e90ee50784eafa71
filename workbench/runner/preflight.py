"""Checks a validated config must pass before its run is recorded.

Pydantic validates each option's type and range; what only the disk and the store can tell is
checked here, so that bad input is refused with exit code 2 and leaves no ``failed`` run behind:

- every input file a plugin block names (an option ``path``, ``*_path`` or ``*_file``) exists,
  and a ``.jsonl`` one holds a JSON object on every non-blank line (the error names FILE:LINE);
- a parent run (``init_from``) has the same architecture as the child, with the same integer
  options (layers, widths, heads, block size: what decides the weights' shapes), so its weights
  fit;
- stored preference labels a dataset block asks for (an option ``labels_annotator`` or
  ``labels_kind``, as ``synthetic-preferences`` takes) exist in the home: at least one that names a
  winner.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workbench.config import PLUGIN_BLOCKS, ConfigError, ResolvedConfig
from workbench.jsonl import jsonl_objects
from workbench.store import RunRecord, Store

INPUT_KEY = re.compile(r"^(path|.*_(path|file))$")
"""Option names that name an input file or folder."""


def _inputs(value: Any, key: str, loc: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str) and INPUT_KEY.match(key) and "://" not in value:
        yield loc, value
    elif isinstance(value, dict):
        for child, inner in value.items():
            yield from _inputs(inner, str(child), f"{loc}.{child}")


def input_problems(config: dict[str, Any]) -> list[tuple[str, str]]:
    """``(location, message)`` for each missing or unreadable input file of the config."""
    problems: list[tuple[str, str]] = []
    for block in PLUGIN_BLOCKS:
        options = config.get(block)
        if not isinstance(options, dict):
            continue
        for key, value in options.items():
            for loc, text in _inputs(value, str(key), f"{block}.{key}"):
                problem = _check_input(Path(text).expanduser())
                if problem:
                    problems.append((loc, problem))
    return problems


def _check_input(path: Path) -> str | None:
    if not path.exists():
        return f"{path} does not exist"
    if path.is_file() and path.suffix.lower() == ".jsonl":
        try:
            for _ in jsonl_objects(path):
                pass
        except UnicodeDecodeError as exc:
            return f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        except (ValueError, OSError) as exc:
            return str(exc)
    elif path.is_file():
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            return f"{path}: cannot be read ({exc.strerror})"
    return None


def parent_problems(resolved: ResolvedConfig, parent: RunRecord | None) -> list[tuple[str, str]]:
    """A parent whose architecture differs from the child's cannot hand over its weights."""
    if parent is None:
        return []
    child = resolved.plugin("architecture")
    if parent.architecture != child:
        return [
            (
                "init_from",
                f"run {parent.id} ({parent.name}) is a {parent.architecture!r} model; this "
                f"config's architecture is {child!r}, so its weights cannot be loaded",
            )
        ]
    theirs = parent.config.get("architecture", {})
    ours = resolved.to_dict()["architecture"]
    differ = sorted(
        key
        for key, value in ours.items()
        if isinstance(value, int)
        and not isinstance(value, bool)
        and key in theirs
        and theirs[key] != value
    )
    if differ:
        shown = ", ".join(f"{key} {theirs[key]} → {ours[key]}" for key in differ)
        return [
            (
                "init_from",
                f"run {parent.id} ({parent.name}) has other shapes than this config "
                f"({shown}); give the architecture the parent's values",
            )
        ]
    return []


def label_problems(config: dict[str, Any], store: Store) -> list[tuple[str, str]]:
    """A dataset that trains on stored labels needs some: name the option when there are none."""
    dataset = config.get("dataset")
    if not isinstance(dataset, dict):
        return []
    for key, filter_ in (("labels_annotator", "annotator"), ("labels_kind", "kind")):
        value = dataset.get(key)
        if not isinstance(value, str):
            continue
        try:
            found = store.preference_examples(**{filter_: value})
        except (LookupError, ValueError):
            found = []
        if not found:
            return [
                (
                    f"dataset.{key}",
                    f"no stored preference labels of {value!r} that name a winner: label pairs "
                    "first (`workbench pairs generate RUN` then `workbench label --annotator "
                    "NAME`, or the Label tab), or set it to null",
                )
            ]
    return []


def check(resolved: ResolvedConfig, parent: RunRecord | None, store: Store | None = None) -> None:
    """Raise :class:`ConfigError` with every problem at once; return when there is none."""
    config = resolved.to_dict()
    problems = input_problems(config) + parent_problems(resolved, parent)
    if store is not None:
        problems += label_problems(config, store)
    if problems:
        raise ConfigError(problems)
