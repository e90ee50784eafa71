"""The ``reward-score`` evaluation: how a policy's answers to held-out prompts score.

Samples one completion per prompt (up to a newline, as in PPO's rollouts) and reports the mean
score of the reward model named by ``reward_run``, and, when the dataset comes from the synthetic
corpus (``synthetic-prompts`` or ``synthetic-preferences``), the rule-based properties of the
answers measured by its helpers: the share that is factual, answers the question, is polite, is
rude, is a complete sentence, and the mean length in words. The dataset is the run's own (a prompt
set, preference pairs, or the synthetic corpus a pre-training run read, whose extras hold the
preference prompts) or one given with ``workbench evaluate --dataset``. Run it on the starting LM
and on its PPO / DPO children with the same options to see what RLHF changed.
"""

from __future__ import annotations

from typing import Any

import torch

from workbench.specs import EvaluationContext
from workbench_rlhf.config import RewardScoreConfig  # noqa: F401  (re-exported)
from workbench_rlhf.heads import check_same_vocabulary, load_reward_model
from workbench_rlhf.rollout import sample_answers, score_answers
from workbench_rlhf.sequences import Encoded, completion_logprob, pad_batch
from workbench_rlhf.specs import REWARD_SCORE_SPEC  # noqa: F401  (re-exported)

RULE_METRICS = {
    "factual": "share_factual",
    "answers_question": "share_answers_question",
    "polite": "share_polite",
    "rude": "share_rude",
    "complete_sentence": "share_complete_sentence",
}


def prompts_of(dataset: Any, split: str) -> tuple[list[str], list[dict] | None, Any]:
    """``(prompts, their properties or None, the world or None)`` of a prompt set, preference
    pairs, or the synthetic corpus (whose extras hold its preference prompts)."""
    extras = getattr(dataset, "extras", {}) or {}
    world = extras.get("world")
    if getattr(dataset, "kind", None) == "prompts":
        prompts = list(getattr(dataset, split))
        props = None
        if dataset.properties:
            offset = 0 if split == "train" else len(dataset.train)
            props = dataset.properties[offset : offset + len(prompts)]
        return (*_unseen(prompts, props, dataset.train, split), world)
    if getattr(dataset, "kind", None) == "preferences":
        prompts = list(dict.fromkeys(pair["prompt"] for pair in getattr(dataset, split)))
        table = extras.get("prompt_properties")
        props = [table[p] for p in prompts] if table else None
        return prompts, props, world
    items = extras.get("preference_prompts")
    if items:
        # The synthetic corpus itself (a pre-training run's dataset): split its preference prompts
        # as the synthetic-prompts view does by default.
        from workbench_synthetic import split_preference_prompts

        train, val = split_preference_prompts(items)
        chosen = val if split == "val" else train
        prompts, props = [i["prompt"] for i in chosen], [i["properties"] for i in chosen]
        return (*_unseen(prompts, props, [i["prompt"] for i in train], split), world)
    raise ValueError(
        "reward-score needs a prompts or preferences dataset, e.g. --dataset "
        "'{name: synthetic-prompts, size_chars: 1000000, seed: 1337}'"
    )


def _unseen(
    prompts: list[str], props: list[dict] | None, train: list[str], split: str
) -> tuple[list[str], list[dict] | None]:
    """Each distinct prompt once, in the order of first occurrence; held-out prompts that occur
    among the training prompts are left out (the synthetic corpus may draw a question twice): a
    policy is judged on prompts it was not trained on. The same list, in the same order, as the
    distinct prompts of a preferences dataset's pairs drawn from these prompts, so that a run
    trained on pairs (SFT, DPO) and a run trained on prompts (PPO) are judged on the same ones."""
    seen = set(train) if split == "val" else set()
    keep = []
    for i, prompt in enumerate(prompts):
        if prompt not in seen:
            seen.add(prompt)
            keep.append(i)
    return [prompts[i] for i in keep], [props[i] for i in keep] if props is not None else None


def rule_metrics(completions: list[str], props: list[dict], world: Any) -> dict[str, float]:
    from workbench_synthetic import completion_properties

    measured = [completion_properties(c, p, world) for c, p in zip(completions, props, strict=True)]
    out = {
        name: sum(bool(m[key]) for m in measured) / len(measured)
        for key, name in RULE_METRICS.items()
    }
    out["mean_words"] = sum(m["words"] for m in measured) / len(measured)
    return out


@torch.no_grad()
def sequence_kl(
    model: torch.nn.Module,
    reference: torch.nn.Module,
    rows: list[Encoded],
    batch_size: int,
    temperature: float = 1.0,
) -> float:
    """Mean over ``rows`` of the summed ``log pi - log ref`` of their completion tokens: the
    sample estimate of KL(pi || ref) per completion when the rows were sampled from ``model``
    (at ``temperature``: both models' logits are divided by it, as in PPO)."""
    scale = temperature if temperature > 0 else 1.0
    total = 0.0
    for start in range(0, len(rows), batch_size):
        batch = pad_batch(rows[start : start + batch_size])
        total += float(
            (
                completion_logprob(model(batch.ids)[0] / scale, batch)
                - completion_logprob(reference(batch.ids)[0] / scale, batch)
            ).sum()
        )
    return total / len(rows)


def evaluate_reward_score(ctx: EvaluationContext) -> dict[str, float]:
    cfg: RewardScoreConfig = ctx.config  # type: ignore[assignment]
    prompts, props, world = prompts_of(ctx.dataset, cfg.split)
    if not prompts:
        raise ValueError(f"the dataset has no {cfg.split!r} prompts")
    prompts, props = prompts[: cfg.max_prompts], props[: cfg.max_prompts] if props else None
    model, tokenizer = ctx.model, ctx.tokenizer
    model.eval()
    stop = tokenizer.encode(cfg.stop_text) if cfg.stop_text else []
    answers = sample_answers(
        model,
        tokenizer,
        prompts,
        max_new_tokens=cfg.max_new_tokens,
        stop_text=cfg.stop_text,
        temperature=cfg.temperature,
        seed=cfg.seed,
    )
    encoded, responses, completions = answers.prompts, answers.responses, answers.texts
    metrics: dict[str, float] = {
        "prompts": float(len(prompts)),
        "finished": sum(r.finished for r in responses) / len(responses),
        "response_tokens": sum(len(r.tokens) for r in responses) / len(responses),
    }
    if cfg.reward_run is not None:
        if ctx.load_run is None:
            raise ValueError("this runner cannot load the reward run")
        reward = load_reward_model(ctx.load_run(cfg.reward_run), cfg.reward_run)
        check_same_vocabulary(tokenizer, reward.tokenizer, prompts[:20], cfg.reward_run)
        scores = score_answers(reward, answers, stop, cfg.batch_size)
        metrics["reward/mean"] = float(scores.mean())
        metrics["reward/std"] = float(scores.std()) if len(scores) > 1 else 0.0
    if cfg.reference_run is not None:
        if ctx.load_run is None:
            raise ValueError("this runner cannot load the reference run")
        reference = ctx.load_run(cfg.reference_run)
        check_same_vocabulary(tokenizer, reference.tokenizer, prompts[:20], cfg.reference_run)
        rows = [Encoded([*p, *r.tokens], len(p)) for p, r in zip(encoded, responses, strict=True)]
        metrics["kl"] = float(sequence_kl(model, reference.model.eval(), rows, cfg.batch_size))
    if props is not None and world is not None:
        metrics.update(rule_metrics(completions, props, world))
    for prompt, completion in list(zip(prompts, completions, strict=True))[: cfg.samples]:
        ctx.log_sample(-1, prompt, completion)
    return metrics
