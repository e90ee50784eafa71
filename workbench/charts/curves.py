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


CURVE_PREFIX = "curve/"
"""Metrics of an over-optimisation curve (the ``ppo`` stage logs ``curve/kl``, ``curve/sqrt_kl``,
``curve/proxy``, ``curve/gold`` ... at the same step for each point)."""
WARNING_METRIC = "sentinel/warning"


def has_overoptimisation_curve(metrics: Mapping[str, Series]) -> bool:
    """Whether ``metrics`` hold an over-optimisation curve (KL and the proxy reward)."""
    return bool(metrics.get(f"{CURVE_PREFIX}kl")) and bool(metrics.get(f"{CURVE_PREFIX}proxy"))


def _curve_points(metrics: Mapping[str, Series], name: str) -> dict[float, float]:
    return dict(metrics.get(f"{CURVE_PREFIX}{name}", ()))


def overoptimisation_figure(
    metrics: Mapping[str, Series], *, title: str = "Over-optimisation: gold and proxy reward vs KL"
) -> go.Figure | None:
    """Gao et al.'s picture from a run's ``curve/*`` metrics: the proxy reward (the reward model)
    and the gold reward (the labeller's rule) of the policy's held-out answers against
    sqrt(KL to the reference), one point per curve step, each on its own y axis (their scales
    differ). Points where the reward-hacking sentinel warned are marked. None when the run logged
    no curve."""
    if not has_overoptimisation_curve(metrics):
        return None
    kl = _curve_points(metrics, "kl")
    steps = sorted(kl)
    sqrt_kl = _curve_points(metrics, "sqrt_kl")
    x = {s: sqrt_kl.get(s, max(kl[s], 0.0) ** 0.5) for s in steps}
    rollouts = _curve_points(metrics, "rollouts")

    def hover(step: float) -> str:
        done = rollouts.get(step)
        head = f"step {step:g}" if done is None else f"rollout {done:g} (step {step:g})"
        return f"{head}<br>KL {kl[step]:.2f} nats"

    fig = make_subplots(specs=[[{"secondary_y": True}]])
    drawn = (
        ("proxy", "proxy reward (reward model)", "#1f77b4", False),
        ("gold", "gold reward (labeller's rule)", "#d62728", True),
    )
    for name, label, colour, secondary in drawn:
        values = _curve_points(metrics, name)
        at = [s for s in steps if s in values]
        if not at:
            continue
        fig.add_trace(
            go.Scatter(
                x=[x[s] for s in at],
                y=[values[s] for s in at],
                name=label,
                mode="lines+markers",
                line={"color": colour},
                text=[hover(s) for s in at],
                hovertemplate="%{text}<br>" + name + " %{y:.3f}<extra></extra>",
            ),
            secondary_y=secondary,
        )
    warned = [s for s, v in metrics.get(WARNING_METRIC, ()) if v > 0 and s in x]
    if warned:
        proxy = _curve_points(metrics, "proxy")
        fig.add_trace(
            go.Scatter(
                x=[x[s] for s in warned],
                y=[proxy.get(s) for s in warned],
                name="sentinel warning",
                mode="markers",
                marker={"symbol": "x", "size": 12, "color": "black"},
                hovertemplate="sentinel warned<extra></extra>",
            ),
            secondary_y=False,
        )
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=360,
        legend={"orientation": "h", "y": -0.25},
        margin={"l": 50, "r": 50, "t": 50, "b": 40},
    )
    fig.update_xaxes(title_text="√KL to the reference (nats per answer)")
    fig.update_yaxes(title_text="proxy reward", secondary_y=False)
    fig.update_yaxes(title_text="gold reward", secondary_y=True)
    return fig
