"""The Prompting tab's handlers and figure builder, called directly (no browser).

Two finished runs are recorded with tiny saved GPTs (no training: the tab only needs a model, a
tokenizer and the run's dataset): a "pre-trained" run on the synthetic corpus, and a
"fine-tuned" child on the ``prompt-task-text`` view of the same corpus.
"""

from __future__ import annotations

import gradio as gr
import pytest
import torch
from ui_support import CORPUS, fake_finished_run, recorded_gpt_run, ui_home

from workbench.charts.prompting import accuracy_curve, accuracy_vs_k_figure, evaluated_tasks
from workbench.registry import load_registry
from workbench.ui import pickers
from workbench.ui import prompting_tab as pt
from workbench.ui.context import UIContext


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with ui_home(tmp_path_factory.mktemp("prompting-ui")) as ctx:
        base = recorded_gpt_run(ctx, "base", {"name": "synthetic", **CORPUS})
        tuned = recorded_gpt_run(
            ctx, "tuned", {"name": "prompt-task-text", "task": "reverse", **CORPUS}, base
        )
        yield ctx, base, tuned
    torch.set_num_threads(before)


def test_runs_tasks_and_examples(home):
    ctx, base, tuned = home
    ids = [value for _, value in pickers.playable_choices(ctx)]
    assert str(base) in ids and str(tuned) in ids
    assert pt.finetuned_choices(ctx) == [str(tuned)]
    tasks = pt.prompt_tasks(ctx, str(base))
    assert "reverse" in tasks and "capital-of" in tasks
    examples = pt.task_examples(ctx, str(base), "reverse")
    label, value = examples[0]
    assert value == "0" and " -> " in label
    assert pt.task_examples(ctx, str(base), "no-such-task") == []


def test_example_view_shows_the_literal_prompts_and_answers(home):
    ctx, base, tuned = home
    view = pt.example_view(ctx, str(base), "reverse", "3", 4, str(tuned), True)
    assert (view.task, view.index) == ("reverse", 3)
    assert view.expected == view.input[::-1]
    zero, one, few = view.shots
    assert zero.prompt == f"\n\nReverse the letters:\n{view.input} ->"
    assert [s.label for s in view.shots] == ["zero-shot", "one-shot", "few-shot (k=4)"]
    assert one.prompt.count(" -> ") == 1 and few.prompt.count(" -> ") == 4
    assert few.prompt.endswith(f"\n{view.input} ->")
    # The demonstrations of one example nest: the one-shot demo opens the few-shot prompt.
    assert few.prompt.startswith(one.prompt.removesuffix(f"{view.input} ->"))
    for shot in view.shots:
        assert "\n" not in shot.answer
        assert shot.correct == (shot.answer.strip() == view.expected)
    assert view.finetuned is not None and view.finetuned.prompt == zero.prompt
    assert "fine-tuned" in view.finetuned.label
    assert f"`{view.input}` → `{view.expected}`" in view.markdown()
    no_instruction = pt.example_view(ctx, str(base), "reverse", 3, 2, pt.NO_RUN, False)
    assert no_instruction.shots[0].prompt == f"\n\n{view.input} ->"
    assert no_instruction.finetuned is None


def test_example_view_refuses_bad_choices(home):
    ctx, base, _ = home
    with pytest.raises(pt.PromptingError, match="choose a finished run"):
        pt.example_view(ctx, None, "reverse", 0)
    with pytest.raises(pt.PromptingError, match="choose a prompt task"):
        pt.example_view(ctx, str(base), "nope", 0)
    with pytest.raises(pt.PromptingError, match="choose an example"):
        pt.example_view(ctx, str(base), "capital-of", 99)


def test_evaluate_runs_stores_results_and_the_chart_reads_them(home):
    ctx, base, tuned = home
    broken = fake_finished_run(ctx, "no-model")  # a bigram run row with no saved model
    options = pt.evaluation_options("reverse", "0, 1, 2", 2, 3, True)
    assert options == {
        "shots": [0, 1, 2], "seeds": 2, "instruction": True, "scoring": "generate", "limit": 3,
        "tasks": ["reverse"],
    }  # fmt: skip
    seen: list[float] = []
    lines = list(
        pt.evaluate_runs(
            ctx, [str(base), str(tuned), str(broken)], options, lambda f, d: seen.append(f)
        )  # fmt: skip
    )
    assert "evaluating run" in lines[0]
    assert f"run {base} (base), 1 of 3: done (k=0:" in lines[-1]
    assert f"run {broken} (no-model), 3 of 3: failed" in lines[-1]
    assert seen[0] == 0.0 and seen[-1] == 1.0
    record = pt.latest_evaluation(ctx, base)
    assert record is not None and record.config["shots"] == [0, 1, 2]
    assert {"acc/k=0", "acc_std/k=2", "acc/reverse/k=1", "params"} <= set(record.metrics)
    failed = [e for e in ctx.store.evaluations(broken) if e.name == "few-shot"]
    assert failed and failed[-1].status == "failed" and failed[-1].error
    assert pt.latest_evaluation(ctx, broken) is None
    # One literal sample per k was stored with the run.
    prompts = [s.prompt for s in ctx.store.samples(base)]
    assert any(p.startswith("\n\nReverse the letters:\n") for p in prompts)

    result = pt.aggregate(ctx, [str(base), str(broken)], [str(tuned)], "reverse")
    names = [trace.name for trace in result.figure.data]
    assert any(n.startswith(f"{base} · base (") and "params" in n for n in names)
    assert any("(fine-tuned, k=0)" in n for n in names)
    curve = next(t for t in result.figure.data if t.name.startswith(f"{base} · base"))
    assert list(curve.x) == [0, 1, 2]
    assert list(curve.y) == [record.metrics[f"acc/reverse/k={k}"] for k in (0, 1, 2)]
    assert list(curve.error_y.array) == [
        record.metrics[f"acc_std/reverse/k={k}"] for k in (0, 1, 2)
    ]
    assert result.headers == ["run", "tasks", "k=0", "k=1", "k=2"]
    assert result.rows[0][1] == "1"
    assert len(result.rows) == 2 and result.rows[1][0].endswith("[fine-tuned]")
    assert f"run {broken} has no few-shot evaluation of reverse yet" in result.notes
    # The mean over tasks is there too; a task the evaluation did not score is named in notes.
    assert pt.aggregate(ctx, [str(base)], [], pt.ALL_TASKS).rows
    assert "no few-shot evaluation of sort yet" in pt.aggregate(ctx, [str(base)], [], "sort").notes
    # A newer evaluation of another task does not hide the older one of this task.
    sort_only = pt.evaluation_options("sort", "0", 1, 1, True)
    assert "done" in list(pt.evaluate_runs(ctx, [str(base)], sort_only))[-1]
    again = pt.aggregate(ctx, [str(base)], [], "reverse")
    assert list(again.figure.data[0].y) == list(curve.y)
    assert pt.latest_evaluation(ctx, base).config["tasks"] == ["sort"]
    with pytest.raises(pt.PromptingError, match="choose one or more runs"):
        list(pt.evaluate_runs(ctx, [], options))


def test_evaluated_items_are_stored_and_filtered_by_task_and_k(home):
    ctx, base, _ = home
    options = pt.evaluation_options(pt.ALL_TASKS, "0, 2", 2, 2, False)
    assert "done" in list(pt.evaluate_runs(ctx, [str(base)], options))[-1]
    record = pt.latest_evaluation(ctx, base)
    tasks = [key.split("/")[1] for key in record.metrics if key.startswith("items/")]
    note, rows = pt.evaluated_items(ctx, str(base))
    assert f"evaluation {record.id} of run {base}" in note
    assert len(rows) == len(tasks) * 2 * (1 + 2)  # k=0 once, k=2 for two seeds
    assert all(len(row) == len(pt.ITEM_HEADERS) for row in rows)
    _, only = pt.evaluated_items(ctx, str(base), "reverse", "2")
    assert len(only) == 2 * 2 and {(r[0], r[1]) for r in only} == {("reverse", 2)}
    assert only[0][4].endswith(" ->") and only[0][7] in ("✓", "✗")
    _, wrong = pt.evaluated_items(ctx, str(base), only_wrong=True)
    assert all(r[7] == "✗" for r in wrong)
    assert ctx.store.evaluation_items(record.id, task="reverse", k=2)[0].target == only[0][6]


def test_missing_evaluation_plugin_is_reported(home, monkeypatch):
    ctx, base, _ = home
    monkeypatch.setenv("WORKBENCH_DISABLE_PLUGINS", "prompting")
    without = UIContext(paths=ctx.paths, store=ctx.store, registry=load_registry())
    with pytest.raises(pt.PromptingError, match="no 'few-shot' evaluation is registered"):
        pt.example_view(without, str(base), "reverse", 0)


def test_the_dashboard_leaves_the_tab_out_without_the_prompting_plugin(home, monkeypatch):
    from workbench.ui.app import build_app

    def tab_ids(ctx: UIContext) -> set[str]:
        app = build_app(ctx)
        return {getattr(block, "elem_id", None) for block in app.blocks.values()} - {None}

    ctx, _, _ = home
    assert pt.available(ctx)
    assert {"wb-tab-prompting", "wb-prompt-evaluate"} <= tab_ids(ctx)
    monkeypatch.setenv("WORKBENCH_DISABLE_PLUGINS", "prompting")
    without = UIContext(paths=ctx.paths, store=ctx.store, registry=load_registry())
    assert "few-shot" not in without.registry.names("evaluations")
    assert not pt.available(without)
    ids = tab_ids(without)  # builds without raising
    assert "wb-tab-runs" in ids and "wb-tab-plugins" in ids
    assert not {i for i in ids if i.startswith("wb-prompt")}


def test_parse_shots():
    assert pt.parse_shots("8, 0 1,1") == [0, 1, 8]
    with pytest.raises(pt.PromptingError):
        pt.parse_shots("a, b")
    with pytest.raises(pt.PromptingError):
        pt.parse_shots("")


def test_tab_builds(home):
    ctx, _, _ = home
    with gr.Blocks() as demo, gr.Tab("Prompting") as tab:
        pt.build_prompting_tab(ctx, tab)
    assert any(getattr(b, "elem_id", None) == "wb-prompt-evaluate" for b in demo.blocks.values())
    # The race of a slow run change with a quick task choice: the run change, the task choice,
    # the first visit's task list and Show run one at a time, in the order they were triggered,
    # and no selection is held back or dropped while another is pending.
    in_order = [fn for fn in demo.fns.values() if fn.concurrency_id == "wb-prompting-example"]
    assert len(in_order) == 4
    selections = [fn for fn in in_order if fn.trigger_mode == "multiple"]
    assert len(selections) == 2


def test_a_selection_is_answered_whole_so_an_older_one_cannot_mix_in(home):
    ctx, base, _ = home
    chosen = pt.selection(ctx, str(base), "capital-of")
    heldout = pt._heldout(pt._dataset(ctx, pt._loaded(ctx, ctx.store.get_run(base))))
    assert chosen.task == "capital-of" and "reverse" in chosen.tasks
    assert chosen.examples == [
        (f"{i}: {item['input']} -> {item['output']}", str(i))
        for i, item in enumerate(heldout["capital-of"])
    ]
    task_update, example_update = chosen.updates()
    assert task_update["value"] == "capital-of" and example_update["value"] == "0"
    fallback = pt.selection(ctx, str(base), "no-such-task")
    assert fallback.task == fallback.tasks[0]
    assert fallback.examples == pt.task_examples(ctx, str(base), fallback.task)
    with pytest.raises(pt.PromptingError):
        pt.selection(ctx, None, "reverse")


def test_show_names_the_run_task_and_example_it_used(home):
    ctx, base, _ = home
    view = pt.example_view(ctx, str(base), "sort", "1", 2, pt.NO_RUN, True)
    first = view.markdown().splitlines()[0]
    assert first.startswith(f"Run {base} · base — task **sort**, example 1: ")


# ---------------------------------------------------------------------------------------------
# The figure builder
# ---------------------------------------------------------------------------------------------

METRICS = {
    "acc/k=0": 0.1, "acc_std/k=0": 0.0, "acc/k=4": 0.5, "acc_std/k=4": 0.05, "acc/k=1": 0.3,
    "acc_std/k=1": 0.1, "acc/reverse/k=0": 0.0, "acc/reverse/k=4": 0.25,
    "acc_std/reverse/k=4": 0.02, "rank_acc/k=0": 0.4, "truncated/k=4": 0.0, "params": 1234.0,
}  # fmt: skip


def test_accuracy_curve_reads_the_naming_convention():
    assert accuracy_curve(METRICS) == [(0, 0.1, 0.0), (1, 0.3, 0.1), (4, 0.5, 0.05)]
    assert accuracy_curve(METRICS, "reverse") == [(0, 0.0, 0.0), (4, 0.25, 0.02)]
    assert accuracy_curve(METRICS, prefix="rank_acc") == [(0, 0.4, 0.0)]
    assert accuracy_curve(METRICS, "sort") == []
    assert evaluated_tasks(METRICS) == ["reverse"]


def test_accuracy_vs_k_figure():
    fig = accuracy_vs_k_figure(
        {"small": accuracy_curve(METRICS), "large": [(0, 0.2, 0.0), (4, 0.9, 0.1)]},
        {"tuned": 0.7},
        title="t",
    )
    assert [t.name for t in fig.data] == ["small", "large", "tuned (fine-tuned, k=0): 0.70"]
    small = fig.data[0]
    assert list(small.x) == [0, 1, 4] and list(small.error_y.array) == [0.0, 0.1, 0.05]
    line = fig.data[2]
    assert list(line.y) == [0.7, 0.7] and list(line.x) == [0, 4] and line.line.dash == "dash"
    assert list(fig.layout.xaxis.tickvals) == [0, 1, 4]
    empty = accuracy_vs_k_figure({"a": []}, {})
    assert "run the few-shot evaluation" in empty.layout.annotations[0].text
