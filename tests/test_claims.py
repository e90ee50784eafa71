"""Claims: each built-in claim's verdict on runs written straight into a store (no training), a
third-party plugin's claim, a claim that fails, the report and the Claims tab's handlers."""

from __future__ import annotations

import re
import types
from typing import Any

import pytest

from workbench import hookimpl
from workbench.claims import check_claims
from workbench.claims.pick import twins
from workbench.claims.report import report_html
from workbench.paths import resolve_home
from workbench.registry import load_registry
from workbench.specs import ClaimResult, ClaimSpec
from workbench.store import open_store

BUILTIN_CLAIMS = {
    "attention-alone",
    "label-smoothing",
    "pretraining-helps",
    "auxiliary-lm-loss",
    "zero-shot",
    "few-shot-scaling",
    "finetune-vs-prompting",
    "transfer-ladder",
    "reward-model-accuracy",
    "ppo-bounded-kl",
    "over-optimisation",
}


@pytest.fixture(scope="module")
def registry():
    return load_registry(use_entry_points=True, modules=[])


@pytest.fixture
def store(tmp_path):
    with open_store(resolve_home(tmp_path / "home").ensure()) as store:
        yield store


def add_run(store, name: str, stage: str, *, parent: int | None = None, architecture="gpt",
            dataset="synthetic", options: dict[str, Any] | None = None,
            data: dict[str, Any] | None = None) -> int:  # fmt: skip
    """A succeeded run; ``options`` are its stage's, ``data`` its dataset's."""
    config = {
        "name": name,
        "seed": 0,
        "stage": {"name": stage, **(options or {})},
        "architecture": {"name": architecture},
        "tokenizer": {"name": "char"},
        "dataset": {"name": dataset, **(data or {})},
        "init_from": parent,
    }
    return store.create_run(
        name=name, stage=stage, architecture=architecture, dataset=dataset, tokenizer="char",
        config=config, seed=0, plugin_versions={}, package_versions={}, parent_id=parent,
        status="succeeded",
    )  # fmt: skip


def log(store, run_id: int, **values: float | list[float]) -> None:
    rows = []
    for name, value in values.items():
        series = value if isinstance(value, list) else [value]
        rows += [(step, name.replace("__", "/"), v, 0.0) for step, v in enumerate(series)]
    store.add_metrics(run_id, rows)


def verdicts(registry, store, run_ids=None) -> dict[str, str]:
    return {p.name: p.verdict for p in check_claims(registry, store, run_ids)}


def test_every_builtin_claim_is_registered_and_not_yet_measured_on_an_empty_home(registry, store):
    panels = check_claims(registry, store)
    assert {p.name for p in panels} == BUILTIN_CLAIMS
    for panel in panels:
        assert panel.verdict == "not yet measured", panel.name
        assert panel.result.command, f"{panel.name} names no command that would measure it"
        assert panel.figure is not None and panel.claim.endswith(".")
    # Ordered along the line of ideas: the Transformer first, RLHF last.
    assert panels[0].name == "attention-alone" and panels[-1].name == "over-optimisation"


def test_transformer_claims(registry, store):
    copy = add_run(store, "copy", "seq2seq", architecture="transformer", dataset="copy",
                   options={"label_smoothing": 0.1})  # fmt: skip
    log(store, copy, val__exact_match=[0.2, 0.97], val__bleu=[40.0, 99.0], val__ppl=[1.2, 1.1])
    assert verdicts(registry, store)["attention-alone"] == "holds"
    plain = add_run(store, "copy", "seq2seq", architecture="transformer", dataset="copy",
                    options={"label_smoothing": 0.0})  # fmt: skip
    log(store, plain, val__exact_match=0.95, val__bleu=97.0, val__ppl=1.05)
    assert verdicts(registry, store)["label-smoothing"] == "holds"  # BLEU 97 -> 99, ppl up
    log(store, plain, val__bleu=[97.0, 99.5])
    assert verdicts(registry, store)["label-smoothing"] == "does not hold"
    low = add_run(store, "short", "seq2seq", architecture="transformer", dataset="copy")
    log(store, low, val__exact_match=0.1)
    assert verdicts(registry, store, [low])["attention-alone"] == "does not hold"


def finetune(store, name, parent, labels=None, accuracy=0.5, lm_coef=0.5) -> int:
    dataset = {"task": "sentiment", **({"train_limit": labels} if labels else {})}
    run = add_run(store, name, "finetune", parent=parent, dataset="synthetic-task",
                  options={"lm_coef": lm_coef}, data=dataset)  # fmt: skip
    store.add_evaluation(run, name="task-accuracy", config={"split": "test"},
                         metrics={"accuracy": accuracy, "n": 500.0})  # fmt: skip
    return run


def test_gpt1_claims(registry, store):
    lm = add_run(store, "lm", "pretrain")
    finetune(store, "ft", lm, accuracy=0.95)
    finetune(store, "ft", None, accuracy=0.60)
    found = check_claims(registry, store)
    panel = next(p for p in found if p.name == "pretraining-helps")
    # Pre-training helps with all labels; its gain with few labels is not measured yet.
    assert panel.verdict == "not yet measured" and "+0.350" in panel.result.measured
    finetune(store, "ft-100", lm, labels=100, accuracy=0.85)
    finetune(store, "ft-100", None, labels=100, accuracy=0.45)
    assert verdicts(registry, store)["pretraining-helps"] == "holds"  # +0.40 at 100 vs +0.35
    finetune(store, "ft-100", None, labels=100, accuracy=0.70)  # a newer scratch twin
    assert verdicts(registry, store)["pretraining-helps"] == "does not hold"

    assert verdicts(registry, store)["auxiliary-lm-loss"] == "not yet measured"
    finetune(store, "ft", lm, accuracy=0.90, lm_coef=0.0)
    assert verdicts(registry, store)["auxiliary-lm-loss"] == "holds"  # 0.95 with, 0.90 without


def few_shot(store, run, metrics, **config) -> None:
    store.add_evaluation(run, name="few-shot", config={"choices": 4, **config}, metrics=metrics)


def test_prompting_claims(registry, store):
    small = add_run(store, "small", "pretrain")
    few_shot(store, small, {"rank_acc/k=0": 0.40, "items": 200.0, "params": 1e5,
                            "acc/k=0": 0.10, "acc/k=4": 0.20, "acc/first-letter/k=0": 0.1,
                            "acc/first-letter/k=4": 0.3})  # fmt: skip
    v = verdicts(registry, store)
    assert v["zero-shot"] == "holds"  # 0.40 ± 0.035 against chance 0.25
    assert v["few-shot-scaling"] == "not yet measured"  # rises by 0.10; one size only
    big = add_run(store, "big", "pretrain")
    few_shot(store, big, {"acc/k=0": 0.10, "acc/k=4": 0.45, "params": 1e6})
    assert verdicts(registry, store)["few-shot-scaling"] == "holds"
    few_shot(store, big, {"acc/k=0": 0.10, "acc/k=4": 0.12, "params": 1e6})
    assert verdicts(registry, store)["few-shot-scaling"] == "does not hold"
    # A model trained on another corpus is not another size of the same recipe: its larger
    # gain says nothing about size, so the claim waits for a second size of either recipe.
    only = [small]
    other = add_run(store, "icl", "pretrain", data={"prompt_fraction": 1.0})
    few_shot(store, other, {"acc/k=0": 0.30, "acc/k=8": 0.80, "params": 2e6})
    assert verdicts(registry, store, only + [other])["few-shot-scaling"] == "not yet measured"
    twin = add_run(store, "icl-small", "pretrain", data={"prompt_fraction": 1.0})
    few_shot(store, twin, {"acc/k=0": 0.30, "acc/k=8": 0.50, "params": 5e5})
    assert verdicts(registry, store, only + [other, twin])["few-shot-scaling"] == "holds"

    tuned = add_run(store, "tuned", "pretrain", parent=small, dataset="prompt-task-text",
                    data={"task": "first-letter"})  # fmt: skip
    few_shot(store, tuned, {"acc/first-letter/k=0": 0.55, "acc/k=0": 0.55}, shots=[0])
    v = verdicts(registry, store)
    assert v["finetune-vs-prompting"] == "holds"  # 0.55 against 0.30 at best
    # The fine-tuned run is not a zero-shot model: it is left out of the zero-shot claim.
    panel = next(p for p in check_claims(registry, store) if p.name == "zero-shot")
    assert tuned not in panel.result.runs


def test_transfer_claim(registry, store):
    for architecture, accuracy in (("word-vector-lstm", 0.6), ("lstm-lm", 0.7), ("gpt", 0.8)):
        parent = add_run(store, f"{architecture}-lm", "pretrain", architecture=architecture)
        run = add_run(store, architecture, "finetune", parent=parent, architecture=architecture,
                      dataset="synthetic-task", data={"task": "sentiment", "train_limit": 100})  # fmt: skip
        store.add_evaluation(run, name="task-accuracy", config={}, metrics={"accuracy": accuracy})
        if architecture == "lstm-lm":
            assert verdicts(registry, store)["transfer-ladder"] == "not yet measured"
    assert verdicts(registry, store)["transfer-ladder"] == "holds"


def test_rlhf_claims(registry, store):
    lm = add_run(store, "lm", "pretrain")
    rm = add_run(store, "rm", "reward-model", parent=lm)
    store.add_evaluation(rm, name="preference-accuracy", config={},
                         metrics={"accuracy": 0.8, "pairs": 300.0})  # fmt: skip
    ppo = add_run(store, "ppo", "ppo", parent=lm, options={"kl_coef": 0.1, "target_kl": 5.0})
    store.add_evaluation(ppo, name="win-rate", config={}, metrics={
        "gold/win_rate": 0.75, "gold/win_rate_se": 0.02, "kl": 7.5})  # fmt: skip
    log(store, ppo, curve__kl=[0.0, 2.0, 4.0, 6.0], curve__gold_win=[0.5, 0.6, 0.7, 0.72],
        curve__proxy_win=[0.5, 0.6, 0.7, 0.75])  # fmt: skip
    v = verdicts(registry, store)
    assert v["reward-model-accuracy"] == "holds"
    assert v["ppo-bounded-kl"] == "holds"
    assert v["over-optimisation"] == "not yet measured"  # KL-bounded runs never refute it
    nokl = add_run(store, "nokl", "ppo", parent=lm, options={"kl_coef": 0.0, "target_kl": None})
    log(store, nokl, curve__kl=[0.0, 5.0, 10.0, 20.0], curve__gold_win=[0.5, 0.7, 0.72, 0.74],
        curve__proxy_win=[0.5, 0.7, 0.8, 0.9])  # fmt: skip
    assert verdicts(registry, store)["over-optimisation"] == "does not hold"
    turned = add_run(store, "nokl", "ppo", parent=lm, options={"kl_coef": 0.0, "target_kl": None})
    log(store, turned, curve__kl=[0.0, 5.0, 10.0, 20.0], curve__gold_win=[0.5, 0.7, 0.72, 0.6],
        curve__proxy_win=[0.5, 0.7, 0.8, 0.9])  # fmt: skip
    assert verdicts(registry, store)["over-optimisation"] == "holds"
    store.add_evaluation(ppo, name="win-rate", config={}, metrics={
        "gold/win_rate": 0.75, "gold/win_rate_se": 0.02, "kl": 14.0})  # fmt: skip
    assert verdicts(registry, store)["ppo-bounded-kl"] == "does not hold"  # over the KL bound
    # Measured on the labeller's labels of other pairs too: both must hold.
    labels = {"name": "preference-labels", "annotator": "factual-polite"}
    store.add_evaluation(rm, name="preference-accuracy", config={"dataset": labels},
                         metrics={"accuracy": 0.55, "pairs": 100.0})  # fmt: skip
    panel = next(p for p in check_claims(registry, store) if p.name == "reward-model-accuracy")
    assert panel.verdict == "does not hold"
    assert "0.800" in panel.result.measured and "preference-labels (factual-polite)" in (
        panel.result.measured
    )


def test_twins_match_configs_that_differ_in_one_option_only(store):
    a = add_run(store, "a", "seq2seq", options={"label_smoothing": 0.0, "lr": 1})
    b = add_run(store, "b", "seq2seq", options={"label_smoothing": 0.1, "lr": 1})
    add_run(store, "c", "seq2seq", options={"label_smoothing": 0.1, "lr": 2})
    groups = twins(store.list_runs(), "stage.label_smoothing")
    assert [{k: r.id for k, r in g.items()} for g in groups] == [{0.0: a, 0.1: b}]


def test_a_plugin_adds_its_claim_and_a_broken_claim_does_not_take_the_others_down(store):
    from pydantic import BaseModel

    class Options(BaseModel):
        threshold: float = 0.5

    def mine(ctx):
        runs = [r for r in ctx.runs if r.stage == "pretrain"]
        if not runs:
            return ClaimResult("not yet measured", "no run", None, "workbench run x.yaml")
        loss = ctx.last(runs[-1].id, "val/loss")
        verdict = "holds" if loss < ctx.config.threshold else "does not hold"
        return ClaimResult(verdict, f"val loss {loss}", None, "", (runs[-1].id,))

    def broken(ctx):
        raise RuntimeError("boom")

    plugin = types.SimpleNamespace(
        register_claims=hookimpl(lambda register: [
            register(ClaimSpec(name="my-claim", summary="Mine.", config=Options, factory=mine,
                               paper="My paper", order=1)),
            register(ClaimSpec(name="broken-claim", summary="Broken.", config=Options,
                               factory=broken, paper="My paper", order=2)),
        ])
    )  # fmt: skip
    registry = load_registry(use_entry_points=False, modules=[], plugins=[("mine", plugin)])
    assert registry.owner("claims", "my-claim") == "mine"
    run = add_run(store, "lm", "pretrain")
    log(store, run, val__loss=0.3)
    panels = {p.name: p for p in check_claims(registry, store)}
    assert panels["my-claim"].verdict == "holds" and panels["my-claim"].figure is not None
    assert panels["broken-claim"].verdict == "not yet measured"
    assert "RuntimeError: boom" in panels["broken-claim"].result.measured


def test_claim_result_refuses_an_unknown_verdict():
    with pytest.raises(ValueError, match="verdict"):
        ClaimResult("maybe", "")


def test_the_report_is_one_offline_page_with_every_panel(registry, store):
    run = add_run(store, "copy", "seq2seq", architecture="transformer", dataset="copy")
    log(store, run, val__exact_match=1.0, val__bleu=100.0)
    page = report_html(check_claims(registry, store), title="Claims")
    assert page.count('class="panel"') == len(BUILTIN_CLAIMS)
    assert not re.search(r"<script[^>]*\bsrc=", page)  # no CDN: plotly.js is inlined
    assert "Plotly" in page and page.count("Plotly.newPlot") == len(BUILTIN_CLAIMS)
    assert "holds" in page and "not yet measured" in page


def test_report_command_writes_the_file(tmp_path, capsys):
    from workbench.cli import main

    out = tmp_path / "claims.html"
    assert main(["--home", str(tmp_path / "h"), "report", "-o", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert "11 claims" in capsys.readouterr().out
    assert main(["--home", str(tmp_path / "h"), "report", "-o", str(tmp_path)]) == 2


def test_claims_tab_handlers(registry, store, tmp_path):
    from workbench.ui.claims_tab import picked_ids, refresh, run_choices, verdict_markdown
    from workbench.ui.context import UIContext

    ctx = UIContext(paths=resolve_home(tmp_path / "home"), store=store, registry=registry)
    first = add_run(store, "copy", "seq2seq", architecture="transformer", dataset="copy")
    log(store, first, val__exact_match=1.0)
    second = add_run(store, "copy2", "seq2seq", architecture="transformer", dataset="copy")
    log(store, second, val__exact_match=0.1)
    assert [value for _, value in run_choices(ctx)] == [str(second), str(first)]
    assert picked_ids([]) is None and picked_ids([str(first), "2 · x"]) == [first, 2]
    text, panels = refresh(ctx, [str(second)])
    assert f"runs {second}" in text
    attention = next(p for p in panels if p.name == "attention-alone")
    assert attention.verdict == "does not hold"
    markdown = verdict_markdown(attention)
    assert "does not hold" in markdown and "0.100" in markdown
    _, panels = refresh(ctx, [])
    assert next(p for p in panels if p.name == "attention-alone").verdict == "holds"
