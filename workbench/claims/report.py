"""``workbench report``: the claims panels as one self-contained HTML file.

plotly's JavaScript is inlined once (no CDN), so the file opens offline; each panel carries the
same figure the Claims tab draws, the claim, the measured figure, the verdict and the command
that would measure it."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime

from workbench.claims.check import ClaimPanel

VERDICT_COLOURS = {"holds": "#2e7d32", "does not hold": "#c62828", "not yet measured": "#757575"}

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
.panel { border: 1px solid #ddd; border-radius: 8px; padding: 1em 1.2em; margin: 1.2em 0; }
.paper { color: #666; font-size: 0.9em; margin: 0; }
.claim { font-size: 1.15em; margin: 0.3em 0 0.6em; }
.verdict { display: inline-block; color: #fff; border-radius: 4px; padding: 0.15em 0.6em;
           font-weight: 600; }
.measured { margin: 0.6em 0; }
code { background: #f4f4f4; padding: 0.1em 0.3em; border-radius: 3px; }
table { border-collapse: collapse; } td, th { padding: 0.2em 0.8em; text-align: left; }
"""


def verdict_badge(verdict: str) -> str:
    colour = VERDICT_COLOURS.get(verdict, "#555")
    return f'<span class="verdict" style="background:{colour}">{html.escape(verdict)}</span>'


def report_html(panels: Sequence[ClaimPanel], *, title: str, subtitle: str = "") -> str:
    """The whole page: every panel with its figure, plotly's JavaScript inlined once."""
    from plotly.offline import get_plotlyjs

    counts = {v: sum(p.verdict == v for p in panels) for v in VERDICT_COLOURS}
    summary = "".join(
        f"<tr><td>{html.escape(p.paper)}</td>"
        f'<td><a href="#claim-{html.escape(p.name)}">{html.escape(p.name)}</a></td>'
        f"<td>{verdict_badge(p.verdict)}</td></tr>"
        for p in panels
    )
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(subtitle)}</p>" if subtitle else "",
        "<p>" + " · ".join(f"{n} {html.escape(v)}" for v, n in counts.items()) + "</p>",
        f"<table><tr><th>paper</th><th>claim</th><th>verdict</th></tr>{summary}</table>",
    ]
    for panel in panels:
        figure = panel.figure.to_html(full_html=False, include_plotlyjs=False)
        runs = ", ".join(str(r) for r in panel.result.runs) or "none"
        label = "Measure it" if panel.verdict == "not yet measured" else "Measured with"
        command = (
            f"<p>{label}: <code>{html.escape(panel.result.command)}</code></p>"
            if panel.result.command
            else ""
        )
        body.append(
            f'<section class="panel" id="claim-{html.escape(panel.name)}">'
            f'<p class="paper">{html.escape(panel.paper)} · {html.escape(panel.name)}</p>'
            f'<p class="claim">{html.escape(panel.claim)}</p>'
            f"{verdict_badge(panel.verdict)}"
            f'<p class="measured">Measured: {html.escape(panel.result.measured)}</p>'
            f'{command}<p class="paper">Runs: {html.escape(runs)}</p>{figure}</section>'
        )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>'
        + "\n".join(body)
        + f'<p class="paper">Generated {generated} by workbench report.</p></body></html>\n'
    )
