"""GPT-2's and GPT-3's claims, checked against stored ``few-shot`` evaluations.

* ``zero-shot`` (GPT-2): with no example and no parameter change, a pre-trained LM ranks the right
  answer of a held-out prompt first more often than chance (``rank_acc/k=0`` against
  1/``choices``, by two standard errors);
* ``few-shot-scaling`` (GPT-3): accuracy rises with the number of demonstrations k, and rises more
  for a larger model (the evaluations' ``params``) of the same recipe (corpus and tokenizer);
* ``finetune-vs-prompting`` (GPT-3): a model fine-tuned on one prompt task (``prompt-task-text``)
  answers it zero-shot better than its parent does with any k of demonstrations.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field

from workbench.charts.claims import grouped_bars
from workbench.charts.prompting import accuracy_curve, accuracy_vs_k_figure
from workbench.claims.pick import binomial_se, fmt, option
from workbench.specs import ClaimContext, ClaimResult, ClaimSpec
from workbench.store import EvaluationRecord, RunRecord

GPT2 = "GPT-2 (Radford et al. 2019)"
GPT3 = "GPT-3 (Brown et al. 2020)"
EVALUATION = "few-shot"
TASK_DATASET = "prompt-task-text"
ICL = (
    "workbench run configs/prompting-icl.yaml && workbench evaluate prompting-icl few-shot "
    "(then its small twin, see the config's header, for the size)"
)


def _size(evaluation: EvaluationRecord) -> str:
    params = evaluation.metrics.get("params")
    return f" ({params / 1e6:.2f}M)" if params else ""


def _label(run: RunRecord, evaluation: EvaluationRecord) -> str:
    return f"{run.id} · {run.name}{_size(evaluation)}"


def _prompted(ctx: ClaimContext) -> list[tuple[RunRecord, EvaluationRecord]]:
    """Runs not fine-tuned on a prompt task, with their newest few-shot evaluation."""
    found = []
    for run in ctx.runs:
        if run.dataset == TASK_DATASET or run.stage == "finetune":
            continue
        evaluation = ctx.evaluation(run.id, EVALUATION)
        if evaluation is not None:
            found.append((run, evaluation))
    return found


class ZeroShotConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    standard_errors: float = Field(
        2.0, ge=0, description="how far above chance, in standard errors, the claim needs"
    )


def zero_shot(ctx: ClaimContext) -> ClaimResult:
    cfg: ZeroShotConfig = ctx.config  # type: ignore[assignment]
    rows = []
    for run, evaluation in _prompted(ctx):
        value = evaluation.metrics.get("rank_acc/k=0")
        if value is None:
            continue
        chance = 1 / int(evaluation.config.get("choices", 4))
        n = int(evaluation.metrics.get("items", 0) or 0)
        rows.append((run, evaluation, float(value), chance, binomial_se(float(value), n), n))
    if not rows:
        return ClaimResult(
            "not yet measured",
            "no few-shot evaluation ranked candidate answers at k=0",
            None,
            "workbench run configs/quickstart.yaml && workbench evaluate quickstart-synthetic-gpt "
            "few-shot --set scoring=both",
        )
    groups = {_label(run, ev): {"zero-shot rank accuracy": v} for run, ev, v, *_ in rows}
    errors = {_label(run, ev): {"zero-shot rank accuracy": se} for run, ev, _, _, se, _ in rows}
    chance = rows[-1][3]
    figure = grouped_bars(groups, title="Zero-shot: the right answer ranked first (k = 0)",
                          yaxis="accuracy", errors=errors, reference=chance,
                          reference_name=f"chance {chance:.2f}")  # fmt: skip
    best = max(rows, key=lambda row: (row[2] - row[3]) / (row[4] or 1.0))
    run, _, value, chance, se, n = best
    measured = (
        f"run {run.id}: {fmt(value)} ± {fmt(se)} of {n} held-out items ranked right with no "
        f"example (chance {chance:.2f})"
    )
    holds = value - chance > cfg.standard_errors * se and value > chance
    return ClaimResult("holds" if holds else "does not hold", measured, figure,
                       "workbench evaluate RUN few-shot --set scoring=both",
                       tuple(r[0].id for r in rows))  # fmt: skip


class ScalingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_gain: float = Field(
        0.05, ge=0, description="accuracy gain from k=0 to the largest k the claim needs"
    )


def _gain(points: list[tuple[int, float, float]]) -> float | None:
    by_k = {k: mean for k, mean, _ in points}
    if 0 not in by_k or len(by_k) < 2:
        return None
    return by_k[max(by_k)] - by_k[0]


def _recipe(run: RunRecord) -> str:
    """What makes two runs sizes of one recipe: the same corpus and tokenizer (the model's shape
    and its steps may differ: equal wall clock gives a smaller model more steps)."""
    config = run.config or {}
    return json.dumps([config.get("dataset"), config.get("tokenizer")], sort_keys=True)


def few_shot_scaling(ctx: ClaimContext) -> ClaimResult:
    cfg: ScalingConfig = ctx.config  # type: ignore[assignment]
    rows = []
    for run, evaluation in _prompted(ctx):
        prefix = "acc" if accuracy_curve(evaluation.metrics) else "rank_acc"
        points = accuracy_curve(evaluation.metrics, prefix=prefix)
        gain = _gain(points)
        if gain is not None:
            params = float(evaluation.metrics.get("params", 0.0))
            rows.append((run, evaluation, points, gain, params))
    if not rows:
        return ClaimResult(
            "not yet measured", "no few-shot evaluation measured k = 0 and a larger k", None, ICL
        )
    figure = accuracy_vs_k_figure(
        {_label(run, ev): points for run, ev, points, _, _ in rows},
        title="Few-shot accuracy against k, one curve per model",
    )
    ordered = sorted(rows, key=lambda row: (row[4], row[0].id))
    measured = "; ".join(
        f"run {run.id}{_size(ev)}: k=0 → k={max(k for k, _, _ in pts)} {gain:+.3f}"
        for run, ev, pts, gain, _ in ordered
    )
    runs = tuple(row[0].id for row in rows)
    best = max(row[3] for row in rows)
    if best < cfg.min_gain:
        return ClaimResult("does not hold", measured, figure, ICL, runs)
    # Sizes are compared within one recipe (corpus and tokenizer): a model trained on another
    # corpus says nothing about size.
    recipes: dict[str, list] = {}
    for row in ordered:
        recipes.setdefault(_recipe(row[0]), []).append(row)
    compared = [rs for rs in recipes.values() if len({r[4] for r in rs}) >= 2]
    if not compared:
        return ClaimResult(
            "not yet measured",
            measured + f" — rises with k (≥ {cfg.min_gain}); no second model size of the same "
            "recipe (corpus and tokenizer) is measured yet",
            figure,
            ICL,
            runs,
        )
    # Within a recipe: the largest model's gain against the smallest's (several runs of one
    # size: the largest size's newest run, the smallest size's first).
    outcomes = [rs[-1][3] >= cfg.min_gain and rs[-1][3] > rs[0][3] for rs in compared]
    verdict = "holds" if any(outcomes) else "does not hold"
    if len(compared) > 1:
        measured += f"; larger gains more in {sum(outcomes)} of {len(compared)} recipes"
    return ClaimResult(verdict, measured, figure, ICL, runs)


class FinetuneConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


FINETUNE_COMMAND = (
    "workbench run configs/quickstart.yaml && workbench run configs/prompting-finetune.yaml && "
    "workbench evaluate quickstart-synthetic-gpt few-shot --set 'tasks=[first-letter]' && "
    "workbench evaluate prompting-finetune-first-letter few-shot --set 'tasks=[first-letter]' "
    "--set 'shots=[0]'"
)


def finetune_vs_prompting(ctx: ClaimContext) -> ClaimResult:
    rows = []
    for run in ctx.runs:
        if run.dataset != TASK_DATASET or run.parent_id is None:
            continue
        task = option(run, "dataset.task")
        tuned = ctx.evaluation(run.id, EVALUATION)
        parent = ctx.get_run(run.parent_id)
        prompted = ctx.evaluation(
            parent.id, EVALUATION, lambda e, t=task: bool(accuracy_curve(e.metrics, t))
        )
        if tuned is None or prompted is None:
            continue
        zero = {k: m for k, m, _ in accuracy_curve(tuned.metrics, task)}.get(0)
        points = accuracy_curve(prompted.metrics, task)
        if zero is None or not points:
            continue
        rows.append((run, parent, task, zero, points))
    if not rows:
        return ClaimResult(
            "not yet measured",
            "no run fine-tuned on a prompt task whose own and whose parent's few-shot "
            "evaluations score that task",
            None,
            FINETUNE_COMMAND,
        )
    run, parent, task, zero, points = rows[-1]
    figure = accuracy_vs_k_figure(
        {f"{parent.id} · {parent.name} prompted": points},
        {f"{run.id} · {run.name}": zero},
        title=f"{task}: prompting with k examples against fine-tuning",
    )
    best_k, best, _ = max(points, key=lambda p: p[1])
    measured = (
        f"{task}: fine-tuned {fmt(zero)} at k=0 against prompted {fmt(best)} at best (k={best_k})"
    )
    holds = all(z > max(p[1] for p in pts) for _, _, _, z, pts in rows)
    return ClaimResult("holds" if holds else "does not hold", measured, figure,
                       FINETUNE_COMMAND, tuple(i for r in rows for i in (r[0].id, r[1].id)))  # fmt: skip


ZERO_SHOT_CLAIM = ClaimSpec(
    name="zero-shot",
    summary="A pre-trained language model does tasks zero-shot, with no example and no change "
    "of its parameters, better than chance.",
    config=ZeroShotConfig,
    factory=zero_shot,
    paper=GPT2,
    order=30,
)

SCALING_CLAIM = ClaimSpec(
    name="few-shot-scaling",
    summary="Few-shot accuracy rises with the number of examples in the prompt, and rises more "
    "for a larger model.",
    config=ScalingConfig,
    factory=few_shot_scaling,
    paper=GPT3,
    order=31,
)

FINETUNE_CLAIM = ClaimSpec(
    name="finetune-vs-prompting",
    summary="At small scale, fine-tuning on a task beats prompting the same model with "
    "examples of it (GPT-3 closes the gap only at 175B parameters).",
    config=FinetuneConfig,
    factory=finetune_vs_prompting,
    paper=GPT3,
    order=32,
)

CLAIMS = (ZERO_SHOT_CLAIM, SCALING_CLAIM, FINETUNE_CLAIM)
