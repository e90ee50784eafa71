"""Metric records turned into plottable ``(x, y)`` series (by step, tokens seen, or time)."""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

from workbench.store import MetricRecord

X_AXES = ("step", "tokens", "time")
TOKENS_METRIC = "tokens"
"""The metric a stage logs with the number of tokens trained on so far."""

MAX_POINTS = 2000


def thin(
    points: Sequence[tuple[float, float]], limit: int = MAX_POINTS
) -> list[tuple[float, float]]:
    """At most ``limit`` points, evenly spaced, always keeping the last one."""
    if len(points) <= limit:
        return list(points)
    stride = math.ceil(len(points) / limit)
    kept = list(points[::stride])
    if kept[-1] != points[-1]:
        kept.append(points[-1])
    return kept


def by_name(records: Iterable[MetricRecord]) -> dict[str, list[tuple[float, float]]]:
    """Every metric's ``(step, value)`` points, in step order (non-finite values dropped)."""
    out: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for record in records:
        if math.isfinite(record.value):
            out[record.name].append((record.step, record.value))
    return {name: thin(sorted(points)) for name, points in out.items()}


def along(
    records: Sequence[MetricRecord], metric: str, x_axis: str = "step"
) -> list[tuple[float, float]]:
    """``metric`` against ``x_axis``: the step, the tokens seen by then (from the ``tokens``
    metric; empty when the run did not log it), or seconds since the run's first metric."""
    if x_axis not in X_AXES:
        raise ValueError(f"unknown x axis {x_axis!r} (choose from {', '.join(X_AXES)})")
    rows = sorted(
        (r for r in records if r.name == metric and math.isfinite(r.value)), key=lambda r: r.step
    )
    if x_axis == "step":
        return thin([(r.step, r.value) for r in rows])
    if x_axis == "time":
        start = min((r.wall_time for r in records), default=0.0)
        return thin([(r.wall_time - start, r.value) for r in rows])
    counts = sorted((r.step, r.value) for r in records if r.name == TOKENS_METRIC)
    if not counts:
        return []
    steps = [step for step, _ in counts]
    points = []
    for r in rows:
        at = bisect.bisect_right(steps, r.step) - 1
        points.append((counts[max(at, 0)][1], r.value))
    return thin(points)


def final_value(records: Sequence[MetricRecord], metric: str) -> float | None:
    """The value of ``metric`` at its highest step, or None."""
    rows = [r for r in records if r.name == metric]
    if not rows:
        return None
    return max(rows, key=lambda r: r.step).value
