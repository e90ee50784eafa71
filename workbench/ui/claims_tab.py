"""Claims tab: one panel per registered claim — the claim, the chart from the stored runs, the
measured figure and the verdict (holds, does not hold, not yet measured, with the command that
would measure it).

Panels come from the plugins (``register_claims``), so a new plugin's claim gets its panel with no
change here. The user picks the runs to judge (all succeeded runs by default). The same panels are
written to an offline HTML file by ``workbench report``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gradio as gr

from workbench.claims import ClaimPanel, check_claims, claim_specs, judged_runs
from workbench.ui.context import UIContext

VERDICT_COLOURS = {"holds": "#2e7d32", "does not hold": "#c62828", "not yet measured": "#757575"}


def badge(verdict: str) -> str:
    """The verdict as a coloured label (HTML inside the Markdown)."""
    colour = VERDICT_COLOURS.get(verdict, "#555")
    return (
        f'<span class="wb-verdict" style="background:{colour};color:#fff;padding:2px 10px;'
        f'border-radius:4px;font-weight:600">{verdict}</span>'
    )


def run_choices(ctx: UIContext) -> list[tuple[str, str]]:
    """Every succeeded run, newest first, as dropdown choices."""
    runs = sorted(judged_runs(ctx.store), key=lambda r: r.id, reverse=True)
    return [(f"{r.id} · {r.name} ({r.stage})", str(r.id)) for r in runs]


def picked_ids(picked: Sequence[Any] | None) -> list[int] | None:
    """The picked run ids; None (every run) when none is picked."""
    ids = []
    for value in picked or []:
        text = str(value).split("·")[0].strip()
        if text.isdigit():
            ids.append(int(text))
    return ids or None


def verdict_markdown(panel: ClaimPanel) -> str:
    """The verdict, the measured figure, the command and the runs, as Markdown."""
    result = panel.result
    lines = [
        f"### {badge(result.verdict)}",
        f"**Measured:** {result.measured}",
    ]
    if result.command:
        label = "Measure it" if result.verdict == "not yet measured" else "Measured with"
        lines.append(f"**{label}:** `{result.command}`")
    if result.runs:
        lines.append(f"Runs: {', '.join(str(r) for r in result.runs)}")
    return "\n\n".join(lines)


def header_markdown(paper: str, name: str, claim: str) -> str:
    return f"<small>{paper} · `{name}`</small>\n\n**{claim}**"


def summary_markdown(panels: Sequence[ClaimPanel], picked: list[int] | None) -> str:
    counts = {v: sum(p.verdict == v for p in panels) for v in VERDICT_COLOURS}
    which = "every succeeded run" if picked is None else f"runs {', '.join(map(str, picked))}"
    shown = " · ".join(f"{n} {badge(v)}" for v, n in counts.items())
    return f"{shown} — judged on {which}."


def refresh(ctx: UIContext, picked: Sequence[Any] | None) -> tuple[str, list[ClaimPanel]]:
    """The summary line and every panel, judged on the picked runs (all when none)."""
    ids = picked_ids(picked)
    panels = check_claims(ctx.registry, ctx.store, ids)
    return summary_markdown(panels, ids), panels


def build_claims_tab(ctx: UIContext, tab: gr.Tab | None = None) -> None:
    specs = claim_specs(ctx.registry)
    gr.Markdown(
        "Each claim of the papers, checked against the runs stored here — the demo's "
        "(`workbench demo`) or your own. A verdict is only as good as the runs behind it: pick "
        "the runs to judge, or leave the choice empty for every succeeded run. "
        "`workbench report -o claims.html` writes the same panels to one offline file."
    )
    with gr.Row():
        runs = gr.Dropdown(run_choices(ctx), value=[], multiselect=True, scale=4,
                           label="Runs to judge (empty: every succeeded run)",
                           allow_custom_value=True, elem_id="wb-claims-runs")  # fmt: skip
        again = gr.Button("Check the claims", variant="primary", scale=1,
                          elem_id="wb-claims-refresh")  # fmt: skip
    summary = gr.Markdown(elem_id="wb-claims-summary", sanitize_html=False)
    outputs: list[Any] = [summary]
    if not specs:
        gr.Markdown("No plugin registers a claim (see the Plugins tab).")
    for spec in specs:
        with gr.Group(elem_id=f"wb-claim-{spec.name}", elem_classes=["wb-claim"]):
            gr.Markdown(header_markdown(spec.paper, spec.name, spec.summary))
            with gr.Row():
                with gr.Column(scale=2):
                    verdict = gr.Markdown(elem_id=f"wb-claim-{spec.name}-verdict",
                                          sanitize_html=False)  # fmt: skip
                with gr.Column(scale=3):
                    plot = gr.Plot(show_label=False, elem_id=f"wb-claim-{spec.name}-plot")
        outputs += [verdict, plot]

    def on_refresh(picked: list | None) -> list[Any]:
        text, panels = refresh(ctx, picked)
        by_name = {panel.name: panel for panel in panels}
        values: list[Any] = [text]
        for spec in specs:
            panel = by_name.get(spec.name)
            values += [verdict_markdown(panel), panel.figure] if panel else ["", None]
        return values

    def on_choices(picked: list | None) -> Any:
        now = run_choices(ctx)
        ids = {value for _, value in now}
        return gr.update(choices=now, value=[v for v in picked or [] if v in ids])

    again.click(on_refresh, inputs=runs, outputs=outputs, api_name="claims")
    runs.change(on_refresh, inputs=runs, outputs=outputs, api_visibility="private")
    if tab is not None:
        tab.select(on_choices, inputs=runs, outputs=runs, api_visibility="private").then(
            on_refresh, inputs=runs, outputs=outputs, api_visibility="private"
        )
