"""The ``win-rate`` evaluation: is a policy better than its reference by the labeller's own rule?

On held-out prompts, each sampled ``samples_per_prompt`` times with fixed seeds, the run and a
reference run (by default its parent, the ``init_from`` run it was trained from) answer with the
same random numbers. A gold judge (a simulated annotator's rule, default ``factual-polite``)
compares every answer of the run with the reference's answer to the same prompt and seed: the
**gold win rate** (ties and "both bad" count half). With a ``reward_run``, the reward model judges
the same comparisons (the **proxy win rate**) and gives mean proxy rewards; a judge that scores
(``factual-polite`` does) gives mean gold rewards. The KL to the reference per answer,
``mean sum_t (log pi - log ref)`` over the run's answers, says what the gain cost. The rule-based
shares (factual, answers, polite, rude) are reported for both sides.
"""

from __future__ import annotations

from typing import Any

import torch

from workbench.specs import EvaluationContext
from workbench_rlhf.config import WinRateConfig  # noqa: F401  (re-exported)
from workbench_rlhf.gold import GoldJudge, load_judge, proxy_outcomes, win_rate
from workbench_rlhf.heads import check_same_vocabulary, load_reward_model
from workbench_rlhf.reward_score import prompts_of, rule_metrics, sequence_kl
from workbench_rlhf.rollout import sample_answers, score_answers
from workbench_rlhf.sequences import Encoded
from workbench_rlhf.specs import WIN_RATE_SPEC  # noqa: F401  (re-exported)


def reference_of(cfg: WinRateConfig, run_config: dict[str, Any]) -> int | str:
    """The reference run: the one named, else the run's parent (``init_from``)."""
    if cfg.reference_run is not None:
        return cfg.reference_run
    parent = run_config.get("init_from")
    if parent is None:
        raise ValueError(
            "the run has no parent (init_from) to compare with; name one with "
            "--set reference_run=RUN"
        )
    return parent


def gold_metrics(
    judge: GoldJudge,
    prompts: list[str],
    props: list[dict[str, Any]],
    texts: list[str],
    ref_texts: list[str],
) -> tuple[dict[str, float], list[float]]:
    """The judge's verdicts on ``texts[i]`` (the run's) against ``ref_texts[i]``: the win rate
    (ties half) with its standard error, the shares of wins, ties and losses, and, when the judge
    scores, the mean gold reward of each side. Returns the metrics and the outcomes."""
    outcomes = [
        judge.outcome(p, a, b, pr)
        for p, a, b, pr in zip(prompts, texts, ref_texts, props, strict=True)
    ]
    gold, gold_se = win_rate(outcomes)
    n = len(outcomes)
    metrics: dict[str, float] = {
        "comparisons": float(n),
        "gold/win_rate": gold,
        "gold/win_rate_se": gold_se,
        "gold/wins": sum(o == 1.0 for o in outcomes) / n,
        "gold/ties": sum(o == 0.5 for o in outcomes) / n,
        "gold/losses": sum(o == 0.0 for o in outcomes) / n,
    }
    if judge.scores:
        for key, side in (("gold/mean", texts), ("gold/reference_mean", ref_texts)):
            metrics[key] = _mean([judge.score(*x) for x in zip(prompts, side, props, strict=True)])
    return metrics, outcomes


def evaluate_win_rate(ctx: EvaluationContext) -> dict[str, float]:
    cfg: WinRateConfig = ctx.config  # type: ignore[assignment]
    if ctx.load_run is None:
        raise ValueError("this runner cannot load the reference run")
    prompts, props, world = prompts_of(ctx.dataset, cfg.split)
    if not prompts:
        raise ValueError(f"the dataset has no {cfg.split!r} prompts")
    if props is None or world is None:
        raise ValueError(
            "the gold judge needs prompts from the synthetic corpus (their world and properties); "
            "use --dataset '{name: synthetic-prompts, ...}' with the corpus's options and seed"
        )
    prompts, props = prompts[: cfg.max_prompts], props[: cfg.max_prompts]
    judge = load_judge(cfg.judge, cfg.judge_options, world)
    reference_ref = reference_of(cfg, ctx.run_config)
    reference = ctx.load_run(reference_ref)
    check_same_vocabulary(ctx.tokenizer, reference.tokenizer, prompts[:20], reference_ref)
    model, ref_model = ctx.model.eval(), reference.model.eval()

    # Prompt i, sample j: row j * n + i; each sample round has its own seed.
    all_prompts = prompts * cfg.samples_per_prompt
    all_props = props * cfg.samples_per_prompt
    sampling = {
        "max_new_tokens": cfg.max_new_tokens,
        "stop_text": cfg.stop_text,
        "temperature": cfg.temperature,
    }
    ours, theirs = [], []
    for round_ in range(cfg.samples_per_prompt):
        seed = cfg.seed * 1_000_003 + round_
        ours.append(sample_answers(model, ctx.tokenizer, prompts, seed=seed, **sampling))
        theirs.append(sample_answers(ref_model, ctx.tokenizer, prompts, seed=seed, **sampling))
        if ctx.progress is not None:
            ctx.progress(round_ + 1, cfg.samples_per_prompt)
    texts = [t for s in ours for t in s.texts]
    ref_texts = [t for s in theirs for t in s.texts]

    metrics, outcomes = gold_metrics(judge, all_prompts, all_props, texts, ref_texts)
    n = len(outcomes)
    if cfg.reward_run is not None:
        reward = load_reward_model(ctx.load_run(cfg.reward_run), cfg.reward_run)
        check_same_vocabulary(ctx.tokenizer, reward.tokenizer, prompts[:20], cfg.reward_run)
        stop = ctx.tokenizer.encode(cfg.stop_text) if cfg.stop_text else []
        mine = torch.cat([score_answers(reward, s, stop, cfg.batch_size) for s in ours]).tolist()
        ref = torch.cat([score_answers(reward, s, stop, cfg.batch_size) for s in theirs]).tolist()
        metrics["proxy/win_rate"], metrics["proxy/win_rate_se"] = win_rate(
            proxy_outcomes(mine, ref)
        )
        metrics["proxy/mean"] = _mean(mine)
        metrics["proxy/reference_mean"] = _mean(ref)
    rows = [
        Encoded([*p, *r.tokens], len(p))
        for s in ours
        for p, r in zip(s.prompts, s.responses, strict=True)
    ]
    metrics["kl"] = sequence_kl(model, ref_model, rows, cfg.batch_size, cfg.temperature)
    for key, value in rule_metrics(texts, all_props, world).items():
        metrics[key] = value
    for key, value in rule_metrics(ref_texts, all_props, world).items():
        metrics[f"reference/{key}"] = value
    for i in range(min(cfg.samples, n)):
        verdict = {1.0: "run wins", 0.5: "tie", 0.0: "reference wins"}[outcomes[i]]
        ctx.log_sample(
            -1, all_prompts[i], f"{texts[i]}\n--- reference:{ref_texts[i]}\n--- {verdict}"
        )
    return metrics


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)
