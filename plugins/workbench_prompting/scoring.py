"""Answering prompts with forward passes only: batched greedy generation, and ranking candidate
answers by their log-likelihood.

Neither function changes a parameter: the model runs under ``torch.inference_mode`` in eval mode.
Prompts longer than the model's context keep their last tokens (the query and the nearest
demonstrations); callers are told which prompts were cut.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Answer:
    """The model's greedy continuation of one prompt, cut at the stop string."""

    text: str
    truncated: bool
    """The prompt was longer than the context window and lost its first tokens."""


def _device(model: torch.nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _fit(ids: list[int], room: int) -> tuple[list[int], bool]:
    if len(ids) <= room:
        return ids, False
    return ids[len(ids) - room :], True


@torch.inference_mode()
def greedy_answers(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    stop: str,
    batch_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Answer]:
    """Greedy (temperature 0) answers of ``model`` to each distinct prompt.

    Prompts whose token counts are equal are decoded together, ``batch_size`` at a time (the
    model's ``generate`` takes equal-length rows), so a run over many prompts costs a few hundred
    batched decodes rather than one per prompt. ``progress(done, total)`` is called after each
    batch.
    """
    unique = list(dict.fromkeys(prompts))
    room = int(model.block_size) - max_new_tokens
    if room < 1:
        raise ValueError(
            f"the model's context ({model.block_size} tokens) leaves no room for a prompt "
            f"before {max_new_tokens} answer tokens"
        )
    stop_ids = [list(tokenizer.encode(stop))] if stop else []
    groups: dict[int, list[tuple[str, list[int], bool]]] = defaultdict(list)
    for prompt in unique:
        ids, cut = _fit(list(tokenizer.encode(prompt)), room)
        if not ids:
            raise ValueError(f"prompt {prompt!r} encodes to no tokens")
        groups[len(ids)].append((prompt, ids, cut))
    device = _device(model)
    answers: dict[str, Answer] = {}
    done = 0
    for length in sorted(groups):
        rows = groups[length]
        for first in range(0, len(rows), batch_size):
            chunk = rows[first : first + batch_size]
            idx = torch.tensor([ids for _, ids, _ in chunk], dtype=torch.long, device=device)
            outputs = model.generate(idx, max_new_tokens, temperature=0.0, stop_sequences=stop_ids)
            for (prompt, _, cut), new in zip(chunk, outputs, strict=True):
                text = tokenizer.decode(list(new))
                if stop and stop in text:
                    text = text.split(stop, 1)[0]
                answers[prompt] = Answer(text=text, truncated=cut)
            done += len(chunk)
            if progress is not None:
                progress(done, len(unique))
    return answers


@torch.inference_mode()
def continuation_logprobs(
    model: Any,
    tokenizer: Any,
    pairs: Sequence[tuple[str, str]],
    *,
    batch_size: int = 64,
) -> list[float]:
    """Summed log-probability of each ``continuation`` given its ``context``.

    Context and continuation are encoded separately and joined (as lm-evaluation-harness does), so
    the continuation's tokens are exactly its own. Rows of different lengths share a batch,
    padded on the right: a causal model's earlier positions never see the padding.
    """
    block = int(model.block_size)
    device = _device(model)
    rows: list[tuple[list[int], int]] = []
    for context, continuation in pairs:
        cont = list(tokenizer.encode(continuation))
        if not cont:
            raise ValueError(f"continuation {continuation!r} encodes to no tokens")
        ids = list(tokenizer.encode(context)) + cont
        # Inputs are ids[:-1]; keep the last block_size of them and every continuation token.
        ids = ids[-(block + 1) :]
        rows.append((ids, min(len(cont), len(ids) - 1)))
    scores: list[float] = []
    was_training = model.training
    model.eval()
    try:
        for first in range(0, len(rows), batch_size):
            chunk = rows[first : first + batch_size]
            width = max(len(ids) - 1 for ids, _ in chunk)
            x = torch.zeros(len(chunk), width, dtype=torch.long, device=device)
            y = torch.full((len(chunk), width), -1, dtype=torch.long, device=device)
            for r, (ids, n_cont) in enumerate(chunk):
                n = len(ids) - 1
                x[r, :n] = torch.tensor(ids[:-1], device=device)
                # Only the continuation's tokens are scored.
                y[r, n - n_cont : n] = torch.tensor(ids[len(ids) - n_cont :], device=device)
            logits, _ = model(x)
            logp = torch.log_softmax(logits.float(), dim=-1)
            picked = logp.gather(-1, y.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            picked = picked.masked_fill(y < 0, 0.0)
            scores.extend(float(v) for v in picked.sum(dim=1))
    finally:
        model.train(was_training)
    return scores
