"""Token sampling shared by every generating model: temperature, top-k, nucleus (top-p), and
stop sequences. Architecture plugins call these so that all models sample the same way:
:func:`generate_tokens` is the whole loop of a causal LM's ``generate``, given the model's way
of computing the next token's logits (with its own cache, if any)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F


def check_generate_args(
    idx: torch.Tensor,
    max_new_tokens: int,
    temperature: float,
    top_k: int | None,
    top_p: float | None,
) -> None:
    """Refuse arguments of a ``generate`` call that no model can honour, naming the argument."""
    if idx.dim() != 2 or idx.size(1) == 0:
        raise ValueError(f"idx must have shape (batch, time>0), got {tuple(idx.shape)}")
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")


def sample_next(
    logits: torch.Tensor,
    temperature: float,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Pick one token per row of ``logits`` ``(B, V)``; ``temperature == 0`` is greedy."""
    logits = logits.float()
    if temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits / temperature
    if top_k is not None and top_k < logits.size(-1):
        kth_best = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth_best, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = F.softmax(sorted_logits, dim=-1)
        # Drop a token when the tokens ranked above it already reach top_p (the best is kept).
        mass_before = probs.cumsum(dim=-1) - probs
        sorted_logits = sorted_logits.masked_fill(mass_before >= top_p, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    probs = F.softmax(logits, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(1)


class StopTracker:
    """Collects each row's new tokens and ends a row at its first completed stop sequence (which
    is removed from the output). When several stop sequences complete on the same token, the
    longest is removed."""

    def __init__(self, batch: int, stop_sequences: Sequence[Sequence[int]] | None = None):
        self.outputs: list[list[int]] = [[] for _ in range(batch)]
        self.done = [False] * batch
        self._stops = sorted(
            (list(s) for s in stop_sequences or () if len(s) > 0), key=len, reverse=True
        )

    def add(self, tokens: torch.Tensor) -> bool:
        """Append one token per row; returns True when every row has stopped."""
        for row, token in enumerate(tokens.tolist()):
            if self.done[row]:
                continue
            out = self.outputs[row]
            out.append(token)
            for stop in self._stops:
                if out[-len(stop) :] == stop:
                    del out[-len(stop) :]
                    self.done[row] = True
                    break
        return all(self.done)


def generate_tokens(
    model: torch.nn.Module,
    idx: torch.Tensor,
    max_new_tokens: int,
    next_logits: Callable[[torch.Tensor, int], torch.Tensor],
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    stop_sequences: Sequence[Sequence[int]] | None = None,
    generator: torch.Generator | None = None,
) -> list[list[int]]:
    """The sampling loop of :meth:`workbench.protocols.CausalLM.generate`: continue each row of
    the equal-length prompts ``idx`` ``(B, T)`` and return each row's new tokens, cut at its first
    stop sequence (which is dropped).

    ``next_logits(seq, step)`` gives the logits ``(B, V)`` of the token after ``seq`` (the prompt
    and the tokens sampled so far; ``step`` counts from 0), keeping whatever cache the model uses
    between calls. The arguments are checked first (:func:`check_generate_args`); the model is in
    eval mode during the loop and gets its previous mode back afterwards; generation ends early
    once every row has stopped."""
    check_generate_args(idx, max_new_tokens, temperature, top_k, top_p)
    tracker = StopTracker(idx.size(0), [list(s) for s in (stop_sequences or ())])
    was_training = model.training
    model.eval()
    try:
        seq = idx
        for step in range(max_new_tokens):
            next_tokens = sample_next(next_logits(seq, step), temperature, top_k, top_p, generator)
            seq = torch.cat([seq, next_tokens.unsqueeze(1)], dim=1)
            if tracker.add(next_tokens):
                break
        return tracker.outputs
    finally:
        model.train(was_training)
