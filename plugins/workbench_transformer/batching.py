"""Token-based batching of encoded pairs, and padding them into tensors.

As in the paper (section 5.1), a batch is sized by tokens, not sentences: pairs of similar length
are grouped so that little of a batch is padding, and each batch holds as many pairs as fit in
``max_tokens`` padded positions (batch rows times its longest sequence). Training batches are
reshuffled every epoch from a seeded stream, so twin runs with the same seed see the same batches
in the same order.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch.utils.data import IterableDataset

from workbench.protocols import Seq2SeqTokenIds

__all__ = ["Batch", "EncodedPair", "FixedBatches", "TokenBatches", "collate", "token_batches"]


@dataclass(frozen=True)
class EncodedPair:
    """Token ids of one pair: ``source`` ends with ``<eos>``; ``target`` has no specials."""

    source: list[int]
    target: list[int]

    @property
    def length(self) -> int:
        """Positions the pair takes in a batch: the longer of the source and the decoder input
        (``<bos>`` + target) / output (target + ``<eos>``)."""
        return max(len(self.source), len(self.target) + 1)


Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
"""``(src, tgt_in, tgt_out)``: ``(B, S)``, ``(B, T)``, ``(B, T)``, padded with ``<pad>``."""


def token_batches(
    lengths: Sequence[int], max_tokens: int, rng: random.Random | None = None
) -> list[list[int]]:
    """Group example indices into batches of at most ``max_tokens`` padded positions.

    Examples are sorted by length (ties in a random order when ``rng`` is given) and packed
    greedily; with ``rng`` the batch order is then shuffled. Without it the result is fixed.
    """
    order = list(range(len(lengths)))
    if rng is not None:
        rng.shuffle(order)
    order.sort(key=lambda i: lengths[i])  # stable: equal lengths keep the shuffled order
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for index in order:
        length = lengths[index]
        if length > max_tokens:
            raise ValueError(
                f"an example takes {length} positions, more than max_tokens ({max_tokens}); "
                "raise stage.max_tokens"
            )
        widest = max(longest, length)
        if current and widest * (len(current) + 1) > max_tokens:
            batches.append(current)
            current, widest = [], length
        current.append(index)
        longest = widest
    if current:
        batches.append(current)
    if rng is not None:
        rng.shuffle(batches)
    return batches


def collate(pairs: Sequence[EncodedPair], ids: Seq2SeqTokenIds) -> Batch:
    """Pad a batch: source + ``<eos>``; decoder input ``<bos>`` + target; decoder output target
    + ``<eos>``."""
    S = max(len(p.source) for p in pairs)
    T = max(len(p.target) for p in pairs) + 1
    src = torch.full((len(pairs), S), ids.pad, dtype=torch.long)
    tgt_in = torch.full((len(pairs), T), ids.pad, dtype=torch.long)
    tgt_out = torch.full((len(pairs), T), ids.pad, dtype=torch.long)
    for row, pair in enumerate(pairs):
        n = len(pair.target)
        src[row, : len(pair.source)] = torch.tensor(pair.source, dtype=torch.long)
        tgt_in[row, : n + 1] = torch.tensor([ids.bos, *pair.target], dtype=torch.long)
        tgt_out[row, : n + 1] = torch.tensor([*pair.target, ids.eos], dtype=torch.long)
    return src, tgt_in, tgt_out


class TokenBatches(IterableDataset):
    """Endless training batches: every epoch re-groups and reshuffles from ``(seed, epoch)``."""

    def __init__(
        self, pairs: Sequence[EncodedPair], ids: Seq2SeqTokenIds, max_tokens: int, seed: int
    ) -> None:
        if not pairs:
            raise ValueError("no training pairs")
        self.pairs, self.ids, self.max_tokens, self.seed = list(pairs), ids, max_tokens, seed
        self.lengths = [p.length for p in self.pairs]
        token_batches(self.lengths, max_tokens)  # fail now, not in the data loader

    def __iter__(self) -> Iterator[Batch]:
        epoch = 0
        while True:
            rng = random.Random(f"workbench-transformer/batches/{self.seed}/{epoch}")
            for batch in token_batches(self.lengths, self.max_tokens, rng):
                yield collate([self.pairs[i] for i in batch], self.ids)
            epoch += 1


class FixedBatches(IterableDataset):
    """The same batches, in the same order, every time (validation)."""

    def __init__(self, pairs: Sequence[EncodedPair], ids: Seq2SeqTokenIds, max_tokens: int) -> None:
        lengths = [p.length for p in pairs]
        self.batches = [
            collate([pairs[i] for i in batch], ids) for batch in token_batches(lengths, max_tokens)
        ]

    def __iter__(self) -> Iterator[Batch]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)
