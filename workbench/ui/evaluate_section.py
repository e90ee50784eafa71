"""The run page's Evaluate section: run any registered evaluation that fits the run's model, with
a form generated from the evaluation's Config (as the New run tab's forms are), and read the
stored evaluation results with their samples.

An evaluation runs as ``workbench evaluate RUN NAME --set ...`` does: the run's model, tokenizer
and dataset are rebuilt from its stored config (here through the dashboard's model cache),
the options are validated by the evaluation's own Config (the CLI's error text), and the outcome
is stored with the run, failed ones with their traceback. Texts an evaluation logs with
``log_sample`` are stored as the run's samples, as the CLI stores them; an evaluation's samples
are the samples logged while it ran, and the items it scored (``log_items``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import gradio as gr

from workbench.config import ConfigError, validate_options
from workbench.registry import Registry, UnknownPluginError
from workbench.store import EvaluationRecord, RunNotFound, RunRecord, SampleRecord
from workbench.ui.context import UIContext
from workbench.ui.form_widgets import plugin_widgets
from workbench.ui.forms import PluginForm, describe_model
from workbench.ui.generation import GenerationError
from workbench.ui.pickers import picked_run

BLOCK = "evaluation"
EVALUATION_COLUMNS = ["id", "evaluation", "status", "when", "metrics"]
ITEM_COLUMNS = ["task", "k", "item", "prompt", "answer", "target", "ok"]
ITEMS_SHOWN = 200
METRICS_IN_TABLE = 4


class EvaluateError(ValueError):
    """Something the user can fix: no run, an evaluation that does not fit, a bad option."""


# ---------------------------------------------------------------------------------------------
# Handlers
# ---------------------------------------------------------------------------------------------


def evaluation_forms(registry: Registry) -> dict[str, PluginForm]:
    """A form for every registered evaluation, from its Config, by name."""
    forms = {}
    for name in registry.names("evaluations"):
        spec = registry.evaluation(name)
        forms[name] = PluginForm(BLOCK, name, spec.summary, tuple(describe_model(spec.config)))
    return forms


def fitting_evaluations(ctx: UIContext, run: RunRecord) -> list[str]:
    """The evaluations whose required protocol the run's architecture implements."""
    try:
        protocols = set(ctx.registry.architecture(run.architecture).protocols)
    except UnknownPluginError:
        return []
    return [
        name
        for name in ctx.registry.names("evaluations")
        if not ctx.registry.evaluation(name).requires
        or ctx.registry.evaluation(name).requires in protocols
    ]


def _run(ctx: UIContext, run_id: int | None) -> RunRecord:
    return picked_run(ctx, run_id, EvaluateError, "choose a run first")


@dataclass
class Outcome:
    """A finished evaluation: its stored row and what it logged."""

    evaluation_id: int
    name: str
    status: str
    metrics: dict[str, float]
    samples: list[tuple[str, str]]
    error: str = ""

    def markdown(self) -> str:
        if self.status != "succeeded":
            return f"**Evaluation {self.evaluation_id} ({self.name}) failed:** {self.error}"
        lines = [f"**Evaluation {self.evaluation_id} ({self.name}) stored.**", ""]
        lines += [f"- `{key}` {value:.4g}" for key, value in self.metrics.items()]
        return "\n".join(lines)


def run_evaluation(
    ctx: UIContext,
    run_id: int | None,
    name: str,
    options: dict[str, Any],
    progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Run the evaluation ``name`` with ``options`` on the run's model and store the outcome;
    :class:`EvaluateError` for a choice or option the user can fix (nothing stored then)."""
    from workbench.operations.evaluations import evaluate_and_store
    from workbench.runner import build

    run = _run(ctx, run_id)
    try:
        spec = ctx.registry.evaluation(name)
    except UnknownPluginError as exc:
        raise EvaluateError(str(exc)) from None
    if name not in fitting_evaluations(ctx, run):
        raise EvaluateError(
            f"evaluation {name!r} needs a {spec.requires!r} model; run {run.id}'s architecture "
            f"{run.architecture!r} is not one"
        )
    try:
        config = validate_options(spec, options, "evaluation")
    except ConfigError as exc:
        raise EvaluateError(str(exc)) from None
    try:
        loaded = ctx.models.load(run, ctx.paths, ctx.registry)
    except GenerationError as exc:
        raise EvaluateError(str(exc)) from None
    stored = evaluate_and_store(
        spec,
        config,
        run,
        loaded,
        lambda: build.build_dataset(loaded.resolved, ctx.registry, ctx.paths),
        store=ctx.store,
        paths=ctx.paths,
        registry=ctx.registry,
        progress=progress,
    )
    error = "" if stored.error is None else str(stored.error)
    return Outcome(
        stored.evaluation_id, spec.name, stored.status, stored.metrics, stored.samples, error
    )


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _metrics_text(metrics: dict[str, Any]) -> str:
    shown = list(metrics.items())[:METRICS_IN_TABLE]
    more = len(metrics) - len(shown)
    text = " · ".join(
        f"{k} {v:.4g}" if isinstance(v, int | float) else f"{k} {v}" for k, v in shown
    )
    return text + (f" · … {more} more" if more > 0 else "")


def evaluation_rows(ctx: UIContext, run_id: int | None) -> list[list[Any]]:
    """The run's stored evaluations, newest first, in :data:`EVALUATION_COLUMNS` order."""
    if run_id is None:
        return []
    return [
        [e.id, e.name, e.status, _when(e.created_at), _metrics_text(e.metrics)]
        for e in reversed(ctx.store.evaluations(run_id))
    ]


def evaluation_samples(
    ctx: UIContext, run: RunRecord, evaluation: EvaluationRecord
) -> list[SampleRecord]:
    """The samples logged while ``evaluation`` ran: the run's samples stored after the run ended
    (or after the evaluation before this one) and before this evaluation was stored."""
    earlier = [e.created_at for e in ctx.store.evaluations(run.id) if e.id < evaluation.id]
    after = max([*earlier, *([run.finished_at] if run.finished_at else [])], default=None)
    return [
        s
        for s in ctx.store.samples(run.id)
        if s.created_at <= evaluation.created_at and (after is None or s.created_at > after)
    ]


@dataclass
class EvaluationDetail:
    markdown: str
    items: list[list[Any]]


def evaluation_detail(ctx: UIContext, run_id: int | None, evaluation_id: Any) -> EvaluationDetail:
    """One stored evaluation: its options, every metric, its samples and the items it scored."""
    run = _run(ctx, run_id)
    try:
        wanted = int(evaluation_id)
    except (TypeError, ValueError):
        raise EvaluateError("choose a stored evaluation") from None
    found = next((e for e in ctx.store.evaluations(run.id) if e.id == wanted), None)
    if found is None:
        raise EvaluateError(f"run {run.id} has no evaluation {wanted}")
    lines = [f"#### Evaluation {found.id}: {found.name} — {found.status}", ""]
    options = ", ".join(f"`{k}={v}`" for k, v in found.config.items())
    lines.append(f"**options** {options or '(defaults)'}")
    if found.status == "failed":
        last = (found.error or "").strip().splitlines()[-1:] or [""]
        lines.append(f"\n**error** {last[0]}")
    if found.metrics:
        lines.append("")
        lines += [
            f"- `{k}` {v:.4g}" if isinstance(v, int | float) else f"- `{k}` {v}"
            for k, v in found.metrics.items()
        ]
    samples = evaluation_samples(ctx, run, found)
    lines.append("")
    if samples:
        lines.append(f"**samples** ({len(samples)})")
        for sample in samples:
            body = (sample.prompt + sample.text).replace("```", "ʼʼʼ")
            lines.append(f"```text\n{body or '(empty)'}\n```")
    else:
        lines.append("_This evaluation logged no samples._")
    items = ctx.store.evaluation_items(found.id, limit=ITEMS_SHOWN)
    rows = [
        [i.task, "" if i.k is None else i.k, "" if i.item is None else i.item, i.prompt,
         i.answer or "(empty)", i.target, "✓" if i.correct else "✗"]
        for i in items
    ]  # fmt: skip
    if rows:
        more = f" (the first {ITEMS_SHOWN})" if len(rows) == ITEMS_SHOWN else ""
        lines.append(f"\n**scored items** below{more}")
    return EvaluationDetail("\n".join(lines), rows)


# ---------------------------------------------------------------------------------------------
# Layout and wiring
# ---------------------------------------------------------------------------------------------


@dataclass
class EvaluateSection:
    """The section's components; :meth:`refresh` fills it for a run."""

    choice: gr.Dropdown
    rows: gr.Dataframe
    note: gr.Markdown

    def outputs(self) -> list[Any]:
        return [self.choice, self.rows, self.note]


def refresh_values(ctx: UIContext, run_id: int | None, current: Any = None) -> list[Any]:
    """Updates of (evaluation choice, stored evaluations, note) for the run ``run_id``."""
    if run_id is None:
        return [gr.update(choices=[], value=None), [], "_Choose a run first._"]
    try:
        run = ctx.store.get_run(run_id)
    except RunNotFound:
        return [gr.update(choices=[], value=None), [], "_Run not found._"]
    names = fitting_evaluations(ctx, run)
    value = current if current in names else (names[0] if names else None)
    if run.status != "succeeded":
        note = f"_Run {run.id} is {run.status}: evaluations need a finished run's saved model._"
    elif not names:
        note = f"_No registered evaluation fits a {run.architecture!r} model._"
    else:
        note = f"_{len(names)} evaluation(s) fit this run's model._"
    return [gr.update(choices=names, value=value), evaluation_rows(ctx, run_id), note]


def build_evaluate_section(
    ctx: UIContext, picker: gr.Dropdown, parse: Callable[[Any], int | None]
) -> EvaluateSection:
    """Lay out the section inside the caller's layout and wire it to the run ``picker``."""
    forms = evaluation_forms(ctx.registry)
    with gr.Accordion("Evaluate", open=False, elem_id="wb-evaluate"):
        note = gr.Markdown("_Choose a run first._", elem_id="wb-evaluate-note")
        choice = gr.Dropdown(
            [], value=None, label="Evaluation", allow_custom_value=True,
            info="the registered evaluations that fit this run's model",
            elem_id="wb-evaluate-choice",
        )  # fmt: skip
        columns: list[gr.Column] = []
        inputs: list[Any] = []
        spans: dict[str, tuple[int, int]] = {}
        for name, form in forms.items():
            with gr.Column(visible=False) as column:
                gr.Markdown(f"_{form.summary}_")
                start = len(inputs)
                inputs.extend(plugin_widgets(form))
                spans[name] = (start, len(inputs))
            columns.append(column)
        start_button = gr.Button("Run evaluation", variant="primary", elem_id="wb-evaluate-run")
        status = gr.Markdown(elem_id="wb-evaluate-status")
        rows = gr.Dataframe(
            headers=EVALUATION_COLUMNS, label="Stored evaluations (click one for its samples)",
            interactive=False, wrap=True, elem_id="wb-evaluations",
        )  # fmt: skip
        detail = gr.Markdown(elem_id="wb-evaluation-detail")
        items = gr.Dataframe(headers=ITEM_COLUMNS, label="Scored items", interactive=False,
                             wrap=True, visible=False)  # fmt: skip
    section = EvaluateSection(choice=choice, rows=rows, note=note)
    names = list(forms)

    def show_form(chosen: Any) -> list[Any]:
        return [gr.update(visible=chosen == name) for name in names]

    def on_run(picked: Any, chosen: Any, *values: Any, progress=gr.Progress()) -> list[Any]:  # noqa: B008
        run_id = parse(picked)
        if chosen not in forms:
            raise gr.Error("choose an evaluation")
        begin, end = spans[chosen]
        options, problems = forms[chosen].options(values[begin:end])
        if problems:
            raise gr.Error("; ".join(f"{'.'.join(p)}: {m}" for p, m in problems))

        def report(done: int, total: int) -> None:
            progress((done, max(total, 1)), desc=chosen, unit="items")

        try:
            outcome = run_evaluation(ctx, run_id, str(chosen), options, report)
        except EvaluateError as exc:
            raise gr.Error(str(exc)) from None
        found = evaluation_detail(ctx, run_id, outcome.evaluation_id)
        return [
            outcome.markdown(),
            evaluation_rows(ctx, run_id),
            found.markdown,
            gr.update(value=found.items, visible=bool(found.items)),
        ]

    def on_row(picked: Any, evt: gr.SelectData) -> list[Any]:
        row = evt.row_value or []
        try:
            found = evaluation_detail(ctx, parse(picked), row[0] if row else None)
        except EvaluateError as exc:
            return [f"_{exc}_", gr.update(value=[], visible=False)]
        return [found.markdown, gr.update(value=found.items, visible=bool(found.items))]

    choice.change(show_form, inputs=choice, outputs=columns, api_visibility="private")
    start_button.click(
        on_run,
        inputs=[picker, choice, *inputs],
        outputs=[status, rows, detail, items],
        api_name="evaluate_run",
    )
    rows.select(on_row, inputs=picker, outputs=[detail, items], api_visibility="private")
    picker.change(
        lambda p, c: [*refresh_values(ctx, parse(p), c), "", "", gr.update(visible=False)],
        inputs=[picker, choice],
        outputs=[*section.outputs(), status, detail, items],
        api_visibility="private",
    )
    return section
