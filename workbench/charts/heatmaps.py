"""Self-attention weights of one layer and head as a heatmap (rows attend to columns).

In the spirit of The Illustrated Transformer: each row is a query token, each column a key token,
and a cell's brightness is how much the row's token attends to the column's token.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

from workbench.charts.curves import _empty

MAX_LABELS = 60
"""Most token labels on an axis; past this, every n-th token is labelled."""
_VISIBLE = {" ": "␣", "\n": "⏎", "\t": "⇥", "": "∅"}


def token_label(text: str) -> str:
    """A token made readable on an axis: whitespace shown as symbols."""
    if text in _VISIBLE:
        return _VISIBLE[text]
    return text.replace("\n", "⏎").replace(" ", "␣")


def tick_positions(count: int, most: int = MAX_LABELS) -> list[int]:
    """The positions that get a token label: all up to ``most``, else every n-th (and the last),
    so that labels never overlap; hovering a cell still names both tokens."""
    if count <= most:
        return list(range(count))
    stride = math.ceil(count / most)
    ticks = list(range(0, count, stride))
    if ticks[-1] != count - 1:
        ticks.append(count - 1)
    return ticks


def attention_heatmap(
    weights: Sequence[Sequence[float]], tokens: Sequence[str], *, title: str
) -> go.Figure:
    """A ``T x T`` heatmap of ``weights[query][key]`` labelled with ``tokens``."""
    if not len(weights):
        return _empty(title, "generate some text first")
    positions = list(range(len(tokens)))
    labels = [token_label(t) for t in tokens]
    fig = go.Figure(
        go.Heatmap(
            z=[list(map(float, row)) for row in weights],
            x=positions,
            y=positions,
            colorscale="Blues",
            zmin=0.0,
            zmax=1.0,
            customdata=[[[labels[q], labels[k]] for k in positions] for q in positions],
            hovertemplate="%{customdata[0]} → %{customdata[1]}: %{z:.3f}<extra></extra>",
        )
    )
    ticks = tick_positions(len(tokens))
    axis = {
        "tickmode": "array",
        "tickvals": ticks,
        "ticktext": [labels[i] for i in ticks],
        "tickangle": 0,
    }
    size = max(360, min(900, 22 * len(tokens) + 140))
    fig.update_layout(
        title=title,
        template="plotly_white",
        width=size,
        height=size,
        xaxis={**axis, "title": "attends to (key)", "side": "top"},
        yaxis={**axis, "title": "token (query)", "autorange": "reversed"},
        margin={"l": 70, "r": 20, "t": 90, "b": 20},
    )
    return fig
