"""Prompting tab (GPT-2/GPT-3): one task, one example, the literal zero-, one- and few-shot prompts
and each answer beside a fine-tuned model's answer; then accuracy against the number of in-context
examples for several runs, with the spread over demo-sampling seeds and the fine-tuned lines.

The tab knows no plugin: it runs the evaluation registered as ``few-shot`` through the registry
(as ``workbench evaluate`` does), on models loaded in the dashboard's process for forward passes
only, and reads stored results through the store. It relies on that evaluation's documented
contract (``docs/prompting.md``): options ``tasks``, ``shots``, ``seeds``, ``limit``, ``offset``
and ``instruction``; metrics ``acc/k=<k>``, ``acc_std/k=<k>``, ``acc/<task>/k=<k>`` and
``params``; and one ``log_sample(k, prompt, answer)`` per k for the first item scored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
import plotly.graph_objects as go

from workbench.charts.prompting import accuracy_curve, accuracy_vs_k_figure, evaluated_tasks
from workbench.config import ConfigError, validate_options
from workbench.registry import UnknownPluginError
from workbench.store import EvaluationRecord, RunNotFound, RunRecord
from workbench.ui.context import UIContext
from workbench.ui.generation import GenerationError
from workbench.ui.pickers import (
    parse_run_id,
    picked_run,
    playable_choices,
    playable_runs,
    refreshed_pick,
    run_label,
)

EVALUATION = "few-shot"
NO_RUN = "(none)"
ALL_TASKS = "(all tasks)"
DEFAULT_SHOTS = "0, 1, 2, 4, 8"
SCORES = {"acc": "exact match (generated)", "rank_acc": "ranked candidates"}


class PromptingError(ValueError):
    """Something the user can fix: no run chosen, no prompt tasks, the evaluation missing."""


# ---------------------------------------------------------------------------------------------
# Runs and their prompt tasks
# ---------------------------------------------------------------------------------------------


def finetuned_choices(ctx: UIContext) -> list[str]:
    """Ids of the runs offered as fine-tuned by default: those started from a parent run."""
    return [str(r.id) for r in playable_runs(ctx) if r.parent_id is not None]


def available(ctx: UIContext) -> bool:
    """Whether the tab has its evaluation: without a registered ``few-shot`` (the prompting plugin
    disabled or not installed) the dashboard leaves the tab out."""
    return EVALUATION in ctx.registry.names("evaluations")


def _run(ctx: UIContext, picked: Any) -> RunRecord:
    return picked_run(ctx, picked, PromptingError)


def _spec(ctx: UIContext) -> Any:
    try:
        return ctx.registry.evaluation(EVALUATION)
    except UnknownPluginError:
        raise PromptingError(
            f"no {EVALUATION!r} evaluation is registered (is the prompting plugin installed and "
            "enabled? see the Plugins tab)"
        ) from None


def _loaded(ctx: UIContext, run: RunRecord) -> Any:
    try:
        return ctx.models.load(run, ctx.paths, ctx.registry)
    except GenerationError as exc:
        raise PromptingError(str(exc)) from None


def _dataset(ctx: UIContext, loaded: Any) -> Any:
    from workbench.runner import build

    return build.build_dataset(loaded.resolved, ctx.registry, ctx.paths)


def _heldout(dataset: Any) -> dict[str, list[dict[str, str]]]:
    extras = getattr(dataset, "extras", None) or {}
    tasks = extras.get("prompt_tasks")
    if not tasks:
        raise PromptingError(
            "this run's dataset has no prompt tasks: prompting needs a run trained on the "
            "'synthetic' corpus (or a view of it such as 'prompt-task-text')"
        )
    return tasks


def prompt_tasks(ctx: UIContext, picked: Any) -> list[str]:
    """The prompt tasks of the picked run's corpus."""
    run = _run(ctx, picked)
    return list(_heldout(_dataset(ctx, _loaded(ctx, run))))


def selection(ctx: UIContext, picked: Any, task: str | None = None) -> Selection:
    """The tasks of the picked run and the examples of ``task`` (the first task when ``task``
    is not one of them): everything the One example pickers show for one choice, computed
    together so that the task shown and its examples always belong to each other."""
    heldout = _heldout(_dataset(ctx, _loaded(ctx, _run(ctx, picked))))
    tasks = list(heldout)
    chosen = task if task in heldout else (tasks[0] if tasks else None)
    examples = [
        (f"{i}: {item['input']} -> {item['output']}", str(i))
        for i, item in enumerate(heldout.get(chosen, []) if chosen else [])
    ]
    return Selection(tasks=tasks, task=chosen, examples=examples)


@dataclass
class Selection:
    tasks: list[str]
    task: str | None
    examples: list[tuple[str, str]]

    def updates(self) -> list[Any]:
        """Updates of the (task, example) dropdowns."""
        return [
            gr.update(choices=self.tasks, value=self.task),
            gr.update(choices=self.examples, value=self.examples[0][1] if self.examples else None),
        ]


def task_examples(ctx: UIContext, picked: Any, task: str | None) -> list[tuple[str, str]]:
    """``(label, index)`` of the held-out examples of ``task``: ``"3: trabo -> obart"``."""
    heldout = _heldout(_dataset(ctx, _loaded(ctx, _run(ctx, picked))))
    if task not in heldout:
        return []
    return [
        (f"{i}: {item['input']} -> {item['output']}", str(i))
        for i, item in enumerate(heldout[task])
    ]


# ---------------------------------------------------------------------------------------------
# Running the evaluation
# ---------------------------------------------------------------------------------------------


def evaluate(
    ctx: UIContext,
    run: RunRecord,
    options: dict[str, Any],
    log_sample: Callable[[int, str, str], None] | None = None,
    log_items: Callable[[list[dict[str, Any]]], None] | None = None,
) -> tuple[Any, dict[str, float]]:
    """Run the registered ``few-shot`` evaluation on ``run`` (forward passes only) as
    ``workbench evaluate`` does; returns the validated options and the metrics. ``log_items``
    receives every scored item."""
    from workbench.operations.evaluations import evaluation_context, metrics_of

    spec = _spec(ctx)
    try:
        config = validate_options(spec, options, "evaluation")
    except ConfigError as exc:
        raise PromptingError(str(exc)) from None
    arch = ctx.registry.architecture(run.architecture)
    if spec.requires and spec.requires not in arch.protocols:
        raise PromptingError(f"run {run.id}'s architecture {arch.name!r} is not a {spec.requires}")
    loaded = _loaded(ctx, run)
    dataset = _dataset(ctx, loaded)
    _heldout(dataset)
    context = evaluation_context(
        config,
        run,
        loaded,
        dataset,
        store=ctx.store,
        paths=ctx.paths,
        registry=ctx.registry,
        log_sample=log_sample,
        log_items=log_items,
    )
    return config, metrics_of(spec, context)


@dataclass
class Shot:
    """One prompt of the example view and the model's answer to it."""

    label: str
    prompt: str
    answer: str
    correct: bool


@dataclass
class ExampleView:
    task: str
    index: int
    input: str
    expected: str
    shots: list[Shot] = field(default_factory=list)
    finetuned: Shot | None = None
    run: str = ""
    """The run the answers came from (``"3 · name"``)."""

    def markdown(self) -> str:
        used = f"Run {self.run} — " if self.run else ""
        lines = [
            f"{used}task **{self.task}**, example {self.index}: `{self.input}` → `{self.expected}`",
            "",
        ]
        for shot in [*self.shots, *([self.finetuned] if self.finetuned else [])]:
            mark = "✓" if shot.correct else "✗"
            lines.append(f"- {shot.label}: `{shot.answer.strip() or '(empty)'}` {mark}")
        return "\n".join(lines)


def _shot_label(k: int) -> str:
    return {0: "zero-shot", 1: "one-shot"}.get(k, f"few-shot (k={k})")


def _one_example(
    ctx: UIContext, run: RunRecord, task: str, index: int, shots: Sequence[int], instruction: bool
) -> dict[int, tuple[str, str]]:
    samples: dict[int, tuple[str, str]] = {}

    def keep(k: int, prompt: str, text: str) -> None:
        samples[int(k)] = (prompt, text)

    options = {
        "tasks": [task],
        "shots": list(shots),
        "seeds": 1,
        "limit": 1,
        "offset": index,
        "instruction": instruction,
    }
    evaluate(ctx, run, options, keep)
    return samples


def example_view(
    ctx: UIContext,
    picked: Any,
    task: str | None,
    index: Any,
    few_k: Any = 4,
    finetuned: Any = None,
    instruction: bool = True,
) -> ExampleView:
    """The literal zero-, one- and ``few_k``-shot prompts of one held-out example, the picked
    run's answer to each, and the fine-tuned run's zero-shot answer."""
    run = _run(ctx, picked)
    heldout = _heldout(_dataset(ctx, _loaded(ctx, run)))
    if task not in heldout:
        raise PromptingError(f"choose a prompt task ({', '.join(heldout)})")
    try:
        i = int(index)
        item = heldout[task][i]
    except (TypeError, ValueError, IndexError):
        raise PromptingError(
            f"choose an example of {task} (0 to {len(heldout[task]) - 1})"
        ) from None
    k = max(2, int(few_k or 4))
    shots = [0, 1, k]
    view = ExampleView(
        task=task, index=i, input=item["input"], expected=item["output"], run=run_label(run)
    )
    samples = _one_example(ctx, run, task, i, shots, bool(instruction))
    for shot in shots:
        prompt, answer = samples.get(shot, ("", ""))
        view.shots.append(
            Shot(_shot_label(shot), prompt, answer, answer.strip() == item["output"].strip())
        )
    if parse_run_id(finetuned) is not None:
        tuned = _run(ctx, finetuned)
        prompt, answer = _one_example(ctx, tuned, task, i, [0], bool(instruction)).get(0, ("", ""))
        view.finetuned = Shot(
            f"fine-tuned {run_label(tuned)} (zero-shot)",
            prompt,
            answer,
            answer.strip() == item["output"].strip(),
        )
    return view


def parse_shots(text: Any) -> list[int]:
    """``"0, 1, 2, 4, 8"`` → ``[0, 1, 2, 4, 8]``."""
    try:
        shots = sorted({int(part) for part in str(text or "").replace(",", " ").split()})
    except ValueError:
        raise PromptingError(f"shots must be whole numbers such as {DEFAULT_SHOTS}") from None
    if not shots:
        raise PromptingError(f"name at least one k, e.g. {DEFAULT_SHOTS}")
    return shots


def evaluation_options(
    task: str | None, shots: Any, seeds: Any, limit: Any, instruction: bool, scoring: str = "acc"
) -> dict[str, Any]:
    """The ``few-shot`` options the aggregate section runs with."""
    options: dict[str, Any] = {
        "shots": parse_shots(shots),
        "seeds": int(seeds or 1),
        "instruction": bool(instruction),
        "scoring": "rank" if scoring == "rank_acc" else "generate",
    }
    if limit not in (None, "", 0):
        options["limit"] = int(limit)
    if task and task != ALL_TASKS:
        options["tasks"] = [task]
    return options


def evaluate_runs(
    ctx: UIContext,
    picked: Sequence[Any] | None,
    options: dict[str, Any],
    progress: Callable[[float, str], None] | None = None,
) -> Iterator[str]:
    """Run and store the ``few-shot`` evaluation for each picked run; yields a status line after
    each step. A run that fails is stored as a failed evaluation and the others go on."""
    from workbench.operations.evaluations import store_failure

    runs = [_run(ctx, value) for value in (picked or []) if parse_run_id(value) is not None]
    if not runs:
        raise PromptingError("choose one or more runs to evaluate")
    _spec(ctx)
    done: list[str] = []
    for number, run in enumerate(runs, start=1):
        head = f"run {run.id} ({run.name}), {number} of {len(runs)}"
        if progress is not None:
            progress((number - 1) / len(runs), f"evaluating {head}")
        yield "\n".join([*done, f"- evaluating {head} …"])

        def log_sample(step: int, prompt: str, text: str, run: RunRecord = run) -> None:
            ctx.store.add_sample(run.id, step=run.step, prompt=prompt, text=text)

        items: list[dict[str, Any]] = []
        try:
            config, metrics = evaluate(ctx, run, options, log_sample, items.extend)
        except Exception as exc:
            store_failure(ctx.store, run.id, EVALUATION, dict(options))
            done.append(f"- {head}: failed: {exc}")
            continue
        ctx.store.add_evaluation(
            run.id, name=EVALUATION, config=config.model_dump(mode="json"), metrics=metrics,
            items=items,
        )  # fmt: skip
        shots = ", ".join(
            f"k={k}: {metrics[f'acc/k={k}']:.2f}"
            for k in options["shots"]
            if f"acc/k={k}" in metrics
        )
        done.append(f"- {head}: done ({shots or 'stored'})")
        yield "\n".join(done)
    if progress is not None:
        progress(1.0, "done")
    yield "\n".join(done)


# ---------------------------------------------------------------------------------------------
# Stored results
# ---------------------------------------------------------------------------------------------


def latest_evaluation(
    ctx: UIContext, run_id: int, task: str | None = None, prefix: str = "acc"
) -> EvaluationRecord | None:
    """The run's newest succeeded ``few-shot`` evaluation; given a ``task``, the newest that
    scored it (an older full evaluation still serves after a newer one of another task)."""
    found = [
        e for e in ctx.store.evaluations(run_id) if e.name == EVALUATION and e.status == "succeeded"
    ]
    if task is not None:
        found = [e for e in found if accuracy_curve(e.metrics, task, prefix)]
    return found[-1] if found else None


ITEM_HEADERS = ["task", "k", "seed", "item", "prompt", "answer", "target", "ok"]
ALL_K = "all"


def evaluated_items(
    ctx: UIContext,
    picked: Any,
    task: str | None = None,
    k: Any = None,
    only_wrong: bool = False,
    limit: int = 500,
) -> tuple[str, list[list[Any]]]:
    """The items the run's newest ``few-shot`` evaluation scored, filtered by task and k:
    ``(note, rows)`` with rows in :data:`ITEM_HEADERS` order."""
    run = _run(ctx, picked)
    found = latest_evaluation(ctx, run.id)
    if found is None:
        return f"run {run.id} has no few-shot evaluation yet", []
    task = None if task in (None, "", ALL_TASKS) else str(task)
    shots = None if k in (None, "", ALL_K) else int(k)
    items = ctx.store.evaluation_items(
        found.id, task=task, k=shots, correct=False if only_wrong else None, limit=limit
    )
    rows = [
        [i.task, i.k, i.seed, i.item, i.prompt, i.answer, i.target, "✓" if i.correct else "✗"]
        for i in items
    ]
    if not rows and not ctx.store.evaluation_items(found.id, limit=1):
        return f"evaluation {found.id} logged no items (it predates item logging)", []
    more = f" (the first {limit})" if len(rows) == limit else ""
    return f"evaluation {found.id} of run {run.id}: {len(rows)} item(s){more}", rows


def _params_text(count: Any) -> str:
    if not isinstance(count, int | float) or count <= 0:
        return ""
    return f"{count / 1e6:.2f}M params" if count >= 1e5 else f"{count / 1e3:.1f}k params"


def curve_label(run: RunRecord, metrics: dict[str, Any]) -> str:
    """``"3 · name (0.80M params)"``: the run and, when the evaluation stored it, its size."""
    size = _params_text(metrics.get("params"))
    return f"{run_label(run)} ({size})" if size else run_label(run)


@dataclass
class Aggregate:
    """What the aggregate section shows."""

    figure: go.Figure
    headers: list[str]
    rows: list[list[str]]
    notes: str


def aggregate(
    ctx: UIContext,
    picked: Sequence[Any] | None,
    finetuned: Sequence[Any] | None = None,
    task: str | None = None,
    scoring: str = "acc",
) -> Aggregate:
    """Accuracy against k of the picked runs' latest ``few-shot`` evaluations, one curve each,
    with the fine-tuned runs' zero-shot accuracy as horizontal lines."""
    task = None if task in (None, "", ALL_TASKS) else task
    prefix = scoring if scoring in SCORES else "acc"
    curves: dict[str, list[tuple[int, float, float]]] = {}
    lines: dict[str, float] = {}
    notes: list[str] = []
    table: list[tuple[str, Any, dict[int, tuple[float, float]]]] = []
    for role, values in (("model", picked), ("fine-tuned", finetuned)):
        for value in values or []:
            run_id = parse_run_id(value)
            if run_id is None:
                continue
            try:
                run = ctx.store.get_run(run_id)
            except RunNotFound:
                continue
            record = latest_evaluation(ctx, run.id, task, prefix)
            if record is None:
                what = f" of {task}" if task else ""
                notes.append(f"run {run.id} has no {EVALUATION} evaluation{what} yet")
                continue
            label = curve_label(run, record.metrics)
            points = accuracy_curve(record.metrics, task, prefix)
            if not points:
                what = f"task {task}" if task else "this scoring"
                notes.append(f"run {run.id}'s evaluation has no results for {what}")
                continue
            name = label + ("" if role == "model" else " [fine-tuned]")
            scored = len(evaluated_tasks(record.metrics, prefix)) or "–"
            table.append((name, scored, {k: (m, s) for k, m, s in points}))
            if role == "model":
                curves[label] = points
            else:
                zero = [m for k, m, _ in points if k == 0]
                if zero:
                    lines[label] = zero[0]
                else:
                    notes.append(f"fine-tuned run {run.id} was not evaluated at k=0")
    ks = sorted({k for _, _, row in table for k in row})
    headers = ["run", "tasks", *[f"k={k}" for k in ks]]
    rows = [
        [label, str(n), *[f"{row[k][0]:.3f} ± {row[k][1]:.3f}" if k in row else "–" for k in ks]]
        for label, n, row in table
    ]
    title = f"{SCORES[prefix]} against k" + (f" — {task}" if task else " — mean over tasks")
    figure = accuracy_vs_k_figure(curves, lines, title=title, metric=SCORES[prefix])
    return Aggregate(figure=figure, headers=headers, rows=rows, notes="; ".join(notes))


# ---------------------------------------------------------------------------------------------
# Layout and wiring
# ---------------------------------------------------------------------------------------------


@dataclass
class ExampleSection:
    """The One example section's pickers: its run picker is the one the other sections follow."""

    run: gr.Dropdown
    task: gr.Dropdown
    example: gr.Dropdown
    tuned: gr.Dropdown


@dataclass
class AccuracySection:
    """The Accuracy against k section's run pickers and task choice."""

    runs: gr.Dropdown
    tuned_runs: gr.Dropdown
    chart_task: gr.Dropdown


EXAMPLE_QUEUE = {"concurrency_id": "wb-prompting-example", "trigger_mode": "multiple"}
"""How the One example events queue. The race of a slow run change with a quick task choice:
they run one at a time in the order they were triggered ("multiple": none is held back or
dropped while another is pending), and each answers for all it was given (the run and the
task), so the last choice made is the one left showing, with its own examples."""


def _selection_updates(ctx: UIContext, picked: Any, task: Any = None) -> list[Any]:
    """Updates of the task and example choices for the picked run (and task)."""
    if parse_run_id(picked) is None:
        return Selection([], None, []).updates()
    try:
        return selection(ctx, picked, task).updates()
    except PromptingError as exc:
        gr.Warning(str(exc))
        return Selection([], None, []).updates()


def _task_filter(ctx: UIContext, picked: Any, current: str) -> Any:
    """The picked run's prompt tasks as a task filter, keeping ``current`` when it is one."""
    try:
        tasks = prompt_tasks(ctx, picked) if parse_run_id(picked) is not None else []
    except PromptingError:
        tasks = []
    options = [ALL_TASKS, *tasks]
    return gr.update(choices=options, value=current if current in options else ALL_TASKS)


def _build_example_section(
    ctx: UIContext, choices: list[tuple[str, str]], tuned_ids: list[str]
) -> ExampleSection:
    """One held-out example: the literal zero-, one- and few-shot prompts and the answers."""
    with gr.Accordion("One example", open=True):
        with gr.Row():
            run = gr.Dropdown(choices, value=choices[0][1] if choices else None, label="Run",
                              allow_custom_value=True, scale=2,
                              elem_id="wb-prompt-run")  # fmt: skip
            task = gr.Dropdown([], value=None, label="Task", allow_custom_value=True, scale=1,
                               elem_id="wb-prompt-task")  # fmt: skip
            example = gr.Dropdown([], value=None, label="Example", allow_custom_value=True,
                                  scale=2, elem_id="wb-prompt-example")  # fmt: skip
            few_k = gr.Number(value=4, label="few-shot k", precision=0, minimum=2, scale=0)
            instruction = gr.Checkbox(value=True, label="instruction line", scale=0)
            tuned = gr.Dropdown(
                [(NO_RUN, NO_RUN), *choices],
                value=tuned_ids[0] if tuned_ids else NO_RUN,
                label="Fine-tuned run",
                allow_custom_value=True,
                scale=2,
            )
        show = gr.Button("Show prompts and answers", variant="primary", elem_id="wb-prompt-show")
        summary = gr.Markdown(elem_id="wb-prompt-summary")
        boxes = []
        with gr.Row():
            for label in ("zero-shot", "one-shot", "few-shot", "fine-tuned (zero-shot)"):
                with gr.Column():
                    prompt_box = gr.Textbox(label=f"{label} prompt", lines=10, interactive=False)
                    answer_box = gr.Textbox(label=f"{label} answer", lines=1, interactive=False)
                    boxes += [prompt_box, answer_box]

    def on_run(picked: Any) -> list[Any]:
        return _selection_updates(ctx, picked)

    def on_task(picked: Any, task_v: str | None) -> list[Any]:
        return _selection_updates(ctx, picked, task_v)

    def on_show(picked: Any, task_v: Any, index: Any, k: Any, tuned_v: Any, instr: bool) -> list:
        try:
            view = example_view(ctx, picked, task_v, index, k, tuned_v, instr)
        except (PromptingError, ValueError) as exc:
            raise gr.Error(str(exc)) from None
        values: list[Any] = [view.markdown()]
        for shot in [*view.shots, view.finetuned]:
            values += [shot.prompt, shot.answer] if shot else ["", ""]
        return values

    run.change(
        on_run, inputs=run, outputs=[task, example], api_visibility="private", **EXAMPLE_QUEUE
    )
    task.input(
        on_task, inputs=[run, task], outputs=[task, example], api_visibility="private",
        **EXAMPLE_QUEUE,
    )  # fmt: skip
    show.click(
        on_show,
        inputs=[run, task, example, few_k, tuned, instruction],
        outputs=[summary, *boxes],
        api_name="prompting_example",
        concurrency_id=EXAMPLE_QUEUE["concurrency_id"],
    )
    return ExampleSection(run=run, task=task, example=example, tuned=tuned)


def _build_accuracy_section(
    ctx: UIContext, choices: list[tuple[str, str]], tuned_ids: list[str]
) -> AccuracySection:
    """Accuracy against k for several runs, the fine-tuned lines, and the evaluation to run."""
    with gr.Accordion("Accuracy against k", open=True):
        with gr.Row():
            runs = gr.Dropdown(choices, value=[], multiselect=True, label="Runs (model sizes)",
                               allow_custom_value=True, scale=3,
                               elem_id="wb-prompt-runs")  # fmt: skip
            tuned_runs = gr.Dropdown(choices, value=tuned_ids, multiselect=True,
                                     label="Fine-tuned runs (lines)", allow_custom_value=True,
                                     scale=2)  # fmt: skip
            chart_task = gr.Dropdown([ALL_TASKS], value=ALL_TASKS, label="Task",
                                     allow_custom_value=True, scale=1)  # fmt: skip
            scoring = gr.Radio([(v, k) for k, v in SCORES.items()], value="acc", label="Scoring",
                               scale=1)  # fmt: skip
        with gr.Row():
            shots = gr.Textbox(value=DEFAULT_SHOTS, label="k values", scale=1)
            seeds = gr.Number(value=3, label="demo seeds", precision=0, minimum=1, scale=0)
            limit = gr.Number(value=20, label="items per task (empty: all)", precision=0, scale=0)
            eval_instruction = gr.Checkbox(value=True, label="instruction line", scale=0)
            refresh = gr.Button("Refresh chart", scale=0)
            run_eval = gr.Button("Run few-shot evaluation on the chosen runs", variant="primary",
                                 scale=1, elem_id="wb-prompt-evaluate")  # fmt: skip
        status = gr.Markdown(elem_id="wb-prompt-status")
        plot = gr.Plot(label="Accuracy against k", elem_id="wb-prompt-plot")
        table = gr.Dataframe(headers=["run"], label="Accuracy (mean ± std over demo seeds)",
                             interactive=False, wrap=True)  # fmt: skip

    def chart(picked: list, tuned_v: list, task_v: str, scoring_v: str) -> list[Any]:
        result = aggregate(ctx, picked, tuned_v, task_v, scoring_v)
        return [
            result.figure,
            gr.update(value=result.rows, headers=result.headers),
            f"_{result.notes}_" if result.notes else gr.skip(),
        ]

    def on_evaluate(
        picked: list, tuned_v: list, task_v: str, scoring_v: str, shots_v: str, seeds_v: Any,
        limit_v: Any, instr: bool, progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> Iterator[list[Any]]:  # fmt: skip
        try:
            options = evaluation_options(task_v, shots_v, seeds_v, limit_v, instr, scoring_v)
            targets = list(dict.fromkeys([*(picked or []), *(tuned_v or [])]))
            for line in evaluate_runs(ctx, targets, options, lambda f, d: progress(f, desc=d)):
                yield [line, gr.skip(), gr.skip()]
        except PromptingError as exc:
            raise gr.Error(str(exc)) from None
        result = aggregate(ctx, picked, tuned_v, task_v, scoring_v)
        yield [gr.skip(), result.figure, gr.update(value=result.rows, headers=result.headers)]

    gr.on(
        [runs.change, tuned_runs.change, chart_task.change, scoring.change, refresh.click],
        chart,
        inputs=[runs, tuned_runs, chart_task, scoring],
        outputs=[plot, table, status],
        api_name="prompting_chart",
    )
    run_eval.click(
        on_evaluate,
        inputs=[runs, tuned_runs, chart_task, scoring, shots, seeds, limit, eval_instruction],
        outputs=[status, plot, table],
        api_name="prompting_evaluate",
    )
    return AccuracySection(runs=runs, tuned_runs=tuned_runs, chart_task=chart_task)


def _build_items_section(ctx: UIContext, run: gr.Dropdown) -> None:
    """The items the newest few-shot evaluation of the run picked in ``run`` scored."""
    with gr.Accordion("Evaluated items", open=False):
        gr.Markdown(
            "Every prompt the newest few-shot evaluation of the run (chosen under *One "
            "example*) scored: the prompt as fed, the answer, the target."
        )
        with gr.Row():
            item_task = gr.Dropdown([ALL_TASKS], value=ALL_TASKS, label="Task",
                                    allow_custom_value=True, scale=1)  # fmt: skip
            item_k = gr.Dropdown([ALL_K, "0", "1", "2", "4", "8"], value=ALL_K, label="k",
                                 allow_custom_value=True, scale=0)  # fmt: skip
            item_wrong = gr.Checkbox(value=False, label="only wrong answers", scale=0)
            show_items = gr.Button("Show items", scale=0, elem_id="wb-prompt-items-show")
        items_note = gr.Markdown(elem_id="wb-prompt-items-note")
        items_table = gr.Dataframe(headers=ITEM_HEADERS, interactive=False, wrap=True)

    def on_items(picked: Any, task_v: Any, k_v: Any, wrong: bool) -> list[Any]:
        try:
            note, rows = evaluated_items(ctx, picked, task_v, k_v, wrong)
        except (PromptingError, ValueError) as exc:
            raise gr.Error(str(exc)) from None
        return [note, gr.update(value=rows, headers=ITEM_HEADERS)]

    def on_chart_choices(picked: Any, current: str) -> Any:
        return _task_filter(ctx, picked, current)

    run.change(on_chart_choices, inputs=[run, item_task], outputs=item_task,
               api_visibility="private")  # fmt: skip
    show_items.click(
        on_items,
        inputs=[run, item_task, item_k, item_wrong],
        outputs=[items_note, items_table],
        api_name="prompting_items",
    )


def _refresh_on_select(
    ctx: UIContext, tab: gr.Tab, example: ExampleSection, accuracy: AccuracySection
) -> None:
    """When the tab opens: every picker offers the runs there are now, and the first visit lists
    the preselected run's tasks."""

    def refresh_choices(
        picked: Any, picked_runs: list, picked_tuned: list, by_user: bool
    ) -> list[Any]:
        now = playable_choices(ctx)
        ids = [value for _, value in now]
        keep = refreshed_pick(picked, ids, by_user)
        return [
            gr.update(choices=now, value=keep),
            gr.update(choices=[(NO_RUN, NO_RUN), *now]),
            gr.update(choices=now, value=[v for v in picked_runs or [] if v in ids]),
            gr.update(choices=now, value=[v for v in picked_tuned or [] if v in ids]),
        ]

    def fill_tasks(picked: Any, task_v: Any) -> list[Any]:
        # The first visit lists the tasks of the preselected run (loading it once).
        return [gr.skip(), gr.skip()] if task_v else _selection_updates(ctx, picked)

    picked_by_user = gr.State(False)
    example.run.input(lambda: True, outputs=picked_by_user, api_visibility="private")
    tab.select(
        refresh_choices,
        inputs=[example.run, accuracy.runs, accuracy.tuned_runs, picked_by_user],
        outputs=[example.run, example.tuned, accuracy.runs, accuracy.tuned_runs],
        api_visibility="private",
    ).then(
        fill_tasks,
        inputs=[example.run, example.task],
        outputs=[example.task, example.example],
        api_visibility="private",
        concurrency_id=EXAMPLE_QUEUE["concurrency_id"],
    )


def build_prompting_tab(ctx: UIContext, tab: gr.Tab | None = None) -> None:
    """Lay out the tab's three sections (one example; accuracy against k; the evaluated items)
    and wire them; ``tab`` (when given) refreshes the run pickers whenever it is selected."""
    choices = playable_choices(ctx)
    tuned_ids = finetuned_choices(ctx)
    gr.Markdown(
        "Zero-, one- and few-shot prompting (GPT-3): the model sees *k* solved examples of a "
        "task, then a new input, and only forward passes run. Compare with a model fine-tuned "
        "on the task. Recipe in which in-context learning emerges on a CPU: "
        "`workbench run configs/prompting-icl.yaml` (and its smaller twin, see the config's "
        "header), then pick the runs below and run the evaluation."
    )
    example = _build_example_section(ctx, choices, tuned_ids)
    accuracy = _build_accuracy_section(ctx, choices, tuned_ids)
    _build_items_section(ctx, example.run)
    example.run.change(
        lambda picked, current: _task_filter(ctx, picked, current),
        inputs=[example.run, accuracy.chart_task],
        outputs=accuracy.chart_task,
        api_visibility="private",
    )
    if tab is not None:
        _refresh_on_select(ctx, tab, example, accuracy)
