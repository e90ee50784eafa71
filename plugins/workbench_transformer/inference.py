"""Text in, text out: encoding sources, decoding them in batches, and checking lengths.

Shared by the ``seq2seq`` stage's validation and the ``bleu`` / ``exact-match`` evaluations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from workbench.protocols import Seq2SeqTokenIds

__all__ = ["decode_texts", "encode_source", "max_new_tokens"]


def encode_source(tokenizer: Any, ids: Seq2SeqTokenIds, text: str) -> list[int]:
    """Source ids: the text's tokens followed by ``<eos>``."""
    return [*tokenizer.encode(text), ids.eos]


def max_new_tokens(model: Any, source_len: int, ratio: float, extra: int) -> int:
    """Longest output to generate for a source of ``source_len`` tokens: ``ceil(ratio *
    source_len) + extra``, capped by the decoder's positions (``<bos>`` takes one)."""
    return max(1, min(model.max_len - 1, math.ceil(ratio * source_len) + extra))


@torch.no_grad()
def decode_texts(
    model: Any,
    tokenizer: Any,
    ids: Seq2SeqTokenIds,
    sources: Sequence[str],
    *,
    beam_size: int = 1,
    length_penalty: float = 0.6,
    batch_size: int = 64,
    max_len_ratio: float = 1.5,
    max_len_extra: int = 10,
    device: torch.device | str | None = None,
) -> list[str]:
    """Decode every source (greedy when ``beam_size == 1``, else beam search) and return the
    output texts in the order of ``sources``. Sources are batched by length."""
    if device is None:
        device = next(model.parameters()).device
    encoded = [encode_source(tokenizer, ids, text) for text in sources]
    for index, source in enumerate(encoded):
        if len(source) > model.max_len:
            raise ValueError(
                f"source {index} has {len(source)} tokens (with <eos>), more than the model's "
                f"max_len ({model.max_len})"
            )
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    outputs: list[str] = [""] * len(encoded)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        width = max(len(encoded[i]) for i in chunk)
        src = torch.full((len(chunk), width), ids.pad, dtype=torch.long)
        for row, i in enumerate(chunk):
            src[row, : len(encoded[i])] = torch.tensor(encoded[i], dtype=torch.long)
        src = src.to(device)
        generated = model.generate(
            src,
            src == ids.pad,
            bos_id=ids.bos,
            eos_id=ids.eos,
            max_new_tokens=max_new_tokens(model, width, max_len_ratio, max_len_extra),
            beam_size=beam_size,
            length_penalty=length_penalty,
            banned_ids=(ids.pad, ids.bos),
        )
        for i, out in zip(chunk, generated, strict=True):
            outputs[i] = tokenizer.decode(out)
    return outputs
