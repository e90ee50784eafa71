"""``workbench demo``: the recipe (fast), the executor on tiny bigram runs (reuse by config,
parent links, --from, Ctrl-C and resume), and — marked slow — the real recipe end to end with
``--minutes 1``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from conftest import tiny_config
from demo_support import run_tiny_demo

from workbench.config import load_config
from workbench.demo import DEFAULT_MINUTES, recipe, step_keys
from workbench.demo.execute import Demo, DemoCancelled, DemoError, resolve_refs
from workbench.demo.progress import Display
from workbench.demo.recipe import Step
from workbench.paths import resolve_home
from workbench.registry import load_registry
from workbench.store import open_store

# -- the recipe --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.mark.parametrize("minutes", [1, DEFAULT_MINUTES, 30])
def test_every_run_of_the_recipe_validates_and_names_only_earlier_steps(registry, minutes):
    steps = recipe(minutes)
    keys = [s.key for s in steps]
    assert len(set(keys)) == len(keys)
    ids: dict[str, int] = {}
    for index, step in enumerate(steps):
        refs = json.dumps([step.config, step.options, step.dataset])
        for key in keys:
            if f'"@{key}"' in refs or step.run == key:
                assert key in keys[:index], f"{step.key} uses {key}, which comes later"
        if step.kind == "run":
            config = resolve_refs(step.config, ids)
            load_config(None, registry, [], raw=config)  # raises on a bad option
            ids[step.key] = index + 1
        elif step.kind == "evaluate":
            from workbench.config import validate_options

            spec = registry.evaluation(step.evaluation)
            validate_options(spec, resolve_refs(step.options, {**ids, "reward": 1}), "evaluation")
            if step.dataset:
                block = dict(step.dataset)
                validate_options(registry.dataset(block.pop("name")), block, "dataset")


def test_the_recipe_covers_the_lineage_and_scales_with_minutes():
    steps = {s.key: s for s in recipe()}
    stages = {s.config["stage"]["name"] for s in steps.values() if s.kind == "run"}
    assert {"pretrain", "finetune", "reward-model", "ppo", "dpo", "seq2seq"} <= stages
    assert {s.kind for s in steps.values()} == {"run", "evaluate", "pairs", "label"}
    # Every GPT run descends from the one pre-trained GPT, except the from-scratch twins and the
    # in-context learner (its own corpus of prompt documents).
    for step in steps.values():
        if step.kind == "run" and step.config["architecture"]["name"] == "gpt":
            parent = step.config["init_from"]
            assert parent == "@pretrain" or step.key in ("pretrain", "icl", *[
                k for k in steps if k.endswith("scratch")])  # fmt: skip
    icl = steps["icl"].config
    assert icl["dataset"]["prompt_fraction"] == 1.0 and icl["architecture"]["n_embd"] == 64
    assert steps["few-shot-icl"].run == "icl"
    # The default budget, as estimated, fits the 15 minutes on 2 cores.
    assert sum(s.seconds for s in steps.values()) / 60 <= 15

    def steps_of(minutes: float) -> int:
        return next(s for s in recipe(minutes) if s.key == "pretrain").config["stage"]["max_steps"]

    assert steps_of(1) < steps_of(DEFAULT_MINUTES) == 1500 < steps_of(30) == 3000
    small = next(s for s in recipe(1) if s.key == "pretrain").config
    assert small["architecture"]["n_layer"] < 4
    with pytest.raises(ValueError, match="minutes"):
        recipe(0)
    assert step_keys()[0] == "pretrain" and "transformer" in step_keys()


def test_resolve_refs():
    assert resolve_refs({"a": ["@x", {"b": "@y"}], "c": "x@"}, {"x": 1, "y": 2}) == {
        "a": [1, {"b": 2}],
        "c": "x@",
    }
    with pytest.raises(DemoError, match="no run yet"):
        resolve_refs("@z", {})


def test_cli_lists_the_stages_and_refuses_an_unknown_one(capsys):
    from workbench.cli import main

    assert main(["demo", "--list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("pretrain") and "ppo" in out
    with pytest.raises(SystemExit):
        main(["demo", "--from", "nonsense"])
    with pytest.raises(SystemExit):
        main(["demo", "--minutes", "x"])


# -- the executor on tiny runs -----------------------------------------------------------------


def tiny_steps(corpus: Path, max_steps: int = 30, **stage) -> list[Step]:
    lm = tiny_config(corpus, max_steps=max_steps, **stage)
    lm["name"] = "t-lm"
    child = tiny_config(corpus, max_steps=10, lr=1e-3)
    child["name"], child["init_from"] = "t-child", "@lm"
    return [
        Step("lm", "a bigram LM", "run", lm),
        Step("child", "its child", "run", child),
        Step("ppl", "perplexity of the child", "evaluate", run="child",
             evaluation="perplexity", options={"split": "val", "samples": 0}),
    ]  # fmt: skip


class Interrupting(Display):
    """A display that presses Ctrl-C once a run is a third done."""

    def advance(self, fraction: float, detail: str) -> None:
        super().advance(fraction, detail)
        if fraction > 0.3:
            raise KeyboardInterrupt


def run_demo(home: Path, steps, display_cls=Display, start=None) -> Demo:
    paths = resolve_home(home).ensure()
    with open_store(paths) as store, io.StringIO() as log:
        display = display_cls(steps, stream=io.StringIO(), enabled=False)
        demo = Demo(paths, store, load_registry(), steps, display=display, log=log)
        try:
            demo.run(start)
        finally:
            display.close()
    return demo


def test_the_chain_runs_once_and_a_second_call_reuses_everything(home, corpus):
    steps = tiny_steps(corpus)
    first = run_demo(home, steps)
    assert [o.action for o in first.outcomes] == ["ran", "ran", "ran"]
    with open_store(resolve_home(home)) as store:
        runs = {r.name: r for r in store.list_runs()}
        assert {r.status for r in runs.values()} == {"succeeded"}
        assert runs["t-child"].parent_id == runs["t-lm"].id
        assert store.metrics(runs["t-child"].id, "train/loss")
        assert [e.name for e in store.evaluations(runs["t-child"].id)] == ["perplexity"]
    second = run_demo(home, steps)
    assert [o.action for o in second.outcomes] == ["reused", "reused", "reused"]
    assert second.ids == first.ids
    with open_store(resolve_home(home)) as store:
        assert len(store.list_runs()) == 2 and len(store.evaluations(first.ids["child"])) == 1

    # --from child: the parent is looked up by name; the child's config changed, so it runs.
    changed = tiny_steps(corpus)
    changed[1].config["stage"]["max_steps"] = 12
    third = run_demo(home, changed, start="child")
    assert [o.action for o in third.outcomes] == ["reused", "ran", "ran"]
    assert third.ids["lm"] == first.ids["lm"] and third.ids["child"] != first.ids["child"]


def test_a_run_that_needs_labels_trains_without_them_while_there_are_too_few(home, corpus):
    """The reward model's step reads the annotator's labels; while fewer than MIN_LABELS name a
    winner (a tiny demo's GPT writes answers the rule cannot tell apart) its ``labels_*``
    options are dropped rather than failing the chain."""
    lm = tiny_config(corpus, max_steps=5)
    lm["name"] = "t-needs-labels"
    lm["dataset"]["labels_annotator"] = "factual-polite"  # text-file would refuse this option
    step = Step("lm", "a bigram LM", "run", lm, needs_labels="factual-polite")
    done = run_demo(home, [step])
    assert done.outcomes[0].action == "ran"
    assert "no labels: only 0 of factual-polite's name a winner" in done.outcomes[0].detail
    with open_store(resolve_home(home)) as store:
        (run,) = store.list_runs()
        assert run.status == "succeeded" and "labels_annotator" not in run.config["dataset"]
    assert run_demo(home, [step]).outcomes[0].action == "reused"


def test_from_a_stage_whose_earlier_runs_are_missing_is_refused(home, corpus):
    with pytest.raises(DemoError, match="without --from first"):
        run_demo(home, tiny_steps(corpus), start="child")


def test_ctrl_c_cancels_the_run_and_the_next_call_resumes_it(home, corpus):
    steps = tiny_steps(corpus, max_steps=60, name="slow-pretrain", step_sleep=0.05)[:1]
    with pytest.raises(DemoCancelled, match="cancelled"):
        run_demo(home, steps, display_cls=Interrupting)
    with open_store(resolve_home(home)) as store:
        (run,) = store.list_runs()
        assert run.status == "cancelled" and run.step > 0
    again = run_demo(home, steps)
    assert again.outcomes[0].action == "resumed" and again.ids["lm"] == run.id
    with open_store(resolve_home(home)) as store:
        assert store.get_run(run.id).status == "succeeded"


def test_a_failed_run_stops_the_chain_with_where_to_look(home, corpus):
    steps = tiny_steps(corpus, name="crashing-pretrain", crash_at_step=3)[:1]
    with pytest.raises(DemoError, match=r"step 'lm': run 1 \(t-lm\) failed: .*injected failure"):
        run_demo(home, steps)


# -- the real recipe, end to end ---------------------------------------------------------------


@pytest.mark.slow
def test_the_tiny_demo_runs_the_whole_lineage_and_a_second_call_starts_nothing(tmp_path):
    home = tmp_path / "home"
    done = run_tiny_demo(home)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "workbench ui" in done.stdout and "Claims" in done.stdout
    with open_store(resolve_home(home)) as store:
        runs = store.list_runs()
        stages = {r.stage for r in runs}
        assert {"pretrain", "finetune", "reward-model", "ppo", "dpo", "seq2seq"} <= stages
        root = next(r for r in runs if r.name == "demo-gpt")
        for run in runs:
            assert run.status == "succeeded", (run.name, run.error)
            assert store.metric_names(run.id), f"{run.name} stored no metrics"
            if run.stage != "seq2seq" and not run.name.endswith("scratch") and run is not root:
                assert run.parent_id == root.id, run.name
        evaluations = {r.id: len(store.evaluations(r.id)) for r in runs}
        assert sum(evaluations.values()) >= 9
        pairs = store.count_pairs()
        assert pairs > 0 and store.progress("factual-polite").labelled == pairs
    from workbench.cli import main

    report = tmp_path / "claims.html"
    assert main(["--home", str(home), "report", "-o", str(report)]) == 0
    page = report.read_text()
    assert page.count('class="panel"') >= 11 and "Plotly.newPlot" in page

    again = run_tiny_demo(home)
    assert again.returncode == 0, again.stderr[-3000:]
    assert " ran " not in again.stderr and " reused " in again.stderr
    with open_store(resolve_home(home)) as store:
        assert len(store.list_runs()) == len(runs)
        assert {r.id: len(store.evaluations(r.id)) for r in runs} == evaluations
        assert store.count_pairs() == pairs
