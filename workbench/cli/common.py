"""What every command shares: opening the home (store + registry) and output helpers."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workbench.paths import Paths, resolve_home
from workbench.registry import Registry, load_registry
from workbench.runner.reconcile import reconcile
from workbench.store import Store, open_store

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 1, 2, 130

STATUS_EXIT = {
    "succeeded": EXIT_OK,
    "failed": EXIT_FAILED,
    "interrupted": EXIT_FAILED,
    "cancelled": EXIT_CANCELLED,
}


class UserError(Exception):
    """Bad input from the user: printed as ``error: ...`` with exit code 2."""


@dataclass
class Context:
    paths: Paths
    store: Store
    _registry: Registry | None = None

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = load_registry()
        return self._registry


def open_context(home: str | None) -> Context:
    """Open (and migrate) the store; runs whose process is gone become ``interrupted``."""
    paths = resolve_home(home).ensure()
    store = open_store(paths)
    for run_id in reconcile(store, paths):
        print(f"note: run {run_id} was interrupted (its process is gone)", file=sys.stderr)
    return Context(paths=paths, store=store)


def plugin_and_options(
    ctx: Context, kind: str, name: str, overrides: Sequence[str], block: str
) -> tuple[Any, Any]:
    """The spec of ``kind`` called ``name`` (exit 2 naming what is available when there is none)
    and its options from ``--set KEY=VALUE`` overrides, validated by its Config (``block`` names
    the options in errors: ``"evaluation"``, ``"export"``, ...)."""
    from workbench.config import apply_overrides, validate_options
    from workbench.registry import UnknownPluginError

    try:
        spec = ctx.registry.get(kind, name)
    except UnknownPluginError as exc:
        raise UserError(str(exc)) from None
    return spec, validate_options(spec, apply_overrides({}, list(overrides)), block)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=_json_default)
    sys.stdout.write("\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(h) for h in headers]] + [
        ["" if c is None else str(c) for c in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if index == 0:
            print("  ".join("-" * width for width in widths))
