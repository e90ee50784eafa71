"""Runs tab: the table of runs, and one run's page with live curves and its actions.

The page shows the resolved config as YAML, plotly loss and metric curves (refreshed by a
``gr.Timer`` while the run is active), logged samples, artifacts, lineage, the traceback of a
failed run, and for seq2seq runs the attention maps of a chosen example
(:mod:`workbench.ui.attention_section`). Cancel and resume go through
:mod:`workbench.runner.launcher` (the UI never trains in its own process); delete asks for
confirmation and is refused while other runs name this one as their parent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import gradio as gr
import plotly.graph_objects as go
import yaml

from workbench.charts.curves import is_loss, loss_figure, metrics_figure, overoptimisation_figure
from workbench.runner import deletion, launcher, phase
from workbench.runner.phase import read_phase
from workbench.runner.reconcile import reconcile
from workbench.store import RUN_STATUSES, RunNotFound, RunRecord
from workbench.ui.attention_section import (
    AttentionSection,
    AttentionSectionState,
    AttentionView,
    attention_section_state,
    attention_view,
    build_attention_section,
)
from workbench.ui.context import UIContext
from workbench.ui.evaluate_section import build_evaluate_section
from workbench.ui.pickers import parse_run_id, run_choices
from workbench.ui.series import by_name

RUN_COLUMNS = [
    "id",
    "name",
    "stage",
    "architecture",
    "status",
    "progress",
    "last metrics",
    "parent",
]
ALL = "all"
COLUMN_WIDTHS = ["5%", "16%", "9%", "10%", "8%", "10%", "28%", "14%"]
TABLE_HEIGHT = 230
HIDDEN_METRICS = ("lr", "tokens", "epoch")
"""Metrics left out of the table's summary (still plotted on the run's page)."""
SAMPLES_SHOWN = 10
ACTIVE = ("queued", "running")
REFRESH_SECONDS = 2.0
"""How often the Runs tab refreshes while it is shown."""


# ---------------------------------------------------------------------------------------------
# Handlers: plain functions of their inputs and the context
# ---------------------------------------------------------------------------------------------


def progress_text(run: RunRecord) -> str:
    if run.max_steps:
        return f"{run.step}/{run.max_steps} ({100 * run.step // max(run.max_steps, 1)}%)"
    return str(run.step)


def metrics_summary(metrics: dict[str, float]) -> str:
    """The last value of each metric, losses first (``train/loss 1.23 · val/loss 1.31 · ...``)."""
    names = sorted(
        (k for k in metrics if k not in HIDDEN_METRICS), key=lambda k: (not is_loss(k), k)
    )
    return " · ".join(f"{k} {metrics[k]:.4g}" for k in names)


def runs_table(
    ctx: UIContext, status: str = ALL, stage: str = ALL, text: str = ""
) -> list[list[Any]]:
    """Rows of the runs table, newest first, filtered by status, stage and a search text.

    Runs whose process is gone (killed, machine rebooted) are marked ``interrupted`` first, as
    every CLI command does, so the table never shows a dead run as running."""
    reconcile(ctx.store, ctx.paths)
    runs = ctx.store.list_runs(
        status=None if status in ("", ALL, None) else status,
        stage=None if stage in ("", ALL, None) else stage,
        text=(text or "").strip() or None,
    )
    last = ctx.store.last_metrics([r.id for r in runs])
    names = {r.id: r.name for r in ctx.store.list_runs()} if any(r.parent_id for r in runs) else {}
    return [
        [
            r.id,
            r.name,
            r.stage,
            r.architecture,
            r.status,
            progress_text(r),
            metrics_summary(last.get(r.id, {})),
            parent_label(r.parent_id, names),
        ]
        for r in runs
    ]


def parent_label(parent_id: int | None, names: dict[int, str]) -> str:
    """``"3 · name"`` (``"3 (deleted)"`` when the parent is gone), or empty for no parent."""
    if parent_id is None:
        return ""
    name = names.get(parent_id)
    return f"{parent_id} · {name}" if name is not None else f"{parent_id} (deleted)"


def stage_choices(ctx: UIContext) -> list[str]:
    stages = set(ctx.registry.names("stages")) | {r.stage for r in ctx.store.list_runs()}
    return [ALL, *sorted(stages)]


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "–"


def _duration(run: RunRecord) -> str:
    if run.started_at is None:
        return "–"
    end = run.finished_at or datetime.now(run.started_at.tzinfo)
    seconds = int((end - run.started_at).total_seconds())
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


@dataclass
class RunPage:
    """Everything a run's page shows."""

    run: RunRecord
    header: str
    config_yaml: str
    loss: go.Figure
    metrics: go.Figure
    overoptimisation: go.Figure | None
    """Gold and proxy reward against KL (a PPO run's ``curve/*`` metrics), or None."""
    samples: str
    artifacts: list[list[Any]]
    lineage: list[list[Any]]
    traceback: str
    can_cancel: bool
    can_resume: bool
    can_delete: bool
    attention: AttentionSectionState


def _samples_markdown(ctx: UIContext, run_id: int) -> str:
    samples = ctx.store.samples(run_id)
    if not samples:
        return "_No samples logged yet._"
    parts = []
    for sample in reversed(samples[-SAMPLES_SHOWN:]):
        body = (sample.prompt + sample.text).replace("```", "ʼʼʼ")
        parts.append(f"**step {sample.step}**\n\n```text\n{body}\n```")
    more = len(samples) - SAMPLES_SHOWN
    if more > 0:
        parts.append(f"_…and {more} earlier sample(s)._")
    return "\n\n".join(parts)


def run_phase(ctx: UIContext, run: RunRecord) -> str | None:
    """What an active run that has made no step yet is doing (``"building the data (4 s)"``);
    None once it trains, or when it is not active."""
    if run.status not in ACTIVE or run.step > 0:
        return None
    found = read_phase(ctx.paths.run_dir(run.id))
    if found is None:
        return phase.STARTING
    return found.text()


def _header(ctx: UIContext, run: RunRecord) -> str:
    lines = [
        f"### Run {run.id} · {run.name} — {run.status}",
        f"**stage** {run.stage} · **architecture** {run.architecture} · **dataset** "
        f"{run.dataset} · **tokenizer** {run.tokenizer} · **seed** {run.seed}",
        f"**progress** step {progress_text(run)} · **device** {run.device or '–'} · "
        f"**created** {_when(run.created_at)} · **started** {_when(run.started_at)} · "
        f"**finished** {_when(run.finished_at)} · **duration** {_duration(run)}",
    ]
    description = run.config.get("description") if isinstance(run.config, dict) else None
    if description:
        lines.insert(1, f"_{description}_")
    now = run_phase(ctx, run)
    if now is not None:
        lines.insert(1, f"**phase** {now} — the curves appear with the first logged steps")
    if run.status in ("cancelled", "interrupted") and run.error:
        lines.append(f"**note** {run.error.strip().splitlines()[-1]}")
    return "\n\n".join(lines)


def _lineage(ctx: UIContext, run: RunRecord) -> list[list[Any]]:
    rows: list[list[Any]] = []
    if run.parent_id is not None:
        try:
            parent = ctx.store.get_run(run.parent_id)
            rows.append(["parent", parent.id, parent.name, parent.stage, parent.status])
        except RunNotFound:
            rows.append(["parent", run.parent_id, "(deleted)", "", ""])
    for child in ctx.store.children(run.id):
        rows.append(["child", child.id, child.name, child.stage, child.status])
    return rows


def run_page(ctx: UIContext, run_id: int) -> RunPage:
    """One run's page; :class:`RunNotFound` when there is no such run."""
    run = ctx.store.get_run(run_id)
    series = by_name(ctx.store.metrics(run_id))
    artifacts = [
        [a.kind, a.path, a.size, "" if a.step is None else a.step, a.sha256[:12]]
        for a in ctx.store.artifacts(run_id)
    ]
    checkpoint = ctx.paths.run_dir(run_id) / "checkpoints" / "last.ckpt"
    now = run_phase(ctx, run)
    if now is not None:
        empty = f"{now}…"
    elif run.status in ACTIVE:
        every = (run.config.get("trainer") or {}).get("log_every_n_steps", 10)
        empty = "training: the loss is logged " + (
            "every step" if every == 1 else f"every {every} steps"
        )
    else:
        empty = "no loss logged"
    return RunPage(
        run=run,
        header=_header(ctx, run),
        config_yaml=yaml.safe_dump(run.config, sort_keys=False, allow_unicode=True),
        loss=loss_figure(series, title=f"Loss — run {run.id}", empty=empty),
        metrics=metrics_figure(series),
        overoptimisation=overoptimisation_figure(series, title=f"Over-optimisation — run {run.id}"),
        samples=_samples_markdown(ctx, run_id),
        artifacts=artifacts,
        lineage=_lineage(ctx, run),
        traceback=run.error or "" if run.status == "failed" else "",
        can_cancel=run.status in ACTIVE,
        can_resume=run.status in launcher.RESUMABLE and checkpoint.is_file(),
        can_delete=run.status not in ACTIVE,
        attention=attention_section_state(ctx, run),
    )


def page_fingerprint(ctx: UIContext, run_id: int | None) -> tuple[Any, ...]:
    """Changes whenever the run's page would: status, progress, last update, sample count."""
    if run_id is None:
        return (None,)
    try:
        run = ctx.store.get_run(run_id)
    except RunNotFound:
        return (run_id, "missing")
    return (run.id, run.status, run.step, run.updated_at, run.finished_at, run_phase(ctx, run))


def cancel_run(ctx: UIContext, run_id: int | None) -> str:
    if run_id is None:
        return "Choose a run first."
    try:
        outcome = launcher.cancel(ctx.store, run_id)
    except (launcher.RunStateError, RunNotFound) as exc:
        return f"Refused: {exc}"
    if outcome == "cancelling":
        return f"Run {run_id}: asked to stop; it saves a checkpoint and ends cancelled."
    return f"Run {run_id}: {outcome}."


def resume_run(ctx: UIContext, run_id: int | None) -> str:
    if run_id is None:
        return "Choose a run first."
    try:
        run = ctx.store.get_run(run_id)
        launcher.prepare_resume(ctx.store, ctx.paths, run_id)
    except (launcher.RunStateError, RunNotFound) as exc:
        return f"Refused: {exc}"
    launcher.spawn(ctx.paths, run_id, resume=True, store=ctx.store)
    return f"Run {run_id}: resuming from step {run.step} in the background."


def delete_question(ctx: UIContext, run_id: int | None) -> tuple[str, bool]:
    """The confirmation text, and whether deleting can go ahead at all (the rules are
    :mod:`workbench.runner.deletion`'s, shared with ``workbench delete``)."""
    if run_id is None:
        return "Choose a run first.", False
    try:
        run = deletion.check_deletable(ctx.store, run_id)
    except (deletion.DeleteRefused, RunNotFound) as exc:
        return f"Refused: {exc}.", False
    return (
        f"Delete run {run.id} ({run.name}) with its metrics, samples and files under "
        f"`artifacts/runs/{run.id}`? This cannot be undone.",
        True,
    )


def delete_run(ctx: UIContext, run_id: int | None) -> str:
    """Delete a finished run and its files; refused for active runs and runs with children."""
    message, allowed = delete_question(ctx, run_id)
    if not allowed or run_id is None:
        return message
    try:
        deletion.delete_run(ctx.store, ctx.paths, run_id)
    except (deletion.DeleteRefused, RunNotFound) as exc:
        return f"Refused: {exc}."
    return f"Run {run_id} deleted."


def clone_config(ctx: UIContext, run_id: int) -> dict[str, Any]:
    """A run's resolved config, renamed, to start a New run from."""
    run = ctx.store.get_run(run_id)
    config = dict(run.config)
    config["name"] = f"{run.name}-copy"
    return config


# ---------------------------------------------------------------------------------------------
# Layout and wiring
# ---------------------------------------------------------------------------------------------


@dataclass
class RunsTab:
    """Components other tabs link to."""

    picker: gr.Dropdown
    clone: gr.Button
    message: gr.Markdown
    timer: gr.Timer
    """Refreshes the tab; active only while the tab is shown (its ticks would otherwise clear
    the field errors Gradio shows in other tabs' forms)."""


@dataclass
class RunsTable:
    """The filters and the table of runs."""

    status: gr.Dropdown
    stage: gr.Dropdown
    text: gr.Textbox
    refresh: gr.Button
    table: gr.Dataframe

    @property
    def filters(self) -> list[Any]:
        return [self.status, self.stage, self.text]


@dataclass
class RunActions:
    """The run picker, the buttons that act on the picked run, and the deletion's confirmation."""

    picker: gr.Dropdown
    cancel: gr.Button
    resume: gr.Button
    clone: gr.Button
    delete: gr.Button
    message: gr.Markdown
    confirm_row: gr.Row
    confirm_text: gr.Markdown
    confirm: gr.Button
    keep: gr.Button


@dataclass
class RunPageView:
    """The picked run's page: header, curves, attention, samples, config, lineage, artifacts."""

    header: gr.Markdown
    loss_plot: gr.Plot
    metrics_plot: gr.Plot
    curve_plot: gr.Plot
    traceback: gr.Code
    attention: AttentionSection
    samples: gr.Markdown
    config: gr.Code
    lineage: gr.Dataframe
    artifacts: gr.Dataframe


def _build_table(ctx: UIContext) -> RunsTable:
    with gr.Row():
        status = gr.Dropdown([ALL, *RUN_STATUSES], value=ALL, label="Status", scale=1)
        stage = gr.Dropdown(
            stage_choices(ctx), value=ALL, label="Stage", allow_custom_value=True, scale=1
        )
        text = gr.Textbox(label="Search", placeholder="name, stage or architecture", scale=2)
        refresh = gr.Button("Refresh", scale=0)
    table = gr.Dataframe(
        headers=RUN_COLUMNS,
        value=runs_table(ctx),
        interactive=False,
        wrap=True,
        elem_id="wb-runs-table",
        label="Runs (click a row to open it)",
        column_widths=COLUMN_WIDTHS,
        # Short, so that a run's curves below stay in view (the table scrolls).
        max_height=TABLE_HEIGHT,
    )
    return RunsTable(status=status, stage=stage, text=text, refresh=refresh, table=table)


def _build_actions(ctx: UIContext) -> RunActions:
    with gr.Row():
        picker = gr.Dropdown(
            run_choices(ctx),
            value=None,
            label="Run",
            allow_custom_value=True,
            elem_id="wb-run-picker",
            scale=3,
        )
        cancel = gr.Button(
            "Cancel", variant="stop", interactive=False, scale=0, elem_id="wb-run-cancel"
        )
        resume = gr.Button("Resume", interactive=False, scale=0)
        clone = gr.Button("Clone into New run", interactive=False, scale=0)
        delete = gr.Button("Delete…", interactive=False, scale=0, elem_id="wb-run-delete")
    message = gr.Markdown(elem_id="wb-run-message")
    with gr.Row(visible=False) as confirm_row:
        confirm_text = gr.Markdown()
        confirm = gr.Button("Delete for good", variant="stop", scale=0, elem_id="wb-run-confirm")
        keep = gr.Button("Keep it", scale=0)
    return RunActions(
        picker=picker, cancel=cancel, resume=resume, clone=clone, delete=delete, message=message,
        confirm_row=confirm_row, confirm_text=confirm_text, confirm=confirm, keep=keep,
    )  # fmt: skip


def _build_page(ctx: UIContext, picker: gr.Dropdown) -> RunPageView:
    header = gr.Markdown("_Choose a run in the table above._", elem_id="wb-run-header")
    with gr.Row():
        loss_plot = gr.Plot(label="Loss", elem_id="wb-loss-plot")
        metrics_plot = gr.Plot(label="Metrics")
    curve_plot = gr.Plot(
        label="Over-optimisation curve", visible=False, elem_id="wb-overoptimisation-plot"
    )
    traceback = gr.Code(label="Traceback", visible=False, elem_id="wb-traceback")
    attention = build_attention_section()
    with gr.Accordion("Samples", open=True):
        samples = gr.Markdown()
    build_evaluate_section(ctx, picker, parse_run_id)
    with gr.Accordion("Resolved config", open=False):
        config = gr.Code(language="yaml", interactive=False)
    with gr.Accordion("Lineage (click to open)", open=False):
        lineage = gr.Dataframe(
            headers=["relation", "id", "name", "stage", "status"], interactive=False
        )
    with gr.Accordion("Artifacts", open=False):
        artifacts = gr.Dataframe(
            headers=["kind", "path", "bytes", "step", "sha256"], interactive=False
        )
    return RunPageView(
        header=header, loss_plot=loss_plot, metrics_plot=metrics_plot, curve_plot=curve_plot,
        traceback=traceback, attention=attention, samples=samples, config=config,
        lineage=lineage, artifacts=artifacts,
    )  # fmt: skip


def _page_outputs(page: RunPageView, actions: RunActions, seen: gr.State) -> list[Any]:
    """What :func:`page_values` fills, in its order."""
    return [
        page.header,
        page.config,
        page.loss_plot,
        page.metrics_plot,
        page.curve_plot,
        page.samples,
        page.artifacts,
        page.lineage,
        page.traceback,
        actions.cancel,
        actions.resume,
        actions.clone,
        actions.delete,
        page.attention.box,
        page.attention.note,
        page.attention.button,
        seen,
    ]


PAGE_OUTPUTS = 17
"""How many values :func:`page_values` returns (:func:`_page_outputs`)."""


def page_values(ctx: UIContext, picked: Any, last_seen: Any, force: bool = True) -> list[Any]:
    """The picked run's page as updates of :func:`_page_outputs`; every one skipped when the page
    has not changed since ``last_seen`` (its fingerprint) and ``force`` is off."""
    run_id = parse_run_id(picked)
    key = page_fingerprint(ctx, run_id)
    if not force and key == last_seen:
        return [gr.skip()] * PAGE_OUTPUTS
    if run_id is None or key[-1] == "missing":
        blank = "_Choose a run in the table above._" if run_id is None else "_Run not found._"
        off = gr.update(interactive=False)
        return [blank, "", None, None, gr.update(value=None, visible=False), "", [], [],
                gr.update(value="", visible=False),
                off, off, off, off, gr.update(visible=False), "", off, key]  # fmt: skip
    page = run_page(ctx, run_id)
    return [
        page.header,
        page.config_yaml,
        page.loss,
        page.metrics,
        gr.update(value=page.overoptimisation, visible=page.overoptimisation is not None),
        page.samples,
        page.artifacts,
        page.lineage,
        gr.update(value=page.traceback, visible=bool(page.traceback)),
        gr.update(interactive=page.can_cancel),
        gr.update(interactive=page.can_resume),
        gr.update(interactive=True),
        gr.update(interactive=page.can_delete),
        gr.update(visible=page.attention.visible),
        page.attention.note,
        gr.update(interactive=page.attention.ready),
        key,
    ]


def build_runs_tab(ctx: UIContext) -> RunsTab:
    """Lay out the table, the run's actions and its page, and wire them together."""
    runs = _build_table(ctx)
    actions = _build_actions(ctx)
    page = _build_page(ctx, actions.picker)
    timer = gr.Timer(REFRESH_SECONDS)
    seen = gr.State(None)
    page_outputs = _page_outputs(page, actions, seen)
    picker, table, filters = actions.picker, runs.table, runs.filters

    def show(picked: Any, last_seen: Any) -> list[Any]:
        return page_values(ctx, picked, last_seen)

    def tick(
        picked: Any, last_seen: Any, status_v: str, stage_v: str, text_v: str, known: Any
    ) -> list[Any]:
        choices = run_choices(ctx)
        changed = choices != known
        return [
            runs_table(ctx, status_v, stage_v, text_v),
            gr.update(choices=choices) if changed else gr.skip(),
            choices if changed else gr.skip(),
            *page_values(ctx, picked, last_seen, force=False),
        ]

    def refresh_all(picked: Any, status_v: str, stage_v: str, text_v: str) -> list[Any]:
        return [
            runs_table(ctx, status_v, stage_v, text_v),
            gr.update(choices=run_choices(ctx)),
            gr.update(choices=stage_choices(ctx)),
        ]

    def open_row(evt: gr.SelectData) -> Any:
        row = evt.row_value or []
        return str(row[0]) if row and parse_run_id(row[0]) is not None else gr.skip()

    def open_lineage(evt: gr.SelectData) -> Any:
        row = evt.row_value or []
        return str(row[1]) if len(row) > 1 and parse_run_id(row[1]) is not None else gr.skip()

    def ask_delete(picked: Any) -> list[Any]:
        text_v, allowed = delete_question(ctx, parse_run_id(picked))
        if not allowed:
            return [gr.update(visible=False), "", text_v]
        return [gr.update(visible=True), text_v, ""]

    def do_delete(picked: Any, status_v: str, stage_v: str, text_v: str) -> list[Any]:
        outcome = delete_run(ctx, parse_run_id(picked))
        deleted = outcome.endswith("deleted.")
        if deleted:
            gr.Info(outcome)
        return [
            gr.update(visible=False),
            outcome,
            runs_table(ctx, status_v, stage_v, text_v),
            gr.update(choices=run_choices(ctx), value=None) if deleted else gr.skip(),
        ]

    known_choices = gr.State(run_choices(ctx))
    private = {"api_visibility": "private"}
    runs.refresh.click(
        refresh_all, inputs=[picker, *filters], outputs=[table, picker, runs.stage], **private
    )
    gr.on(
        [runs.status.change, runs.stage.change, runs.text.submit],
        lambda s, g, t: runs_table(ctx, s, g, t),
        inputs=filters,
        outputs=table,
        api_name="runs_table",
    )
    timer.tick(
        tick,
        inputs=[picker, seen, *filters, known_choices],
        outputs=[table, picker, known_choices, *page_outputs],
        show_progress="hidden",
        **private,
    )
    picker.change(show, inputs=[picker, seen], outputs=page_outputs, api_name="run_page")
    # A message stays when the picker is emptied by the action it reports (a deletion).
    picker.change(
        lambda p: "" if parse_run_id(p) is not None else gr.skip(),
        inputs=picker,
        outputs=actions.message,
        show_progress="hidden",
        **private,
    )
    picker.change(
        lambda: AttentionView("").values(),
        outputs=page.attention.results,
        show_progress="hidden",
        **private,
    )
    table.select(open_row, outputs=picker, **private)
    page.lineage.select(open_lineage, outputs=picker, **private)
    actions.cancel.click(
        lambda p: cancel_run(ctx, parse_run_id(p)),
        inputs=picker,
        outputs=actions.message,
        api_name="cancel",
    ).then(show, inputs=[picker, seen], outputs=page_outputs, **private)
    actions.resume.click(
        lambda p: resume_run(ctx, parse_run_id(p)),
        inputs=picker,
        outputs=actions.message,
        api_name="resume",
    ).then(show, inputs=[picker, seen], outputs=page_outputs, **private)
    actions.delete.click(
        ask_delete,
        inputs=picker,
        outputs=[actions.confirm_row, actions.confirm_text, actions.message],
        **private,
    )
    actions.keep.click(lambda: gr.update(visible=False), outputs=actions.confirm_row, **private)
    actions.confirm.click(
        do_delete,
        inputs=[picker, *filters],
        outputs=[actions.confirm_row, actions.message, table, picker],
        api_name="delete",
    )
    page.attention.button.click(
        lambda p, split, index: attention_view(ctx, parse_run_id(p), split, index).values(),
        inputs=[picker, page.attention.split, page.attention.index],
        outputs=page.attention.results,
        api_name="attention_maps",
    )
    return RunsTab(picker=picker, clone=actions.clone, message=actions.message, timer=timer)
