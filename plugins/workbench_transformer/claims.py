"""The Transformer's claims (Vaswani et al. 2017), checked against stored ``seq2seq`` runs.

* ``attention-alone``: an encoder-decoder of attention alone learns a sequence-to-sequence task
  (held-out exact match of the best run, as its stage last measured it);
* ``label-smoothing``: twin runs that differ only in ``label_smoothing``: the smoothed one has
  the higher BLEU and the higher perplexity.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from workbench.charts.claims import grouped_bars
from workbench.claims.pick import fmt, run_label, twins
from workbench.specs import ClaimContext, ClaimResult, ClaimSpec

PAPER = "Transformer (Vaswani et al. 2017)"
STAGE = "seq2seq"


class AttentionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    exact_match: float = Field(
        0.9, ge=0, le=1, description="held-out exact match at which the claim holds"
    )


def attention_alone(ctx: ClaimContext) -> ClaimResult:
    cfg: AttentionConfig = ctx.config  # type: ignore[assignment]
    scored = []
    for run in ctx.runs:
        if run.stage != STAGE:
            continue
        exact = ctx.last(run.id, "val/exact_match")
        if exact is not None:
            scored.append((run, exact, ctx.last(run.id, "val/bleu")))
    command = "workbench run configs/transformer-copy.yaml"
    if not scored:
        return ClaimResult(
            "not yet measured", "no seq2seq run has measured held-out exact match", None, command
        )
    groups = {
        f"{run_label(run)} ({run.dataset})": {
            "exact match": exact,
            **({"BLEU / 100": bleu / 100} if bleu is not None else {}),
        }
        for run, exact, bleu in scored
    }
    best, exact, bleu = max(scored, key=lambda row: row[1])
    figure = grouped_bars(
        groups,
        title="Held-out sequences: encoder-decoder of attention alone",
        yaxis="score",
        reference=cfg.exact_match,
        reference_name="threshold",
    )
    measured = (
        f"best held-out exact match {fmt(exact)} (BLEU {fmt(bleu, 1)}) by run {best.id} on "
        f"{best.dataset}, {best.step} steps"
    )
    verdict = "holds" if exact >= cfg.exact_match else "does not hold"
    return ClaimResult(verdict, measured, figure, command, tuple(r.id for r, _, _ in scored))


class SmoothingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


def label_smoothing(ctx: ClaimContext) -> ClaimResult:
    command = (
        "workbench sweep configs/transformer-translation.yaml "
        "--grid stage.label_smoothing=0.0,0.1 --set stage.max_steps=500"
    )
    seq2seq = [run for run in ctx.runs if run.stage == STAGE]
    pairs = []
    for group in twins(seq2seq, "stage.label_smoothing"):
        plain = group.get(0.0) or group.get(0)
        smoothed = [eps for eps in group if eps and eps > 0]
        if plain is None or not smoothed:
            continue
        eps = max(smoothed)
        row = []
        for run in (plain, group[eps]):
            row.append((run, ctx.last(run.id, "val/bleu"), ctx.last(run.id, "val/ppl")))
        if all(b is not None and p is not None for _, b, p in row):
            pairs.append((eps, row))
    if not pairs:
        return ClaimResult(
            "not yet measured",
            "no twin seq2seq runs that differ only in label smoothing (0 and > 0)",
            None,
            command,
        )
    bleu_groups: dict[str, dict[str, float]] = {}
    outcomes = []
    for eps, ((plain, b0, p0), (smooth, b1, p1)) in pairs:
        where = f"runs {plain.id}/{smooth.id} {plain.dataset}"
        bleu_groups[f"BLEU · {where}"] = {"ε = 0": b0 / 100, f"ε = {eps:g}": b1 / 100}
        bleu_groups[f"perplexity · {where}"] = {"ε = 0": p0, f"ε = {eps:g}": p1}
        outcomes.append((b1 > b0 and p1 > p0, where, b0, b1, p0, p1, eps))
    figure = grouped_bars(
        bleu_groups,
        title="Label smoothing: BLEU / 100 (higher is better) and perplexity",
        yaxis="BLEU / 100 · perplexity",
    )
    _, where, b0, b1, p0, p1, eps = outcomes[-1]
    measured = (
        f"ε 0 → {eps:g}: BLEU {fmt(b0, 1)} → {fmt(b1, 1)}, perplexity {fmt(p0)} → {fmt(p1)} "
        f"({where})"
    )
    if len(outcomes) > 1:
        measured += f"; holds in {sum(o[0] for o in outcomes)} of {len(outcomes)} twin pairs"
    verdict = "holds" if all(o[0] for o in outcomes) else "does not hold"
    runs = tuple(r.id for _, row in pairs for r, _, _ in row)
    return ClaimResult(verdict, measured, figure, command, runs)


ATTENTION_CLAIM = ClaimSpec(
    name="attention-alone",
    summary="An encoder-decoder built from attention alone, with no recurrence or convolution, "
    "learns to transduce sequences.",
    config=AttentionConfig,
    factory=attention_alone,
    paper=PAPER,
    order=10,
)

SMOOTHING_CLAIM = ClaimSpec(
    name="label-smoothing",
    summary="Label smoothing hurts perplexity, as the model learns to be more unsure, but "
    "improves BLEU.",
    config=SmoothingConfig,
    factory=label_smoothing,
    paper=PAPER,
    order=11,
)

CLAIMS = (ATTENTION_CLAIM, SMOOTHING_CLAIM)
