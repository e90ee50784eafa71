"""Figures that compare runs: one metric overlaid, and hyper-parameters against a final metric."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from workbench.charts.curves import Series, _empty

MAX_AXES = 12
"""Most setting axes drawn (more overlap into an unreadable comb)."""
X_TITLES = {"step": "step", "tokens": "tokens seen", "time": "seconds since the run started"}


def overlay_figure(curves: Mapping[str, Series], metric: str, *, x_axis: str = "step") -> go.Figure:
    """One line per run (legend = the run's label) for ``metric`` against ``x_axis``."""
    title = f"{metric} by {X_TITLES.get(x_axis, x_axis)}"
    drawn = {label: points for label, points in curves.items() if points}
    if not drawn:
        return _empty(title, "choose runs that logged this metric")
    fig = go.Figure()
    for label, points in drawn.items():
        xs, ys = zip(*points, strict=True)
        fig.add_trace(
            go.Scatter(
                x=list(xs),
                y=list(ys),
                name=label,
                mode="lines+markers" if len(xs) <= 50 else "lines",
            )
        )
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=400,
        xaxis_title=X_TITLES.get(x_axis, x_axis),
        yaxis_title=metric,
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
    )
    return fig


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _dimension(name: str, values: Sequence[Any]) -> dict[str, Any]:
    """A parcoords axis: numbers as they are, anything else as evenly spaced categories."""
    if all(_is_number(v) for v in values):
        return {"label": name, "values": [float(v) for v in values]}
    categories = sorted({str(v) for v in values})
    index = {c: i for i, c in enumerate(categories)}
    return {
        "label": name,
        "values": [index[str(v)] for v in values],
        "tickvals": list(range(len(categories))),
        "ticktext": categories,
        "range": [-0.5, len(categories) - 0.5] if len(categories) == 1 else None,
    }


def parallel_coordinates_figure(
    params: Sequence[Mapping[str, Any]], final: Sequence[float | None], metric: str
) -> go.Figure:
    """One line per run through its hyper-parameters and, last, the final value of ``metric``.

    ``params[i]`` holds run ``i``'s hyper-parameters (flattened names to values); runs without a
    final value are left out. Lines are coloured by the final metric.
    """
    title = f"Hyper-parameters against final {metric}"
    keep = [i for i, value in enumerate(final) if value is not None and _is_number(value)]
    if len(keep) < 1:
        return _empty(title, f"no chosen run has logged {metric}")
    names = sorted({name for i in keep for name in params[i]})
    if not names:
        return _empty(title, "the chosen runs differ in no numeric setting")
    if len(names) > MAX_AXES:
        title += f" ({MAX_AXES} of {len(names)} differing settings)"
        names = names[:MAX_AXES]
    dimensions = [_dimension(n, [params[i].get(n) for i in keep]) for n in names]
    scores = [float(final[i]) for i in keep]  # type: ignore[arg-type]
    dimensions.append({"label": f"final {metric}", "values": scores})
    for dim in dimensions:
        if dim.get("range") is None:
            dim.pop("range", None)
    fig = go.Figure(
        go.Parcoords(
            line={
                "color": scores,
                "colorscale": "Viridis",
                "showscale": True,
                "colorbar": {"title": {"text": metric}},
            },
            dimensions=dimensions,
        )
    )
    fig.update_layout(title=title, height=420, margin={"l": 60, "r": 60, "t": 80, "b": 30})
    return fig
