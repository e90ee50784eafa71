"""Attention maps as plotly heatmaps: one figure per attention kind, a grid of layers x heads.

Pure functions of plain data (nested lists or arrays of weights and token labels), so the CLI
(``workbench attention``) and the UI draw the same figures. Token labels may repeat (the same word
twice in a sentence), so the axes are numeric positions with the tokens as tick text.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.charts.heatmaps import tick_positions

__all__ = [
    "ATTENTION_KINDS",
    "attention_figure",
    "attention_figures",
    "figures_html",
    "token_label",
]

ATTENTION_KINDS: dict[str, tuple[str, str, str]] = {
    "encoder_self": ("Encoder self-attention", "source (query)", "source (key)"),
    "decoder_self": ("Decoder self-attention", "producing", "decoder input"),
    "cross": ("Encoder-decoder (cross) attention", "producing", "source"),
}
"""Kind -> (title, query axis, key axis), in display order."""


def token_label(text: str) -> str:
    """A visible label for one token's text: spaces as ``␣``, newlines as ``⏎``."""
    if text == "":
        return "∅"
    return text.replace(" ", "␣").replace("\n", "⏎")


def attention_figure(
    title: str,
    layers: Sequence[Any],
    query_labels: Sequence[str],
    key_labels: Sequence[str],
    *,
    query_axis: str = "query",
    key_axis: str = "key",
    cell_px: int = 22,
) -> go.Figure:
    """A grid of heatmaps, one row per layer and one column per head.

    ``layers[i]`` holds the weights of layer ``i`` with shape ``(heads, queries, keys)``; rows of
    each heatmap are queries (top to bottom), columns keys; the colour scale is 0 to 1.
    """
    weights = [np.asarray(layer, dtype=float) for layer in layers]
    if not weights:
        raise ValueError(f"{title}: no layers to draw")
    n_layers, n_heads = len(weights), weights[0].shape[0]
    n_queries, n_keys = len(query_labels), len(key_labels)
    for index, layer in enumerate(weights):
        if layer.shape != (n_heads, n_queries, n_keys):
            raise ValueError(
                f"{title}: layer {index} has shape {layer.shape}, expected "
                f"({n_heads}, {n_queries}, {n_keys}) for {n_queries} query and {n_keys} key labels"
            )
    figure = make_subplots(
        rows=n_layers,
        cols=n_heads,
        subplot_titles=[
            f"layer {i + 1}, head {h + 1}" for i in range(n_layers) for h in range(n_heads)
        ],
        horizontal_spacing=min(0.08, 0.5 / max(1, n_heads)),
        vertical_spacing=min(0.12, 0.6 / max(1, n_layers)),
    )
    hover = [[f"{q} → {k}" for k in key_labels] for q in query_labels]
    # Past ~60 tokens, every n-th is labelled (hovering a cell still names both tokens).
    key_ticks, query_ticks = tick_positions(n_keys), tick_positions(n_queries)
    for row, layer in enumerate(weights):
        for h in range(n_heads):
            figure.add_trace(
                go.Heatmap(
                    z=layer[h],
                    zmin=0.0,
                    zmax=1.0,
                    colorscale="Viridis",
                    showscale=(row == 0 and h == 0),
                    customdata=hover,
                    hovertemplate="%{customdata}<br>weight %{z:.3f}<extra></extra>",
                ),
                row=row + 1,
                col=h + 1,
            )
            figure.update_xaxes(
                tickvals=key_ticks,
                ticktext=[key_labels[i] for i in key_ticks],
                tickangle=-60,
                tickfont={"size": 9},
                title_text=key_axis if row == n_layers - 1 else None,
                row=row + 1,
                col=h + 1,
            )
            figure.update_yaxes(
                tickvals=query_ticks,
                ticktext=[query_labels[i] for i in query_ticks],
                autorange="reversed",
                tickfont={"size": 9},
                title_text=query_axis if h == 0 else None,
                row=row + 1,
                col=h + 1,
            )
    cell_w = max(160, cell_px * n_keys + 80)
    cell_h = max(160, cell_px * n_queries + 80)
    figure.update_layout(
        title=title,
        width=min(4000, 100 + n_heads * cell_w),
        height=min(6000, 120 + n_layers * cell_h),
        margin={"l": 60, "r": 30, "t": 80, "b": 40},
    )
    return figure


def attention_figures(
    maps: Mapping[str, Sequence[Any]],
    source_tokens: Sequence[str],
    decoder_input_tokens: Sequence[str],
    output_tokens: Sequence[str],
) -> list[go.Figure]:
    """The figures of every kind present in ``maps`` (keys of :data:`ATTENTION_KINDS`).

    ``source_tokens`` label the encoder positions; ``decoder_input_tokens`` (``<bos>`` then the
    target) the decoder's keys; ``output_tokens`` (the target then ``<eos>``) the decoder's
    queries, each row being the step that produces that token.
    """
    labels = {
        "encoder_self": (source_tokens, source_tokens),
        "decoder_self": (output_tokens, decoder_input_tokens),
        "cross": (output_tokens, source_tokens),
    }
    figures = []
    for kind, (title, query_axis, key_axis) in ATTENTION_KINDS.items():
        if kind not in maps:
            continue
        queries, keys = labels[kind]
        figures.append(
            attention_figure(
                title,
                maps[kind],
                [token_label(t) for t in queries],
                [token_label(t) for t in keys],
                query_axis=query_axis,
                key_axis=key_axis,
            )
        )
    return figures


def figures_html(
    figures: Sequence[go.Figure], title: str, details: Mapping[str, str] | None = None
) -> str:
    """One self-contained HTML page (plotly.js inlined, so it opens offline) holding the figures
    under a heading and a table of ``details`` (e.g. the source, the output, the reference)."""
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:24px}td{padding:2px 12px 2px 0;"
        "vertical-align:top}td:first-child{font-weight:bold}</style>",
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if details:
        rows = "".join(
            f"<tr><td>{html.escape(key)}</td><td><code>{html.escape(value)}</code></td></tr>"
            for key, value in details.items()
        )
        parts.append(f"<table>{rows}</table>")
    for index, figure in enumerate(figures):
        parts.append(figure.to_html(full_html=False, include_plotlyjs=(index == 0)))
    parts.append("</body></html>")
    return "\n".join(parts)
