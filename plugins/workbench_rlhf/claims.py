"""InstructGPT's RLHF claims, and Gao et al.'s over-optimisation, checked against stored runs.

* ``reward-model-accuracy``: a reward model agrees with the labeller on held-out pairs well above
  chance: the newest reward model's ``preference-accuracy`` on every set of pairs it was measured
  on (its own held-out pairs; the labeller's labels of other pairs), else its ``val/accuracy``;
* ``ppo-bounded-kl``: the newest PPO run's ``win-rate`` evaluation: the labeller's rule (the gold
  judge) prefers its answers to its parent's, by two standard errors, at a KL under the bound;
* ``over-optimisation``: along a PPO run's over-optimisation curve (``curve/*``), the gold win
  rate peaks and falls while the proxy (the reward model) keeps rising. A KL-bounded run that
  never turns down does not refute it (the penalty is there to prevent it); a run without a KL
  penalty that never turns down does.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from workbench.charts.claims import curves, grouped_bars, scatter
from workbench.claims.pick import binomial_se, fmt, option
from workbench.specs import ClaimContext, ClaimResult, ClaimSpec
from workbench.store import RunRecord

PAPER = "InstructGPT / RLHF (Ouyang et al. 2022)"
REWARD = (
    "workbench run configs/rlhf-lm.yaml && workbench pairs generate rlhf-synthetic-gpt --count "
    "1200 && workbench label --annotator factual-polite && workbench run configs/rlhf-reward.yaml "
    "&& workbench evaluate rlhf-reward preference-accuracy"
)
PPO = (
    "workbench run configs/rlhf-ppo.yaml && workbench evaluate rlhf-ppo win-rate "
    "--set reward_run=rlhf-reward  (after the reward model's commands)"
)
OVER = "workbench run configs/rlhf-ppo-overoptimise.yaml  (after the reward model's commands)"


class RewardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_accuracy: float = Field(0.6, ge=0.5, le=1, description="held-out accuracy the claim needs")
    standard_errors: float = Field(2.0, ge=0, description="above chance by this many s.e.")


def _accuracies(ctx: ClaimContext, run: RunRecord) -> dict[str, tuple[float, int]]:
    """The run's newest ``preference-accuracy`` per dataset it was measured on (its own held-out
    pairs, or another through ``--dataset``): ``{what: (accuracy, pairs)}``; else its last
    ``val/accuracy``."""
    found: dict[str, tuple[float, int]] = {}
    for evaluation in ctx.evaluations(run.id):
        if evaluation.name != "preference-accuracy" or evaluation.status != "succeeded":
            continue
        if "accuracy" not in evaluation.metrics:
            continue
        block = evaluation.config.get("dataset")
        if block:
            who = block.get("annotator") or block.get("kind") or ""
            what = f"{block.get('name')}{f' ({who})' if who else ''}"
        else:
            what = f"held-out {run.dataset} pairs"
        pairs = int(evaluation.metrics.get("pairs", 0) or 0)
        found[what] = (float(evaluation.metrics["accuracy"]), pairs)
    if not found:
        last = ctx.last(run.id, "val/accuracy")
        if last is not None:
            found["val/accuracy"] = (last, 0)
    return found


def reward_model_accuracy(ctx: ClaimContext) -> ClaimResult:
    cfg: RewardConfig = ctx.config  # type: ignore[assignment]
    rows = [(run, _accuracies(ctx, run)) for run in ctx.runs if run.stage == "reward-model"]
    rows = [(run, found) for run, found in rows if found]
    if not rows:
        return ClaimResult("not yet measured", "no reward-model run measured its accuracy", None,
                           REWARD)  # fmt: skip
    groups = {f"{r.id} · {r.name}": {w: v for w, (v, _) in f.items()} for r, f in rows}
    errors = {
        f"{r.id} · {r.name}": {w: binomial_se(v, n) for w, (v, n) in f.items()} for r, f in rows
    }
    figure = grouped_bars(groups, title="Reward model: pairs ranked as the labeller did",
                          yaxis="pairwise accuracy", errors=errors, reference=0.5,
                          reference_name="chance")  # fmt: skip
    run, found = rows[-1]
    parts, holds = [], True
    for what, (value, n) in found.items():
        se = binomial_se(value, n)
        parts.append(f"{fmt(value)}" + (f" ± {fmt(se)} on {n}" if n else "") + f" {what}")
        holds = holds and value >= cfg.min_accuracy and value - 0.5 > cfg.standard_errors * se
    measured = f"run {run.id}: " + "; ".join(parts)
    return ClaimResult("holds" if holds else "does not hold", measured, figure, REWARD,
                       tuple(r.id for r, _ in rows))  # fmt: skip


class PpoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_kl: float = Field(10.0, gt=0, description="KL to the start per answer, in nats, allowed")
    standard_errors: float = Field(2.0, ge=0, description="gold win rate above 0.5 by this many")


def _judged(ctx: ClaimContext, stage: str) -> list[tuple[RunRecord, dict[str, float]]]:
    found = []
    for run in ctx.runs:
        if run.stage != stage:
            continue
        evaluation = ctx.evaluation(run.id, "win-rate")
        if evaluation is not None and "gold/win_rate" in evaluation.metrics:
            found.append((run, evaluation.metrics))
    return found


def ppo_bounded_kl(ctx: ClaimContext) -> ClaimResult:
    cfg: PpoConfig = ctx.config  # type: ignore[assignment]
    ppo, dpo = _judged(ctx, "ppo"), _judged(ctx, "dpo")
    if not ppo:
        return ClaimResult("not yet measured", "no PPO run has a win-rate evaluation", None, PPO)
    series = {
        name: [(m.get("kl", 0.0), m["gold/win_rate"], f"{r.id}") for r, m in rows]
        for name, rows in (("PPO", ppo), ("DPO", dpo))
        if rows
    }
    errors = {
        name: [m.get("gold/win_rate_se", 0.0) for _, m in rows]
        for name, rows in (("PPO", ppo), ("DPO", dpo))
        if rows
    }
    figure = scatter(series, title="Gold win rate against the start, at the KL it cost",
                     xaxis="KL to the start per answer (nats)", yaxis="gold win rate",
                     reference=0.5, reference_name="as good as the start", bound=cfg.max_kl,
                     bound_name=f"KL bound {cfg.max_kl:g}", errors=errors)  # fmt: skip
    run, m = ppo[-1]
    win, se, kl = m["gold/win_rate"], m.get("gold/win_rate_se", 0.0), m.get("kl", float("nan"))
    measured = f"run {run.id}: gold win rate {fmt(win)} ± {fmt(se)} at KL {fmt(kl, 2)} nats"
    if "proxy/win_rate" in m:
        measured += f" (proxy win {fmt(m['proxy/win_rate'])})"
    if dpo:
        d = dpo[-1][1]
        measured += f"; DPO {fmt(d['gold/win_rate'])} at KL {fmt(d.get('kl'), 2)}"
    holds = win - 0.5 > cfg.standard_errors * se and win > 0.5 and kl <= cfg.max_kl
    runs = tuple(r.id for r, _ in (*ppo, *dpo))
    return ClaimResult("holds" if holds else "does not hold", measured, figure, PPO, runs)


class OverConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_drop: float = Field(0.05, gt=0, description="fall of the gold win rate from its peak")
    min_points: int = Field(4, ge=3, description="curve points a run needs to be judged")


def over_optimisation(ctx: ClaimContext) -> ClaimResult:
    cfg: OverConfig = ctx.config  # type: ignore[assignment]
    lines: dict[str, list[tuple[float, float]]] = {}
    judged = []
    for run in ctx.runs:
        if run.stage != "ppo":
            continue
        kl = [m.value for m in ctx.metrics(run.id, "curve/kl")]
        gold = [m.value for m in ctx.metrics(run.id, "curve/gold_win")]
        proxy = [m.value for m in ctx.metrics(run.id, "curve/proxy_win")]
        n = min(len(kl), len(gold), len(proxy))
        if n < 2:
            continue
        kl, gold, proxy = kl[:n], gold[:n], proxy[:n]
        lines[f"run {run.id} proxy"] = list(zip(kl, proxy, strict=True))
        lines[f"run {run.id} gold"] = list(zip(kl, gold, strict=True))
        peak = max(range(n), key=lambda i: gold[i])
        turned = peak < n - 1 and gold[-1] <= gold[peak] - cfg.min_drop and proxy[-1] > proxy[peak]
        unbounded = not option(run, "stage.kl_coef") and option(run, "stage.target_kl") is None
        judged.append((run, n, turned, unbounded, kl, gold, proxy, peak))
    if not judged:
        return ClaimResult("not yet measured", "no PPO run logged an over-optimisation curve",
                           None, OVER)  # fmt: skip
    figure = curves(lines, title="Proxy (reward model) and gold (labeller) win rates against KL",
                    xaxis="KL to the start per answer (nats)", yaxis="win rate against the start",
                    dashed=[k for k in lines if k.endswith("proxy")], reference=0.5)  # fmt: skip
    runs = tuple(r.id for r, *_ in judged)

    def describe(row) -> str:
        run, _, _, _, kl, gold, proxy, peak = row
        return (
            f"run {run.id}: gold win peaks at {fmt(gold[peak])} (KL {fmt(kl[peak], 1)}) and ends at "
            f"{fmt(gold[-1])} (KL {fmt(kl[-1], 1)}); proxy win {fmt(proxy[peak])} → "
            f"{fmt(proxy[-1])}"
        )

    shown = [row for row in judged if row[2]]
    if shown:
        return ClaimResult("holds", describe(shown[-1]), figure, OVER, runs)
    refuting = [row for row in judged if row[3] and row[1] >= cfg.min_points]
    if refuting:
        return ClaimResult("does not hold", describe(refuting[-1]) + " — no turn without a KL "
                           "penalty", figure, OVER, runs)  # fmt: skip
    return ClaimResult(
        "not yet measured",
        describe(judged[-1]) + " — KL-bounded runs only; over-optimisation needs a run without "
        "the KL penalty",
        figure,
        OVER,
        runs,
    )


REWARD_CLAIM = ClaimSpec(
    name="reward-model-accuracy",
    summary="A reward model trained on pairwise comparisons agrees with the labeller on "
    "held-out pairs well above chance (InstructGPT's: about 72%).",
    config=RewardConfig,
    factory=reward_model_accuracy,
    paper=PAPER,
    order=50,
)

PPO_CLAIM = ClaimSpec(
    name="ppo-bounded-kl",
    summary="PPO against the reward model makes answers the labeller prefers to the starting "
    "model's, while a KL penalty keeps it close to that model.",
    config=PpoConfig,
    factory=ppo_bounded_kl,
    paper=PAPER,
    order=51,
)

OVER_CLAIM = ClaimSpec(
    name="over-optimisation",
    summary="Optimised too hard, a policy over-fits the learned reward: the reward model's score "
    "keeps rising while the labeller's preference peaks and falls (Gao et al. 2022).",
    config=OverConfig,
    factory=over_optimisation,
    paper="Reward over-optimisation (Gao et al. 2022)",
    order=52,
)

CLAIMS = (REWARD_CLAIM, PPO_CLAIM, OVER_CLAIM)
