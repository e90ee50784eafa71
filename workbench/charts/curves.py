"""Training curves of one run: the losses on one chart, every other metric in small multiples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

Series = Sequence[tuple[float, float]]
"""Points ``(x, y)`` of one metric, in x order."""

MAX_PANELS = 8
"""Most metrics drawn as small multiples; the rest are left out (named in the title)."""


def is_loss(name: str) -> bool:
    """Whether a metric name looks like a loss (``train/loss``, ``val/loss``, ``aux_loss``...)."""
    return "loss" in name.lower()


def _empty(title: str, message: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=320,
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {
                "text": message,
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "font": {"size": 14, "color": "#888"},
            }
        ],
    )
    return fig


def loss_figure(
    metrics: Mapping[str, Series], *, title: str = "Loss", empty: str = "no loss logged yet"
) -> go.Figure:
    """One line per loss metric against the optimizer step (validation losses with markers);
    ``empty`` is what an empty chart says."""
    names = sorted(name for name in metrics if is_loss(name) and metrics[name])
    if not names:
        return _empty(title, empty)
    fig = go.Figure()
    for name in names:
        xs, ys = zip(*metrics[name], strict=True)
        sparse = len(xs) <= 50 or not name.startswith("train")
        fig.add_trace(
            go.Scatter(
                x=list(xs),
                y=list(ys),
                name=name,
                mode="lines+markers" if sparse else "lines",
            )
        )
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=360,
        xaxis_title="step",
        yaxis_title="loss",
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
    )
    return fig


def metrics_figure(metrics: Mapping[str, Series], *, title: str = "Other metrics") -> go.Figure:
    """Every metric that is not a loss in its own panel, sharing the step axis."""
    names = sorted(name for name in metrics if not is_loss(name) and metrics[name])
    if not names:
        return _empty(title, "no other metrics logged yet")
    shown, hidden = names[:MAX_PANELS], names[MAX_PANELS:]
    cols = 2 if len(shown) > 1 else 1
    rows = (len(shown) + cols - 1) // cols
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=shown, shared_xaxes=False)
    for index, name in enumerate(shown):
        xs, ys = zip(*metrics[name], strict=True)
        fig.add_trace(
            go.Scatter(x=list(xs), y=list(ys), name=name, mode="lines", showlegend=False),
            row=index // cols + 1,
            col=index % cols + 1,
        )
    if hidden:
        title = f"{title} (not shown: {', '.join(hidden)})"
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=max(260, 220 * rows),
        margin={"l": 50, "r": 20, "t": 60, "b": 30},
    )
    return fig
