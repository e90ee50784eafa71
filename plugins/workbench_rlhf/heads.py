"""Scalar heads over a sequence encoder's hidden states (the reward model's and PPO's value head),
and loading a finished reward-model run as a scorer.

A reward head may also read **likelihood features** of the completion from the LM's own
next-token distributions (:func:`likelihood_features`): how much more surprised the LM is by each
completion token than it expected to be. A false fact about a person the LM knows is a token the LM
was confident would be another one; the final hidden state alone barely shows that, the LM's
surprise at that token shows it plainly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from workbench_rlhf.sequences import SequenceBatch, last_hidden, logits_and_hidden

LIKELIHOOD_FEATURES: tuple[str, ...] = (
    "excess_surprise_sum",
    "excess_surprise_min",
    "mean_logprob",
)
"""What :func:`likelihood_features` returns, per completion (see there)."""

REWARD_HEAD = "reward"
VALUE_HEAD = "value"


class ScalarHead(nn.Module):
    """``nn.Linear(hidden_size, 1)``: one number per position (or per sequence)."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.linear = nn.Linear(hidden_size, 1)
        nn.init.normal_(self.linear.weight, std=1.0 / (hidden_size + 1) ** 0.5)
        nn.init.zeros_(self.linear.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.linear(hidden).squeeze(-1)


class RewardHead(ScalarHead):
    """A reward head that reads the last hidden state and, with ``likelihood``, also the
    completion's :func:`likelihood_features` (a second linear map, started at zero so the features
    count only as far as training finds them useful). Its state dict has ``linear.*`` like
    :class:`ScalarHead`, plus ``likelihood.weight`` when it reads the features."""

    def __init__(self, hidden_size: int, likelihood: bool = False):
        super().__init__(hidden_size)
        self.likelihood = nn.Linear(len(LIKELIHOOD_FEATURES), 1, bias=False) if likelihood else None
        if self.likelihood is not None:
            nn.init.zeros_(self.likelihood.weight)

    @classmethod
    def from_state(cls, hidden_size: int, state: dict[str, torch.Tensor]) -> RewardHead:
        head = cls(hidden_size, likelihood="likelihood.weight" in state)
        head.load_state_dict(state)
        return head


def likelihood_features(
    logits: torch.Tensor, ids: torch.Tensor, completion_mask: torch.Tensor
) -> torch.Tensor:
    """``(B, 3)`` per completion, from the next-token distributions ``logits`` ``(B, T, V)``:

    - ``excess_surprise_sum``: ``sum_t (log p_t + H_t)`` over the completion's tokens, where
      ``p_t`` is the probability of the actual token and ``H_t`` the entropy of the prediction:
      about 0 where the LM was unsure (any opener is fine) and strongly negative where it was sure
      and wrong (a false fact, another person's name);
    - ``excess_surprise_min``: the most negative ``log p_t + H_t``;
    - ``mean_logprob``: the mean ``log p_t``.
    """
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    token = logp.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    entropy = -(logp.exp() * logp).sum(dim=-1)
    mask = completion_mask.float()
    excess = (token + entropy) * mask
    count = mask.sum(dim=-1).clamp(min=1.0)
    lowest = torch.where(completion_mask, token + entropy, torch.zeros_like(token)).amin(dim=-1)
    return torch.stack([excess.sum(dim=-1), lowest, (token * mask).sum(dim=-1) / count], dim=-1)


def sequence_scores(
    model: nn.Module,
    head: nn.Module,
    ids: torch.Tensor,
    last: torch.Tensor,
    completion_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """The head's value at each row's last real token ``(B,)``: a reward model's score of the
    whole prompt + completion (right padding, so the last real token has seen all of it). A
    :class:`RewardHead` with likelihood features also reads the LM's surprise at the completion's
    tokens (``completion_mask`` says which they are)."""
    return scores_and_logits(model, head, ids, last, completion_mask)[0]


def scores_and_logits(
    model: nn.Module,
    head: nn.Module,
    ids: torch.Tensor,
    last: torch.Tensor,
    completion_mask: torch.Tensor | None = None,
    need_logits: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """:func:`sequence_scores` and, when the head reads likelihood features or ``need_logits``,
    the LM's logits from the same pass (else None)."""
    uses_likelihood = getattr(head, "likelihood", None) is not None
    if not uses_likelihood and not need_logits:
        return head(last_hidden(model.hidden_states(ids), last)), None
    logits, hidden = logits_and_hidden(model, ids)
    scores = head(last_hidden(hidden, last))
    if uses_likelihood:
        if completion_mask is None:
            raise ValueError("a reward head with likelihood features needs the completion mask")
        features = likelihood_features(logits, ids, completion_mask)
        scores = scores + head.likelihood(features).squeeze(-1)
    return scores, logits


@dataclass
class RewardModel:
    """A finished reward-model run: its trunk, its tokenizer and its scalar head, frozen."""

    model: nn.Module
    tokenizer: Any
    head: RewardHead
    block_size: int

    def to(self, device: torch.device | str) -> RewardModel:
        self.model.to(device)
        self.head.to(device)
        return self

    @torch.no_grad()
    def score(self, batch: SequenceBatch) -> torch.Tensor:
        return sequence_scores(
            self.model, self.head, batch.ids, batch.last, batch.completion_mask
        ).float()


def load_reward_model(loaded: Any, ref: int | str) -> RewardModel:
    """Turn ``ctx.load_run(ref)``'s result into a frozen :class:`RewardModel`; refuse a run that
    saved no reward head."""
    state = loaded.heads.get(REWARD_HEAD)
    if state is None:
        saved = ", ".join(sorted(loaded.heads)) or "none"
        raise ValueError(
            f"run {ref!r} has no reward head (its heads: {saved}); train one with the "
            "reward-model stage and name that run as reward_run"
        )
    model = loaded.model
    if not hasattr(model, "hidden_states") or not hasattr(model, "hidden_size"):
        raise ValueError(f"run {ref!r}'s model returns no hidden states for a reward head")
    head = RewardHead.from_state(model.hidden_size, state)
    model.eval()
    head.eval()
    for param in [*model.parameters(), *head.parameters()]:
        param.requires_grad_(False)
    return RewardModel(
        model=model, tokenizer=loaded.tokenizer, head=head, block_size=model.block_size
    )


def check_same_vocabulary(
    policy_tokenizer: Any, reward_tokenizer: Any, probes: list[str], ref
) -> None:
    """Refuse a reward model whose tokenizer does not encode like the policy's: its scores of
    the policy's token ids would be scores of other text."""
    if policy_tokenizer.vocab_size != reward_tokenizer.vocab_size:
        raise ValueError(
            f"reward run {ref!r} has a different vocabulary ({reward_tokenizer.vocab_size} tokens) "
            f"from the policy's ({policy_tokenizer.vocab_size}); train the reward model from the "
            "same pre-trained run (init_from) as the policy"
        )
    for text in probes:
        try:
            same = reward_tokenizer.encode(text) == policy_tokenizer.encode(text)
        except ValueError:
            same = False
        if not same:
            raise ValueError(
                f"reward run {ref!r}'s tokenizer encodes {text!r} differently from the "
                "policy's; train the reward model from the same pre-trained run as the policy"
            )
