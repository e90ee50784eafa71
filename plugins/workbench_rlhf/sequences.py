"""Prompt + completion token sequences: encoding within a context window, right padding, and the
per-token log-probabilities of the completion part only.

Every RLHF stage reads a comparison or a rollout the same way: the prompt's tokens, then the
completion's, right-padded into a batch. Position ``t`` of the log-probabilities scores token
``t + 1``, so a completion token at position ``p`` is scored by ``logits[:, p - 1]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from workbench_rlhf.config import END_TEXT


@dataclass(frozen=True)
class Encoded:
    """The token ids of ``prompt + completion`` and how many of them are the prompt's."""

    ids: list[int]
    prompt_len: int

    @property
    def completion_len(self) -> int:
        return len(self.ids) - self.prompt_len


def fit_to_window(prompt: list[int], completion: list[int], block_size: int) -> Encoded:
    """Join ``prompt`` and ``completion``, cutting them to ``block_size`` tokens.

    The completion keeps at least half the window (its end is cut first, as the start of an
    answer is where chosen and rejected differ); the prompt keeps its end, next to the answer.
    At least one prompt token always stays, so every completion token has a position scoring it.
    """
    if not prompt:
        raise ValueError("the prompt encodes to no tokens")
    if len(prompt) + len(completion) > block_size:
        keep = max(block_size - len(prompt), block_size // 2)
        completion = completion[: min(keep, block_size - 1)]
        prompt = prompt[-(block_size - len(completion)) :]
    return Encoded(ids=[*prompt, *completion], prompt_len=len(prompt))


def encode_completion(
    tokenizer, prompt: str, completion: str, block_size: int, end_text: str = END_TEXT
) -> Encoded:
    """Tokenize ``prompt`` and ``completion + end_text`` (separately, so the boundary is exact)."""
    return fit_to_window(
        tokenizer.encode(prompt), tokenizer.encode(completion + end_text), block_size
    )


@dataclass
class SequenceBatch:
    """Right-padded sequences.

    ``ids`` ``(B, T)``; ``completion_mask`` ``(B, T - 1)`` is True where the *target* token
    ``ids[:, t + 1]`` belongs to the completion; ``last`` ``(B,)`` is the index of each row's last
    real token (where a reward head reads the sequence).
    """

    ids: torch.Tensor
    completion_mask: torch.Tensor
    last: torch.Tensor

    def to(self, device: torch.device | str) -> SequenceBatch:
        return SequenceBatch(
            self.ids.to(device), self.completion_mask.to(device), self.last.to(device)
        )

    def __len__(self) -> int:
        return self.ids.size(0)


def pad_batch(rows: Sequence[Encoded], pad_id: int = 0) -> SequenceBatch:
    """Right-pad ``rows`` into a :class:`SequenceBatch` (padding sits after each row's last real
    token, so a causal model's states at the real tokens do not depend on it)."""
    if not rows:
        raise ValueError("cannot pad an empty batch")
    width = max(len(row.ids) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), max(width - 1, 1)), dtype=torch.bool)
    last = torch.zeros(len(rows), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row.ids)] = torch.tensor(row.ids, dtype=torch.long)
        # Target positions prompt_len .. len-1 are completion tokens, scored at t = target - 1.
        mask[i, row.prompt_len - 1 : len(row.ids) - 1] = True
        last[i] = len(row.ids) - 1
    return SequenceBatch(ids=ids, completion_mask=mask[:, : width - 1], last=last)


def token_logprobs(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """``log p(ids[:, t + 1] | ids[:, : t + 1])`` for every position: ``(B, T - 1)``."""
    logp = F.log_softmax(logits[:, :-1].float(), dim=-1)
    return logp.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)


def completion_logprob(logits: torch.Tensor, batch: SequenceBatch) -> torch.Tensor:
    """Sum of the completion tokens' log-probabilities per row ``(B,)``; prompt and padding
    positions contribute nothing."""
    per_token = token_logprobs(logits, batch.ids)
    return (per_token * batch.completion_mask).sum(dim=-1)


def mean_completion_nll(row_logprobs: torch.Tensor, completion_mask: torch.Tensor) -> torch.Tensor:
    """The mean negative log-likelihood per completion token of rows whose summed completion
    log-probabilities are ``row_logprobs`` (:func:`completion_logprob`): the SFT loss."""
    return -row_logprobs.sum() / completion_mask.sum().clamp(min=1)


def last_hidden(hidden: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
    """The hidden state of each row's last real token: ``(B, C)`` from ``(B, T, C)``."""
    return hidden[torch.arange(hidden.size(0), device=hidden.device), last]


def logits_and_hidden(
    model: torch.nn.Module, ids: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and final hidden states in one pass when the model has ``logits_from_hidden`` (the
    ``gpt`` architecture); otherwise two passes."""
    hidden = model.hidden_states(ids)
    project = getattr(model, "logits_from_hidden", None)
    if callable(project):
        return project(hidden), hidden
    logits, _ = model(ids)
    return logits, hidden
