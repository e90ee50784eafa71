"""Scalar heads over a sequence encoder's hidden states (the reward model's and PPO's value head),
and loading a finished reward-model run as a scorer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from workbench_rlhf.sequences import SequenceBatch, last_hidden

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


def sequence_scores(
    model: nn.Module, head: nn.Module, ids: torch.Tensor, last: torch.Tensor
) -> torch.Tensor:
    """The head's value at each row's last real token ``(B,)``: a reward model's score of the
    whole prompt + completion (right padding, so the last real token has seen all of it)."""
    return head(last_hidden(model.hidden_states(ids), last))


@dataclass
class RewardModel:
    """A finished reward-model run: its trunk, its tokenizer and its scalar head, frozen."""

    model: nn.Module
    tokenizer: Any
    head: ScalarHead
    block_size: int

    def to(self, device: torch.device | str) -> RewardModel:
        self.model.to(device)
        self.head.to(device)
        return self

    @torch.no_grad()
    def score(self, batch: SequenceBatch) -> torch.Tensor:
        return sequence_scores(self.model, self.head, batch.ids, batch.last).float()


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
    head = ScalarHead(model.hidden_size)
    head.load_state_dict(state)
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
