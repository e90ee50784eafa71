"""Figures of the Claims tab and report: pure functions from plain numbers to plotly figures.

Claim plugins draw with these (or with any plotly figure of their own): grouped bars of one
measure per group of runs, curves against a shared x, and a placeholder for a claim nothing has
measured yet."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

HEIGHT = 340
PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#9D755D")


def _layout(fig: go.Figure, title: str, yaxis: str = "", xaxis: str = "") -> go.Figure:
    fig.update_layout(
        title={"text": title, "font": {"size": 14}},
        template="plotly_white",
        height=HEIGHT,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        yaxis_title=yaxis,
        xaxis_title=xaxis,
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def placeholder_figure(measured: str, command: str = "") -> go.Figure:
    """An empty chart saying what is missing and the command that would measure it."""
    lines = ["<b>not yet measured</b>", *textwrap.wrap(measured, 70)]
    if command:
        lines += ["", *textwrap.wrap(command, 70)]
    fig = go.Figure()
    fig.update_layout(
        template="plotly_white",
        height=HEIGHT,
        xaxis={"visible": False},
        yaxis={"visible": False},
        margin={"l": 20, "r": 20, "t": 20, "b": 20},
        annotations=[
            {
                "text": "<br>".join(lines),
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "font": {"size": 13, "color": "#777"},
            }
        ],
    )
    return fig


def grouped_bars(
    groups: Mapping[str, Mapping[str, float]],
    *,
    title: str,
    yaxis: str = "",
    errors: Mapping[str, Mapping[str, float]] | None = None,
    reference: float | None = None,
    reference_name: str = "",
) -> go.Figure:
    """One bar per (group, series): ``groups[group][series] = value``; ``errors`` gives error
    bars the same way; ``reference`` draws a dashed horizontal line (chance, a target)."""
    series = list(dict.fromkeys(s for values in groups.values() for s in values))
    fig = go.Figure()
    for index, name in enumerate(series):
        xs = [g for g, values in groups.items() if name in values]
        ys = [groups[g][name] for g in xs]
        bar = go.Bar(name=name, x=xs, y=ys, marker_color=PALETTE[index % len(PALETTE)],
                     text=[f"{y:.3g}" for y in ys], textposition="outside")  # fmt: skip
        if errors:
            bar.error_y = {"type": "data", "array": [errors.get(g, {}).get(name, 0.0) for g in xs]}
        fig.add_trace(bar)
    if reference is not None:
        fig.add_hline(y=reference, line_dash="dash", line_color="#888",
                      annotation_text=reference_name, annotation_position="top left")  # fmt: skip
    fig.update_layout(barmode="group")
    fig.update_traces(cliponaxis=False)  # the value above a full-height bar stays readable
    top = max([v for values in groups.values() for v in values.values()] + [reference or 0.0])
    if top > 0:
        fig.update_yaxes(range=[0, top * 1.15])
    return _layout(fig, title, yaxis)


def curves(
    lines: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    xaxis: str,
    yaxis: str = "",
    errors: Mapping[str, Sequence[float]] | None = None,
    reference: float | None = None,
    reference_name: str = "",
    dashed: Sequence[str] = (),
) -> go.Figure:
    """One line per name through its ``(x, y)`` points; names in ``dashed`` are drawn dashed."""
    fig = go.Figure()
    for index, (name, points) in enumerate(lines.items()):
        trace = go.Scatter(
            name=name,
            x=[x for x, _ in points],
            y=[y for _, y in points],
            mode="lines+markers",
            line={"color": PALETTE[index % len(PALETTE)],
                  "dash": "dash" if name in dashed else "solid"},
        )  # fmt: skip
        if errors and name in errors:
            trace.error_y = {"type": "data", "array": list(errors[name])}
        fig.add_trace(trace)
    if reference is not None:
        fig.add_hline(y=reference, line_dash="dot", line_color="#888",
                      annotation_text=reference_name, annotation_position="top left")  # fmt: skip
    return _layout(fig, title, yaxis, xaxis)


def scatter(
    points: Mapping[str, Sequence[tuple[float, float, str]]],
    *,
    title: str,
    xaxis: str,
    yaxis: str,
    reference: float | None = None,
    reference_name: str = "",
    bound: float | None = None,
    bound_name: str = "",
    errors: Mapping[str, Sequence[float]] | None = None,
) -> go.Figure:
    """Labelled points ``(x, y, label)`` per series; ``reference`` a horizontal line, ``bound``
    a vertical one (a KL budget)."""
    fig = go.Figure()
    for index, (name, rows) in enumerate(points.items()):
        trace = go.Scatter(
            name=name,
            x=[x for x, _, _ in rows],
            y=[y for _, y, _ in rows],
            text=[label for _, _, label in rows],
            mode="markers+text",
            textposition="top center",
            marker={"size": 11, "color": PALETTE[index % len(PALETTE)]},
        )
        if errors and name in errors:
            trace.error_y = {"type": "data", "array": list(errors[name])}
        fig.add_trace(trace)
    if reference is not None:
        fig.add_hline(y=reference, line_dash="dash", line_color="#888",
                      annotation_text=reference_name, annotation_position="bottom right")  # fmt: skip
    if bound is not None:
        fig.add_vline(x=bound, line_dash="dot", line_color="#C44",
                      annotation_text=bound_name, annotation_position="top left")  # fmt: skip
    return _layout(fig, title, yaxis, xaxis)
