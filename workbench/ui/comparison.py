"""Comparing runs as data: flattened configs, what differs, final metrics, and a CSV export."""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench.files import atomic_file

NOT_SET = "—"
EXPORT_FOLDER = "workbench-exports"
NOT_HYPERPARAMETERS = ("name", "description")
"""Config keys that differ between runs without being hyper-parameters."""


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"stage": {"lr": 0.1}}`` → ``{"stage.lr": 0.1}``; lists stay values."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def show(value: Any) -> str:
    """A config value as a table cell."""
    if value is None:
        return "null"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def differing_keys(configs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Flattened keys whose value is not the same in every config (missing counts as a value)."""
    flat = [flatten(c) for c in configs]
    keys = sorted({k for f in flat for k in f})
    marker = object()
    return [k for k in keys if len({show(f.get(k, marker)) for f in flat}) > 1]


def config_differences(
    labels: Sequence[str], configs: Sequence[Mapping[str, Any]]
) -> tuple[list[str], list[list[str]]]:
    """Headers ``["key", *labels]`` and one row per differing key."""
    flat = [flatten(c) for c in configs]
    rows = [
        [key, *[show(f[key]) if key in f else NOT_SET for f in flat]]
        for key in differing_keys(configs)
    ]
    return ["key", *labels], rows


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def hyperparameters(configs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per run, the numeric settings that differ between the runs (for parallel coordinates).

    Only numbers make readable axes: a setting that is text, a list, a choice or missing in some
    run is left out (the config differences table shows it), and so is one that is the same in
    every run. With a single run, or runs that differ in no number, every dict is empty.
    """
    flat = [flatten(c) for c in configs]
    keys = [
        k
        for k in differing_keys(configs)
        if k.split(".")[0] not in NOT_HYPERPARAMETERS
        and all(k in f and _numeric(f[k]) for f in flat)
    ]
    return [{k: f[k] for k in keys} for f in flat]


def export_rows(
    runs: Sequence[Mapping[str, Any]],
    configs: Sequence[Mapping[str, Any]],
    finals: Sequence[Mapping[str, float]],
) -> tuple[list[str], list[list[Any]]]:
    """A table with one row per run: identity, differing config values, final metrics."""
    keys = differing_keys(configs)
    metric_names = sorted({name for f in finals for name in f})
    headers = ["id", "name", "status", "stage", "architecture", *keys,
               *[f"final {m}" for m in metric_names]]  # fmt: skip
    rows = []
    for run, config, final in zip(runs, configs, finals, strict=True):
        flat = flatten(config)
        rows.append(
            [
                run["id"],
                run["name"],
                run["status"],
                run["stage"],
                run["architecture"],
                *[show(flat[k]) if k in flat else "" for k in keys],
                *[final.get(m, "") for m in metric_names],
            ]  # fmt: skip
        )
    return headers, rows


def write_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]], name: str) -> Path:
    """Write a CSV file into the system's temporary folder (outside the workbench home, so the
    dashboard may offer it for download) and return its path. The same comparison exported
    again replaces its earlier file."""
    folder = Path(tempfile.gettempdir()) / EXPORT_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with atomic_file(path, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)
    return path
