"""GPT-1's claims (Radford et al. 2018), checked against stored ``finetune`` runs of a ``gpt``.

* ``pretraining-helps``: a fine-tuned pre-trained model beats its twin fine-tuned from scratch
  (the same config without ``init_from``), and by more when the labels are few
  (``dataset.train_limit``);
* ``auxiliary-lm-loss``: twins that differ only in ``lm_coef``: the one with the auxiliary LM loss
  is the more accurate.

Accuracy is a run's newest ``task-accuracy`` evaluation, else the last ``val/accuracy`` it logged.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from workbench.charts.claims import grouped_bars
from workbench.claims.pick import Measured, fmt, option, task_accuracy, twins
from workbench.specs import ClaimContext, ClaimResult, ClaimSpec
from workbench.store import RunRecord

PAPER = "GPT-1 (Radford et al. 2018)"
PRETRAIN = (
    "workbench run configs/gpt1-pretrain.yaml && workbench run configs/gpt1-finetune.yaml "
    "--set dataset.train_limit=100 && workbench run configs/gpt1-finetune.yaml "
    "--set dataset.train_limit=100 --set init_from=null  (and the same without train_limit)"
)
AUX = (
    "workbench run configs/gpt1-pretrain.yaml && workbench sweep configs/gpt1-finetune.yaml "
    "--grid stage.lm_coef=0,0.5"
)


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    standard_errors: float = Field(
        2.0, ge=0, description="how many standard errors of the difference a gain must exceed"
    )


def _beats(a: Measured, b: Measured, standard_errors: float) -> bool:
    """``a`` is the higher accuracy by more than ``standard_errors`` of the difference."""
    return a.value - b.value > standard_errors * math.hypot(a.se, b.se)


def _finetuned(ctx: ClaimContext) -> list[RunRecord]:
    return [run for run in ctx.runs if run.stage == "finetune" and run.architecture == "gpt"]


def _labels(run: RunRecord) -> str:
    limit = option(run, "dataset.train_limit")
    return "all labels" if limit is None else f"{limit} labels"


def _where(run: RunRecord) -> str:
    return f"{option(run, 'dataset.task', run.dataset)}, {_labels(run)}"


def _pair(first: RunRecord, second: RunRecord) -> str:
    return f"{_where(first)} (runs {first.id}/{second.id})"


def pretraining_helps(ctx: ClaimContext) -> ClaimResult:
    rows: list[tuple[RunRecord, Measured, RunRecord, Measured]] = []
    for group in twins(
        _finetuned(ctx), lambda run: run.parent_id is not None, ignore=["init_from"]
    ):
        pre, scratch = group.get(True), group.get(False)
        if pre is None or scratch is None:
            continue
        a, b = task_accuracy(ctx, pre), task_accuracy(ctx, scratch)
        if a is not None and b is not None:
            rows.append((pre, a, scratch, b))
    if not rows:
        return ClaimResult(
            "not yet measured",
            "no fine-tuned run with a twin fine-tuned from scratch (the same config, "
            "init_from empty)",
            None,
            PRETRAIN,
        )
    groups = {_pair(p, s): {"pre-trained": a.value, "from scratch": b.value} for p, a, s, b in rows}
    errors = {_pair(p, s): {"pre-trained": a.se, "from scratch": b.se} for p, a, s, b in rows}
    figure = grouped_bars(
        groups, title="Fine-tuned accuracy: pre-trained against from scratch", yaxis="accuracy",
        errors=errors,
    )  # fmt: skip
    gains = {_pair(p, s): a.value - b.value for p, a, s, b in rows}
    measured = "; ".join(
        f"{where}: {fmt(groups[where]['pre-trained'])} vs {fmt(groups[where]['from scratch'])} "
        f"({gain:+.3f})"
        for where, gain in gains.items()
    )
    runs = tuple(r.id for p, _, s, _ in rows for r in (p, s))
    cfg: Options = ctx.config  # type: ignore[assignment]
    if not all(_beats(a, b, cfg.standard_errors) for _, a, _, b in rows):
        return ClaimResult("does not hold", measured, figure, PRETRAIN, runs)
    # "Most with few labels": the gain at the fewest labels against the gain at the most, per task.
    by_task: dict[str, list[tuple[float, float]]] = {}
    for pre, a, _, b in rows:
        limit = option(pre, "dataset.train_limit")
        size = float("inf") if limit is None else float(limit)
        by_task.setdefault(str(option(pre, "dataset.task", pre.dataset)), []).append(
            (size, a.value - b.value)
        )
    compared = [sorted(v) for v in by_task.values() if len({size for size, _ in v}) > 1]
    if not compared:
        return ClaimResult(
            "not yet measured",
            measured + " — pre-training helps; its gain with few against many labels is not "
            "measured yet",
            figure,
            PRETRAIN,
            runs,
        )
    most_with_few = all(v[0][1] >= v[-1][1] for v in compared)
    return ClaimResult("holds" if most_with_few else "does not hold", measured, figure,
                       PRETRAIN, runs)  # fmt: skip


def auxiliary_lm_loss(ctx: ClaimContext) -> ClaimResult:
    rows = []
    for group in twins(_finetuned(ctx), "stage.lm_coef"):
        plain = group.get(0.0) if 0.0 in group else group.get(0)
        coefs = [c for c in group if c and c > 0]
        if plain is None or not coefs:
            continue
        aux = group[max(coefs)]
        a, b = task_accuracy(ctx, aux), task_accuracy(ctx, plain)
        if a is not None and b is not None:
            rows.append((aux, a, plain, b, max(coefs)))
    if not rows:
        return ClaimResult(
            "not yet measured",
            "no twin fine-tuned runs that differ only in lm_coef (0 and > 0)",
            None,
            AUX,
        )
    groups = {
        _pair(aux, plain): {f"λ = {coef:g}": a.value, "λ = 0": b.value}
        for aux, a, plain, b, coef in rows
    }
    figure = grouped_bars(groups, title="Fine-tuned accuracy with and without the LM loss",
                          yaxis="accuracy")  # fmt: skip
    measured = "; ".join(
        f"{_pair(aux, plain)}: λ={coef:g} {fmt(a.value)} vs λ=0 {fmt(b.value)}"
        for aux, a, plain, b, coef in rows
    )
    cfg: Options = ctx.config  # type: ignore[assignment]
    holds = all(_beats(a, b, cfg.standard_errors) for _, a, _, b, _ in rows)
    runs = tuple(r.id for aux, _, plain, _, _ in rows for r in (aux, plain))
    return ClaimResult("holds" if holds else "does not hold", measured, figure, AUX, runs)


PRETRAINING_CLAIM = ClaimSpec(
    name="pretraining-helps",
    summary="Generative pre-training improves the fine-tuned model on a labelled task, and "
    "helps most when labels are few.",
    config=Options,
    factory=pretraining_helps,
    paper=PAPER,
    order=20,
)

AUXILIARY_CLAIM = ClaimSpec(
    name="auxiliary-lm-loss",
    summary="Keeping a language-modelling loss beside the task loss during fine-tuning improves "
    "the fine-tuned model.",
    config=Options,
    factory=auxiliary_lm_loss,
    paper=PAPER,
    order=21,
)

CLAIMS = (PRETRAINING_CLAIM, AUXILIARY_CLAIM)
