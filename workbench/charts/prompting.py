"""Few-shot prompting figures: accuracy against the number of in-context examples (GPT-3).

Pure functions from plain data. :func:`accuracy_curve` reads one evaluation's flat metrics (the
``few-shot`` evaluation's ``acc/k=<k>``, ``acc_std/k=<k>``, ``acc/<task>/k=<k>`` names);
:func:`accuracy_vs_k_figure` draws one curve per model with error bars over demo seeds, and the
fine-tuned models' accuracy as horizontal lines.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from workbench.charts.curves import _empty

Point = tuple[int, float, float]
"""``(k, mean accuracy, standard deviation over demo seeds)``."""

_K = re.compile(r"^(?P<prefix>[a-z_]+)/(?:(?P<task>.+)/)?k=(?P<k>\d+)$")


def accuracy_curve(
    metrics: Mapping[str, float], task: str | None = None, prefix: str = "acc"
) -> list[Point]:
    """``(k, mean, std)`` points, sorted by k, for all tasks (``task`` None) or one task.

    ``prefix`` is ``acc`` (generation, exact match) or ``rank_acc`` (ranked candidates); the
    spread is read from ``<prefix>_std`` and is 0 where it was not stored.
    """
    points: dict[int, Point] = {}
    for name, value in metrics.items():
        match = _K.match(name)
        if not match or match["prefix"] != prefix or match["task"] != task:
            continue
        k = int(match["k"])
        std_name = f"{prefix}_std/{task}/k={k}" if task else f"{prefix}_std/k={k}"
        std = metrics.get(std_name, 0.0)
        points[k] = (k, float(value), float(std) if _finite(std) else 0.0)
    return [points[k] for k in sorted(points)]


def evaluated_tasks(metrics: Mapping[str, float], prefix: str = "acc") -> list[str]:
    """The tasks an evaluation scored, in name order."""
    tasks = set()
    for name in metrics:
        match = _K.match(name)
        if match and match["prefix"] == prefix and match["task"]:
            tasks.add(match["task"])
    return sorted(tasks)


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def accuracy_vs_k_figure(
    curves: Mapping[str, Sequence[Point]],
    finetuned: Mapping[str, float] | None = None,
    *,
    title: str = "Accuracy against the number of in-context examples",
    metric: str = "exact-match accuracy",
) -> go.Figure:
    """One line per model (legend = its label) through ``(k, mean)`` with ``std`` error bars,
    and one dashed horizontal line per fine-tuned model at its accuracy."""
    drawn = {label: points for label, points in curves.items() if points}
    lines = {label: v for label, v in (finetuned or {}).items() if _finite(v)}
    if not drawn and not lines:
        return _empty(title, "run the few-shot evaluation on the chosen runs")
    fig = go.Figure()
    ks: set[int] = set()
    for label, points in drawn.items():
        xs = [p[0] for p in points]
        ks.update(xs)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[p[1] for p in points],
                error_y={"type": "data", "array": [p[2] for p in points], "visible": True},
                name=label,
                mode="lines+markers",
            )
        )
    for label, value in lines.items():
        fig.add_trace(
            go.Scatter(
                x=[min(ks, default=0), max(ks, default=1)],
                y=[value, value],
                mode="lines",
                line={"dash": "dash"},
                name=f"{label} (fine-tuned, k=0): {value:.2f}",
            )
        )
    ordered = sorted(ks)
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=420,
        # Linear axis with a tick at every evaluated k (k=0 has no logarithm).
        xaxis={"title": "examples in context (k)", "tickmode": "array", "tickvals": ordered},
        yaxis={"title": metric, "range": [0, 1.05]},
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
    )
    return fig
