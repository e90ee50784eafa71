"""Looking at word vectors: the input embedding of a model, cosine similarities and nearest
neighbours ("which words does the model think are alike?")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "cosine",
    "describe_neighbours",
    "input_embedding",
    "nearest_neighbours",
    "require_embedding",
    "special_ids",
]


def require_embedding(model: nn.Module) -> nn.Embedding:
    """The model's ``embedding`` table, or an error saying which architectures have one."""
    table = getattr(model, "embedding", None)
    if not isinstance(table, nn.Embedding):
        raise ValueError(
            f"{type(model).__name__} has no input embedding table named 'embedding' (an "
            "nn.Embedding); word vectors are trained for models that read one, e.g. the "
            "word-vector-lstm and lstm-lm architectures"
        )
    return table


def input_embedding(model: nn.Module) -> nn.Embedding:
    """The table that maps token ids to input vectors: ``model.embedding``, or a GPT's token
    embedding ``model.transformer.wte``."""
    transformer = getattr(model, "transformer", None)
    wte = getattr(transformer, "wte", None) if transformer is not None else None
    if not isinstance(getattr(model, "embedding", None), nn.Embedding) and isinstance(
        wte, nn.Embedding
    ):
        return wte
    return require_embedding(model)


def cosine(vectors: torch.Tensor, a: Sequence[int], b: Sequence[int]) -> torch.Tensor:
    """Cosine similarity of rows ``a[i]`` and ``b[i]`` of ``vectors``, ``(len(a),)``."""
    va = vectors[torch.as_tensor(list(a), dtype=torch.long)]
    vb = vectors[torch.as_tensor(list(b), dtype=torch.long)]
    return F.cosine_similarity(va.float(), vb.float(), dim=-1)


@torch.no_grad()
def nearest_neighbours(
    vectors: torch.Tensor,
    tokenizer: Any,
    word: str,
    k: int = 5,
    exclude: Sequence[int] = (),
) -> list[tuple[str, float]]:
    """The ``k`` words whose vectors have the highest cosine with ``word``'s, best first, as
    ``(word, cosine)``; ``word`` itself and the ids in ``exclude`` are skipped. ``word`` must
    be one token of ``tokenizer``."""
    ids = tokenizer.encode(word)
    if len(ids) != 1:
        raise ValueError(f"{word!r} is not a single token of the tokenizer ({len(ids)} tokens)")
    unit = F.normalize(vectors.float(), dim=-1)
    scores = unit @ unit[ids[0]]
    scores[ids[0]] = float("-inf")
    for token in exclude:
        scores[token] = float("-inf")
    k = min(k, int(torch.isfinite(scores).sum()))
    best = torch.topk(scores, k)
    return [
        (tokenizer.decode([int(i)]), float(s))
        for s, i in zip(best.values, best.indices, strict=True)
    ]


def special_ids(tokenizer: Any) -> list[int]:
    """Ids of the tokenizer's special tokens (``<pad>``, ``<unk>``, ...) where it lists them."""
    tokens = getattr(tokenizer, "special_tokens", None)
    lookup = getattr(tokenizer, "token_id", None)
    if not tokens or not callable(lookup):
        return []
    return [int(lookup(token)) for token in tokens]


def describe_neighbours(neighbours: Sequence[tuple[str, float]]) -> str:
    """``"sad 0.81, happy 0.77"``: for logged samples and the CLI."""
    return ", ".join(f"{word} {score:.2f}" for word, score in neighbours)
