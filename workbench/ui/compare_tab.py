"""Compare tab: overlaid curves of chosen runs, their config differences, hyper-parameters
against a final metric (parallel coordinates), and the comparison as a CSV file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import plotly.graph_objects as go

from workbench.charts.compare import (
    CurvePoint,
    learning_curve_figure,
    overlay_figure,
    parallel_coordinates_figure,
)
from workbench.specs import LABELLED_TASK_ACCURACY
from workbench.store import RunNotFound, RunRecord
from workbench.ui.comparison import (
    config_differences,
    differing_keys,
    export_rows,
    flatten,
    hyperparameters,
    show,
    write_csv,
)
from workbench.ui.context import UIContext
from workbench.ui.pickers import parse_run_id, run_choices, run_label
from workbench.ui.series import TOKENS_METRIC, X_AXES, along, final_value

PREFERRED_METRICS = ("val/loss", "train/loss")

LABELS_METRIC = "train/records"
"""What a fine-tuning stage logs as its number of labelled training records (the ``finetune``
stage does): the x axis of the learning curve."""
VAL_ACCURACY = "val/accuracy"
NOT_A_LINE = (
    "name",
    "description",
    "seed",
    "init_from",
    "dataset.train_limit",
    "dataset.subset_seed",
)
"""Config keys that do not split the learning curve into lines: the labels are its x axis,
seeds are averaged, and pre-trained against scratch is said by the line's own name."""


@dataclass
class Comparison:
    """Everything the Compare tab shows for a choice of runs."""

    runs: list[RunRecord]
    metric: str | None
    metric_choices: list[str]
    curves: go.Figure
    diff_headers: list[str]
    diff_rows: list[list[str]]
    parallel: go.Figure
    notes: str


def chosen_runs(ctx: UIContext, picked: Sequence[Any] | None) -> list[RunRecord]:
    runs = []
    for value in picked or []:
        run_id = parse_run_id(value)
        if run_id is None:
            continue
        try:
            runs.append(ctx.store.get_run(run_id))
        except RunNotFound:
            continue
    return runs


def metric_choices(ctx: UIContext, runs: Sequence[RunRecord]) -> list[str]:
    names = sorted({n for r in runs for n in ctx.store.metric_names(r.id)} - {TOKENS_METRIC})
    first = [m for m in PREFERRED_METRICS if m in names]
    return first + [n for n in names if n not in first]


def compare(
    ctx: UIContext, picked: Sequence[Any] | None, metric: str | None, x_axis: str = "step"
) -> Comparison:
    """Compare the picked runs on ``metric`` (default: validation loss, else the first one)."""
    runs = chosen_runs(ctx, picked)
    choices = metric_choices(ctx, runs)
    if metric not in choices:
        metric = choices[0] if choices else None
    x_axis = x_axis if x_axis in X_AXES else "step"
    labels = [run_label(r) for r in runs]
    records = {r.id: ctx.store.metrics(r.id) for r in runs}
    notes = []
    curves: dict[str, list[tuple[float, float]]] = {}
    finals: list[float | None] = []
    for run, label in zip(runs, labels, strict=True):
        points = along(records[run.id], metric, x_axis) if metric else []
        curves[label] = points
        finals.append(final_value(records[run.id], metric) if metric else None)
        if metric and not points:
            why = "no token counts" if x_axis == "tokens" else f"no {metric}"
            notes.append(f"run {run.id} logged {why}")
    configs = [r.config for r in runs]
    headers, rows = config_differences(labels, configs)
    if len(runs) < 2:
        notes.insert(0, "choose two or more runs to compare them")
    return Comparison(
        runs=runs,
        metric=metric,
        metric_choices=choices,
        curves=overlay_figure(curves, metric or "metric", x_axis=x_axis),
        diff_headers=headers,
        diff_rows=rows,
        parallel=parallel_coordinates_figure(hyperparameters(configs), finals, metric or "metric"),
        notes="; ".join(notes),
    )


@dataclass
class LearningCurve:
    """Accuracy against the number of labelled training records, one line per group of runs."""

    figure: go.Figure
    lines: dict[str, list[CurvePoint]]
    y_title: str
    notes: str


def _accuracy_evaluations(ctx: UIContext) -> list[str]:
    """The registered evaluations of a run's labelled-task accuracy (``task-accuracy``)."""
    return ctx.registry.evaluations_measuring(LABELLED_TASK_ACCURACY)


def _test_accuracy(ctx: UIContext, run_id: int, names: Sequence[str]) -> float | None:
    """The accuracy of the run's latest evaluation among ``names`` (those of
    :func:`_accuracy_evaluations`) of its own whole test split."""
    for evaluation in reversed(ctx.store.evaluations(run_id)):
        config = evaluation.config or {}
        if (
            evaluation.name in names
            and evaluation.status == "succeeded"
            and config.get("split", "test") == "test"
            and config.get("max_records") is None
            and "dataset" not in config
            and "accuracy" in evaluation.metrics
        ):
            return float(evaluation.metrics["accuracy"])
    return None


def _line_label(ctx: UIContext, run: RunRecord, keys: Sequence[str]) -> str:
    """``pre-trained (<parent's name>)`` or ``from scratch``, then any other differing values."""
    parent = run.config.get("init_from")
    if run.parent_id is not None:
        try:
            parent = ctx.store.get_run(run.parent_id).name
        except RunNotFound:
            parent = parent or f"run {run.parent_id}"
    base = f"pre-trained ({parent})" if parent not in (None, "") else "from scratch"
    flat = flatten(run.config)
    extra = [f"{key}={show(flat[key])}" for key in keys if key in flat]
    return base + (f" · {', '.join(extra)}" if extra else "")


def learning_curve(ctx: UIContext, picked: Sequence[Any] | None) -> LearningCurve:
    """The picked fine-tuning runs as a learning curve: x = labelled training records (the
    ``train/records`` metric), y = test accuracy (each run's latest ``task-accuracy`` evaluation
    of its test split, or another that measures the labelled task's accuracy) when every such run
    has one, else the final validation accuracy. One line
    per pre-trained parent and one for the runs from scratch (and per any other differing config
    value but the seed); runs of the same line and x are averaged."""
    runs = chosen_runs(ctx, picked)
    names = _accuracy_evaluations(ctx)
    shown = " or ".join(names) or "an evaluation of the task's accuracy"
    usable: list[tuple[RunRecord, float, float | None, float | None]] = []
    skipped = []
    for run in runs:
        records = ctx.store.metrics(run.id)
        labels = final_value(records, LABELS_METRIC)
        if labels is None:
            skipped.append(str(run.id))
            continue
        usable.append(
            (run, labels, _test_accuracy(ctx, run.id, names), final_value(records, VAL_ACCURACY))
        )
    use_test = bool(usable) and all(test is not None for _, _, test, _ in usable)
    y_title = f"test accuracy ({shown})" if use_test else "validation accuracy (val/accuracy)"
    keys = [k for k in differing_keys([run.config for run, *_ in usable]) if k not in NOT_A_LINE]
    grouped: dict[str, dict[float, list[float]]] = {}
    for run, labels, test, val in usable:
        y = test if use_test else val
        if y is None:
            continue
        line = grouped.setdefault(_line_label(ctx, run, keys), {})
        line.setdefault(labels, []).append(y)
    lines: dict[str, list[CurvePoint]] = {}
    for label, by_x in grouped.items():
        points = []
        for x, ys in sorted(by_x.items()):
            mean = sum(ys) / len(ys)
            std = (sum((y - mean) ** 2 for y in ys) / (len(ys) - 1)) ** 0.5 if len(ys) > 1 else 0.0
            points.append((x, mean, std, len(ys)))
        lines[label] = points
    notes = []
    if skipped:
        notes.append(
            f"not on the learning curve (no {LABELS_METRIC}: not a fine-tuning run): "
            + ", ".join(skipped)
        )
    if usable and not use_test:
        notes.append(
            f"y is the final validation accuracy; evaluate every run with {shown} for test accuracy"
        )
    return LearningCurve(
        figure=learning_curve_figure(lines, y_title=y_title),
        lines=lines,
        y_title=y_title,
        notes="; ".join(notes),
    )


def export_csv(ctx: UIContext, picked: Sequence[Any] | None) -> Path | None:
    """The comparison as CSV (identity, differing config values, final value of every metric)."""
    runs = chosen_runs(ctx, picked)
    if not runs:
        return None
    finals = []
    for run in runs:
        records = ctx.store.metrics(run.id)
        finals.append({n: final_value(records, n) for n in {r.name for r in records}})
    headers, rows = export_rows(
        [
            {
                "id": r.id,
                "name": r.name,
                "status": r.status,
                "stage": r.stage,
                "architecture": r.architecture,
            }
            for r in runs
        ],
        [r.config for r in runs],
        finals,
    )
    ids = "-".join(str(r.id) for r in runs[:8])
    return write_csv(headers, rows, f"comparison-runs-{ids}.csv")


def build_compare_tab(ctx: UIContext, tab: gr.Tab) -> None:
    with gr.Row():
        picked = gr.Dropdown(
            run_choices(ctx),
            value=[],
            multiselect=True,
            allow_custom_value=True,
            label="Runs",
            elem_id="wb-compare-runs",
            scale=3,
        )
        metric = gr.Dropdown(
            [],
            value=None,
            label="Metric",
            allow_custom_value=True,
            elem_id="wb-compare-metric",
            scale=1,
        )
        x_axis = gr.Radio(list(X_AXES), value="step", label="x axis", scale=1)
    notes = gr.Markdown()
    curves = gr.Plot(label="Curves", elem_id="wb-compare-curves")
    diff = gr.Dataframe(
        headers=["key"], label="Config differences", interactive=False, wrap=True,
        elem_id="wb-compare-diff",
    )  # fmt: skip
    parallel = gr.Plot(label="Hyper-parameters against the final metric")
    curve_notes = gr.Markdown()
    curve = gr.Plot(label="Learning curve: accuracy against labels", elem_id="wb-compare-curve")
    with gr.Row():
        export = gr.Button("Export comparison as CSV", scale=0)
        csv_file = gr.File(label="CSV", interactive=False)

    def run(picked_v: list, metric_v: str | None, x_v: str) -> list[Any]:
        result = compare(ctx, picked_v, metric_v, x_v)
        return [
            gr.update(choices=result.metric_choices, value=result.metric),
            result.curves,
            gr.update(value=result.diff_rows, headers=result.diff_headers),
            result.parallel,
            f"_{result.notes}_" if result.notes else "",
        ]

    outputs = [metric, curves, diff, parallel, notes]
    gr.on(
        [picked.change, metric.input, x_axis.change],
        run,
        inputs=[picked, metric, x_axis],
        outputs=outputs,
        api_name="compare",
    )

    def draw_curve(picked_v: list) -> list[Any]:
        result = learning_curve(ctx, picked_v)
        return [result.figure, f"_{result.notes}_" if result.notes else ""]

    picked.change(
        draw_curve, inputs=picked, outputs=[curve, curve_notes], api_name="learning_curve"
    )

    def on_export(picked_v: list) -> str | None:
        path = export_csv(ctx, picked_v)
        return str(path) if path else None

    export.click(on_export, inputs=picked, outputs=csv_file, api_name="export")
    tab.select(
        lambda p: gr.update(choices=run_choices(ctx), value=p),
        inputs=picked,
        outputs=picked,
        api_visibility="private",
    )
