"""Comparison pairs from a policy's highest-proxy answers: where reward hacking would show.

A policy trained against a reward model drifts towards what the model scores high; when the
reward model is wrong, those are the answers where it is most wrong. :func:`highest_proxy_pairs`
samples the policy's answers to many prompts, keeps the ``count`` the reward model scores highest,
and pairs each with the reference's answer to the same prompt (same sampling seed). Labelled by
people (or a simulated annotator) and added to the reward model's data, they teach it exactly
where it was fooled: the loop InstructGPT ran. ``workbench pairs generate --from-run RUN`` stores
them for the Label tab (through :func:`proxy_pairs`, which the reward-model stage offers as its
``proxy_pairs``), and the PPO stage's reward-hacking sentinel queues them itself when it warns.
"""

from __future__ import annotations

from typing import Any

import torch

from workbench.specs import ProxyPair, ProxyPairsContext
from workbench_rlhf.heads import load_reward_model
from workbench_rlhf.rollout import sample_answers, score_answers
from workbench_rlhf.sequences import END_TEXT

__all__ = ["ProxyPair", "highest_proxy_pairs", "proxy_pairs"]


def proxy_pairs(ctx: ProxyPairsContext) -> list[ProxyPair]:
    """The reward-model stage's ``proxy_pairs`` (``workbench pairs generate --from-run``): the
    reward run's scalar head scores the policy's answers; ``ValueError`` for a run without one."""
    reward = load_reward_model(ctx.reward, ctx.reward_ref)
    return highest_proxy_pairs(
        ctx.policy.model,
        ctx.reference.model,
        ctx.policy.tokenizer,
        reward,
        ctx.prompts,
        count=ctx.count,
        seed=ctx.seed,
        max_new_tokens=ctx.max_new_tokens,
        temperature=ctx.temperature,
    )


@torch.no_grad()
def highest_proxy_pairs(
    policy: torch.nn.Module,
    reference: torch.nn.Module,
    tokenizer: Any,
    reward: Any,
    prompts: list[str],
    *,
    count: int,
    seed: int,
    max_new_tokens: int = 64,
    temperature: float = 1.0,
    stop_text: str = END_TEXT,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
) -> list[ProxyPair]:
    """The ``count`` prompts whose policy answers score highest, best first; prompts where the
    policy and the reference answered alike are left out (nothing to compare)."""
    sampling = {
        "max_new_tokens": max_new_tokens,
        "stop_text": stop_text,
        "temperature": temperature,
        "device": device,
    }
    modes = (policy.training, reference.training)
    try:
        ours = sample_answers(policy.eval(), tokenizer, prompts, seed=seed, **sampling)
        theirs = sample_answers(reference.eval(), tokenizer, prompts, seed=seed, **sampling)
    finally:
        policy.train(modes[0])
        reference.train(modes[1])
    stop = tokenizer.encode(stop_text) if stop_text else []
    mine = score_answers(reward, ours, stop, batch_size, device).tolist()
    ref = score_answers(reward, theirs, stop, batch_size, device).tolist()
    order = sorted(range(len(prompts)), key=lambda i: -mine[i])
    out = []
    for i in order:
        if ours.texts[i].strip() == theirs.texts[i].strip():
            continue
        out.append(ProxyPair(i, ours.texts[i], theirs.texts[i], mine[i], ref[i]))
        if len(out) == count:
            break
    return out
