"""Runs tab: the table of runs with their status, progress and last metrics."""

from __future__ import annotations

import gradio as gr

from workbench.ui.context import UIContext

RUN_COLUMNS = [
    "id",
    "name",
    "stage",
    "architecture",
    "status",
    "step",
    "val/loss",
    "train/loss",
    "parent",
]


def runs_table(ctx: UIContext, status: str = "all", text: str = "") -> list[list]:
    """Rows of the runs table, newest first, filtered by status and a search text."""
    runs = ctx.store.list_runs(status=None if status in ("", "all") else status, text=text or None)
    last = ctx.store.last_metrics([r.id for r in runs])
    rows = []
    for r in runs:
        m = last.get(r.id, {})
        step = f"{r.step}/{r.max_steps}" if r.max_steps else str(r.step)
        rows.append(
            [
                r.id,
                r.name,
                r.stage,
                r.architecture,
                r.status,
                step,
                _fmt(m.get("val/loss")),
                _fmt(m.get("train/loss")),
                r.parent_id or "",
            ]
        )
    return rows


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def build_runs_tab(ctx: UIContext) -> None:
    with gr.Row():
        status = gr.Dropdown(
            ["all", "queued", "running", "succeeded", "failed", "cancelled", "interrupted"],
            value="all",
            label="Status",
        )
        text = gr.Textbox(label="Search", placeholder="name, stage or architecture")
        refresh = gr.Button("Refresh")
    table = gr.Dataframe(headers=RUN_COLUMNS, value=runs_table(ctx), interactive=False)
    timer = gr.Timer(2.0)

    def update(status_value: str, text_value: str) -> list[list]:
        return runs_table(ctx, status_value, text_value)

    for trigger in (refresh.click, status.change, text.submit, timer.tick):
        trigger(update, inputs=[status, text], outputs=table)
