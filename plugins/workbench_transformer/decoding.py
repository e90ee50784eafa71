"""Greedy decoding and beam search over any :class:`workbench.protocols.Seq2SeqModel`, batched.

Both encode the sources once and then feed one token per step through the model's decoder cache
(``new_cache`` / ``decode_step``).

Beam search keeps ``beam_size`` live hypotheses per source. At each step it scores every one-token
extension by its total log-probability and looks at the best ``2 * beam_size``: a candidate ending
in ``<eos>`` that ranks among the best ``beam_size`` becomes a finished hypothesis, the others
refill the live beam. Finished hypotheses are ranked by the length-normalised score ``log p /
lp``, where ``lp = ((5 + length) / 6) ** length_penalty`` (Wu et al. 2016, used by the paper with
``length_penalty = 0.6``) and ``length`` counts the generated tokens including ``<eos>``; the best
``beam_size`` are kept.

A source is done when it has ``beam_size`` finished hypotheses and the best live one, scored as if
it ended now, cannot beat the worst of them (the rule of Hugging Face's ``early_stopping=False``;
exact when ``length_penalty == 0``, since log-probabilities only fall as a hypothesis grows), or at
``max_new_tokens``, when the live hypotheses compete as they are. Stopping as soon as
``beam_size`` hypotheses have finished would be wrong for small vocabularies: there ``<eos>``
often ranks among the top few of a flat tail, and such junk hypotheses would fill the finished set
before the real one ends. With ``beam_size == 1`` the search is exactly greedy decoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

__all__ = ["beam_search", "greedy_decode", "length_penalty_factor"]


def length_penalty_factor(length: int, alpha: float) -> float:
    """GNMT's ``((5 + length) / 6) ** alpha``."""
    return ((5.0 + length) / 6.0) ** alpha


def _ban(logits: torch.Tensor, banned_ids: Sequence[int]) -> torch.Tensor:
    if banned_ids:
        logits = logits.clone()
        logits[:, list(banned_ids)] = float("-inf")
    return logits


@torch.no_grad()
def greedy_decode(
    model: Any,
    src: torch.Tensor,
    src_pad: torch.Tensor | None,
    bos_id: int,
    eos_id: int,
    max_new_tokens: int,
    banned_ids: Sequence[int] = (),
) -> list[list[int]]:
    """The most probable token at every step, for each row of ``src``, until ``<eos>`` or
    ``max_new_tokens``; returns the generated ids without ``<eos>``."""
    batch = src.size(0)
    memory = model.encode(src, src_pad)
    cache = model.new_cache()
    tokens = torch.full((batch,), bos_id, dtype=torch.long, device=src.device)
    outputs: list[list[int]] = [[] for _ in range(batch)]
    done = [False] * batch
    for _ in range(max_new_tokens):
        logits = _ban(model.decode_step(tokens, memory, src_pad, cache).float(), banned_ids)
        tokens = logits.argmax(dim=-1)
        for row, token in enumerate(tokens.tolist()):
            if done[row]:
                continue
            if token == eos_id:
                done[row] = True
            else:
                outputs[row].append(token)
        if all(done):
            break
    return outputs


@torch.no_grad()
def beam_search(
    model: Any,
    src: torch.Tensor,
    src_pad: torch.Tensor | None,
    bos_id: int,
    eos_id: int,
    max_new_tokens: int,
    *,
    beam_size: int = 4,
    length_penalty: float = 0.6,
    banned_ids: Sequence[int] = (),
) -> list[list[int]]:
    """Beam search for each row of ``src`` (see the module docstring); returns the generated ids
    of the best hypothesis without ``<eos>``."""
    if beam_size < 1:
        raise ValueError(f"beam_size must be at least 1, got {beam_size}")
    batch, K = src.size(0), beam_size
    device = src.device
    memory = model.encode(src, src_pad).repeat_interleave(K, dim=0)
    pad = src_pad.repeat_interleave(K, dim=0) if src_pad is not None else None
    cache = model.new_cache()
    tokens = torch.full((batch * K,), bos_id, dtype=torch.long, device=device)
    # Only the first beam is live at the start: the others would duplicate it.
    scores = torch.full((batch, K), float("-inf"), device=device)
    scores[:, 0] = 0.0
    sequences: list[list[int]] = [[] for _ in range(batch * K)]
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(batch)]
    done = [False] * batch

    for _ in range(max_new_tokens):
        logits = _ban(model.decode_step(tokens, memory, pad, cache).float(), banned_ids)
        vocab = logits.size(-1)
        logp = logits.log_softmax(dim=-1).view(batch, K, vocab)
        candidates = (scores.unsqueeze(-1) + logp).view(batch, K * vocab)
        n_candidates = min(2 * K, K * vocab)
        top_scores, top_index = candidates.topk(n_candidates, dim=1)
        top_scores_list = top_scores.tolist()
        top_index_list = top_index.tolist()

        next_scores = torch.full((batch, K), float("-inf"), device=device)
        next_rows = torch.zeros(batch * K, dtype=torch.long)
        next_tokens = torch.full((batch * K,), eos_id, dtype=torch.long)
        for b in range(batch):
            base = b * K
            next_rows[base : base + K] = torch.arange(base, base + K)
            if done[b]:
                continue
            filled = 0
            for rank, (score, index) in enumerate(
                zip(top_scores_list[b], top_index_list[b], strict=True)
            ):
                if score == float("-inf"):
                    break
                beam, token = divmod(index, vocab)
                row = base + beam
                if token == eos_id:
                    if rank < K:
                        length = len(sequences[row]) + 1
                        normalised = score / length_penalty_factor(length, length_penalty)
                        finished[b].append((normalised, sequences[row]))
                        finished[b].sort(key=lambda item: item[0], reverse=True)
                        del finished[b][K:]
                    continue
                next_scores[b, filled] = score
                next_rows[base + filled] = row
                next_tokens[base + filled] = token
                filled += 1
                if filled == K:
                    break
            if filled == 0:
                done[b] = True
            elif len(finished[b]) >= K:
                # Live hypotheses now hold step + 1 tokens; could the best still win?
                live_length = len(sequences[base]) + 1
                best_live = float(next_scores[b, 0]) / length_penalty_factor(
                    live_length, length_penalty
                )
                done[b] = best_live <= finished[b][-1][0]
        if all(done):
            break
        rows = next_rows.to(device)
        cache.select(rows)
        sequences = [
            sequences[r] + [t]
            for r, t in zip(next_rows.tolist(), next_tokens.tolist(), strict=True)
        ]
        tokens = next_tokens.to(device)
        scores = next_scores
        for b in range(batch):
            if done[b]:
                scores[b] = float("-inf")

    results: list[list[int]] = []
    scores_list = scores.tolist()
    for b in range(batch):
        pool = list(finished[b])
        if not done[b]:
            # Out of steps: the live hypotheses compete as they are.
            for k in range(K):
                if scores_list[b][k] != float("-inf"):
                    seq = sequences[b * K + k]
                    pool.append(
                        (scores_list[b][k] / length_penalty_factor(len(seq), length_penalty), seq)
                    )
        best = max(pool, key=lambda item: item[0]) if pool else (0.0, [])
        results.append(list(best[1]))
    return results
