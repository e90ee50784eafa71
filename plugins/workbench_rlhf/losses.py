"""The RLHF objectives as pure tensor functions: the reward model's Bradley-Terry loss, DPO's loss,
and PPO's pieces (per-token KL-penalised rewards, GAE, the clipped surrogate and value losses, and
the adaptive KL controller).

Formulas follow InstructGPT (Ouyang et al. 2022), "Fine-Tuning Language Models from Human
Preferences" (Ziegler et al. 2019), the DPO paper (Rafailov et al. 2023) and the conventions of
Hugging Face TRL; the code is our own.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def bradley_terry_loss(chosen: torch.Tensor, rejected: torch.Tensor) -> torch.Tensor:
    """``-log sigmoid(r_chosen - r_rejected)``, averaged: the negative log-likelihood that the
    chosen completion wins under the Bradley-Terry model ``P(c > r) = sigmoid(r_c - r_r)``."""
    return -F.logsigmoid(chosen - rejected).mean()


@dataclass
class DPOOutput:
    """DPO's loss and the implicit rewards ``beta * (log pi - log ref)`` of both completions."""

    loss: torch.Tensor
    chosen_rewards: torch.Tensor
    rejected_rewards: torch.Tensor

    @property
    def accuracy(self) -> torch.Tensor:
        return (self.chosen_rewards > self.rejected_rewards).float().mean()

    @property
    def margin(self) -> torch.Tensor:
        return (self.chosen_rewards - self.rejected_rewards).mean()


def dpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    reference_chosen: torch.Tensor,
    reference_rejected: torch.Tensor,
    beta: float,
    label_smoothing: float = 0.0,
) -> DPOOutput:
    """DPO on sequence log-probabilities (sums over completion tokens), each ``(B,)``.

    ``loss = -log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r)))``; with ``label_smoothing``
    ``eps`` the label is trusted with probability ``1 - eps`` (conservative DPO):
    ``-(1 - eps) log sigmoid(beta h) - eps log sigmoid(-beta h)``.
    """
    chosen_ratio = policy_chosen - reference_chosen
    rejected_ratio = policy_rejected - reference_rejected
    logits = beta * (chosen_ratio - rejected_ratio)
    losses = -(1 - label_smoothing) * F.logsigmoid(logits) - label_smoothing * F.logsigmoid(-logits)
    return DPOOutput(
        loss=losses.mean(),
        chosen_rewards=(beta * chosen_ratio).detach(),
        rejected_rewards=(beta * rejected_ratio).detach(),
    )


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def masked_whiten(
    values: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True
) -> torch.Tensor:
    """Normalise ``values`` to unit variance (and zero mean) over the positions in ``mask``."""
    mean = masked_mean(values, mask)
    var = masked_mean((values - mean) ** 2, mask)
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        whitened = whitened + mean
    return whitened * mask


def whiten_scores(scores: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """``(scores - mean) / std`` over a rollout's ``(B,)`` scores (unchanged for one score)."""
    if scores.numel() < 2:
        return scores
    return (scores - scores.mean()) / (scores.std() + eps)


def kl_penalized_rewards(
    scores: torch.Tensor,
    logprobs: torch.Tensor,
    ref_logprobs: torch.Tensor,
    mask: torch.Tensor,
    kl_coef: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards of a batch of responses (InstructGPT / Ziegler et al.).

    Every response token ``t`` is penalised by ``-kl_coef * (log pi(a_t) - log ref(a_t))`` (a
    sample estimate of the KL to the reference), and the reward model's ``scores`` ``(B,)`` are
    added at each row's *last* response token. ``logprobs``, ``ref_logprobs`` and ``mask`` are
    ``(B, L)``; ``mask`` is True on one contiguous run of response positions per row. Returns
    ``(rewards, kl)``, both ``(B, L)`` and zero outside ``mask``.
    """
    kl = (logprobs - ref_logprobs) * mask
    rewards = -kl_coef * kl
    if not bool(mask.any(dim=1).all()):
        raise ValueError("every response needs at least one token")
    positions = torch.arange(1, mask.size(1) + 1, device=mask.device)
    last = (mask.long() * positions).argmax(dim=1)
    rows = torch.arange(scores.size(0), device=scores.device)
    rewards[rows, last] += scores
    return rewards * mask, kl


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor,
    gamma: float = 1.0,
    lam: float = 0.95,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over ``(B, L)`` response positions.

    ``delta_t = r_t + gamma V_{t+1} - V_t`` (``V`` is 0 after the last token) and
    ``A_t = delta_t + gamma lam A_{t+1}``. ``mask`` is True on one contiguous run of response
    positions per row (after the prompt); nothing flows across its ends. Returns ``(advantages, returns = advantages + values)``.
    """
    mask = mask.to(rewards.dtype)
    values = values * mask
    length = rewards.size(1)
    advantages = torch.zeros_like(rewards)
    next_value = torch.zeros_like(rewards[:, 0])
    next_advantage = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(length)):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        advantage = delta + gamma * lam * next_advantage
        advantages[:, t] = advantage * mask[:, t]
        # Past the end of a row, nothing flows back.
        next_value = values[:, t] * mask[:, t]
        next_advantage = advantages[:, t]
    return advantages, (advantages + values) * mask


def leave_one_out_advantages(returns: torch.Tensor, group: int) -> torch.Tensor:
    """REINFORCE leave-one-out (Kool et al. 2019; Ahmadian et al. 2024): each of ``(B,)``
    returns minus the mean of the *other* returns in its group. Rows ``[g * group, (g + 1) *
    group)`` are the answers to one prompt, so an answer is judged against the other answers to
    the same prompt, not against answers to easier or harder prompts."""
    if group < 2:
        raise ValueError("a leave-one-out baseline needs at least 2 answers per prompt")
    if returns.numel() % group:
        raise ValueError(f"{returns.numel()} returns do not split into groups of {group}")
    grouped = returns.view(-1, group)
    others = (grouped.sum(dim=1, keepdim=True) - grouped) / (group - 1)
    return (grouped - others).reshape(-1)


@dataclass
class PPOLosses:
    policy_loss: torch.Tensor
    value_loss: torch.Tensor
    clip_fraction: torch.Tensor
    approx_kl: torch.Tensor


def ppo_losses(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    clip_range: float = 0.2,
    clip_range_value: float = 0.2,
) -> PPOLosses:
    """PPO's clipped surrogate and clipped value loss, means over response tokens in ``mask``.

    ``ratio = exp(log pi - log pi_old)``; policy loss ``max(-A ratio, -A clip(ratio, 1 +- eps))``;
    value loss ``0.5 max((V - R)^2, (V_old + clip(V - V_old, +- eps_v) - R)^2)``;
    ``approx_kl = 0.5 mean((log pi - log pi_old)^2)``.
    """
    log_ratio = logprobs - old_logprobs
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range)
    policy_loss = masked_mean(torch.maximum(unclipped, clipped), mask)
    values_clipped = old_values + torch.clamp(
        values - old_values, -clip_range_value, clip_range_value
    )
    value_loss = 0.5 * masked_mean(
        torch.maximum((values - returns) ** 2, (values_clipped - returns) ** 2), mask
    )
    with torch.no_grad():
        clip_fraction = masked_mean((clipped > unclipped).float(), mask)
        approx_kl = 0.5 * masked_mean(log_ratio**2, mask)
    return PPOLosses(policy_loss, value_loss, clip_fraction, approx_kl)


class AdaptiveKLController:
    """The KL coefficient of Ziegler et al. (2019): nudged towards a target KL.

    ``error = clip(kl / target - 1, -0.2, 0.2)``; ``kl_coef *= 1 + error * n_steps / horizon``.
    With ``target`` None the coefficient stays fixed.
    """

    def __init__(self, kl_coef: float, target: float | None = None, horizon: int = 10_000):
        self.value = kl_coef
        self.target = target
        self.horizon = horizon

    def update(self, kl: float, n_steps: int) -> None:
        if self.target is None:
            return
        error = min(max(kl / self.target - 1.0, -0.2), 0.2)
        self.value *= 1.0 + error * n_steps / self.horizon
