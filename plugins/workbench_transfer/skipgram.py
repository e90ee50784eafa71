"""Skip-gram with negative sampling (Mikolov et al. 2013, "Distributed Representations of Words
and Phrases and their Compositionality"): the data and the loss, as plain PyTorch.

Every word ``c`` of the corpus predicts the words ``o`` around it. Rather than a softmax over the
vocabulary, each true ``(c, o)`` pair is contrasted with ``negatives`` words drawn from the
unigram distribution raised to the 3/4 power:

    loss = -log sigmoid(u_o . v_c) - sum_k log sigmoid(-u_k . v_c)

``v`` is the input embedding table (the word vectors a task model later reads) and ``u`` a
second, "context" table that is thrown away afterwards. Frequent words are dropped from the
stream with probability ``1 - sqrt(t / f)`` (sub-sampling), and the window radius is drawn
uniformly from ``1 .. window`` for each pair, which weights near words more (word2vec's dynamic
window).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import IterableDataset

__all__ = [
    "ContextVectors",
    "SkipGramBatches",
    "noise_distribution",
    "sgns_loss",
    "subsample",
]

SkipGramBatch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
"""``(centers (B,), contexts (B,), negatives (B, K))`` token ids."""


def token_counts(ids: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """How often each id occurs in ``ids``, ``(vocab_size,)`` float."""
    return torch.bincount(ids, minlength=vocab_size).float()


def noise_distribution(counts: torch.Tensor, power: float = 0.75) -> torch.Tensor:
    """Probabilities of drawing each id as a negative: ``count ** power``, normalised (ids that
    never occur are never drawn)."""
    weights = counts.clamp(min=0) ** power
    if weights.sum() <= 0:
        raise ValueError("no token occurs in the training text")
    return weights / weights.sum()


def subsample(
    ids: torch.Tensor, counts: torch.Tensor, threshold: float, generator: torch.Generator
) -> torch.Tensor:
    """Drop each occurrence of a word of frequency ``f`` with probability ``1 - sqrt(t / f)``
    (kept always when ``f <= t``); ``threshold <= 0`` keeps everything."""
    if threshold <= 0:
        return ids
    freq = counts / counts.sum()
    keep_prob = (threshold / freq.clamp(min=1e-12)).sqrt().clamp(max=1.0)
    keep = torch.rand(ids.numel(), generator=generator) < keep_prob[ids]
    return ids[keep]


class SkipGramBatches(IterableDataset):
    """Endless batches of ``(center, context, negatives)`` ids drawn from the token stream ``ids``.

    Each pair takes a random position, a radius from ``1 .. window`` and a side; a context that
    would fall off either end of the stream is taken from the other side. Every process draws the
    same global batch from ``seed`` and keeps its slice (as ``pretrain``'s windows do); ``skip``
    batches are drawn and dropped first, so a resumed run continues the stream.
    """

    def __init__(
        self,
        ids: torch.Tensor,
        noise: torch.Tensor,
        window: int,
        negatives: int,
        batch_size: int,
        seed: int,
        rank: int = 0,
        world: int = 1,
        skip: int = 0,
    ) -> None:
        if ids.numel() <= window:
            raise ValueError(
                f"the text has {ids.numel()} usable tokens, too few for a window of {window}"
            )
        self.ids, self.noise, self.window, self.negatives = ids, noise, window, negatives
        self.batch_size, self.seed, self.rank, self.world, self.skip = (
            batch_size,
            seed,
            rank,
            world,
            skip,
        )

    def _draw(self, gen: torch.Generator) -> SkipGramBatch:
        n, total = self.ids.numel(), self.batch_size * self.world
        centers = torch.randint(n, (total,), generator=gen)
        radius = torch.randint(1, self.window + 1, (total,), generator=gen)
        side = torch.randint(2, (total,), generator=gen) * 2 - 1
        contexts = centers + side * radius
        off_end = (contexts < 0) | (contexts >= n)
        contexts = torch.where(off_end, centers - side * radius, contexts)
        negatives = torch.multinomial(self.noise, total * self.negatives, True, generator=gen)
        mine = slice(self.rank * self.batch_size, (self.rank + 1) * self.batch_size)
        return (
            self.ids[centers][mine],
            self.ids[contexts][mine],
            negatives.view(total, self.negatives)[mine],
        )

    def __iter__(self) -> Iterator[SkipGramBatch]:
        gen = torch.Generator().manual_seed(self.seed)
        for _ in range(self.skip):
            self._draw(gen)
        for _ in itertools.count():
            yield self._draw(gen)


class FixedSkipGramBatches(IterableDataset):
    """The same validation batches at every validation."""

    def __init__(self, source: SkipGramBatches, n_batches: int) -> None:
        self.batches: Sequence[SkipGramBatch] = list(itertools.islice(iter(source), n_batches))

    def __iter__(self) -> Iterator[SkipGramBatch]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


class ContextVectors(nn.Module):
    """The "output" vectors ``u`` of skip-gram: one per word, zero at the start (as in word2vec,
    so the first updates move only the input vectors' partners)."""

    def __init__(self, vocab_size: int, dim: int) -> None:
        super().__init__()
        self.vectors = nn.Embedding(vocab_size, dim)
        nn.init.zeros_(self.vectors.weight)

    def forward(
        self, center_vectors: torch.Tensor, contexts: torch.Tensor, negatives: torch.Tensor
    ) -> torch.Tensor:
        """The mean SGNS loss of centres ``(B, D)`` against true ``contexts`` ``(B,)`` and
        ``negatives`` ``(B, K)``."""
        return sgns_loss(center_vectors, self.vectors(contexts), self.vectors(negatives))


def sgns_loss(center: torch.Tensor, context: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
    """``-log s(u_o . v_c) - sum_k log s(-u_k . v_c)``, averaged over the batch: ``center`` and
    ``context`` ``(B, D)``, ``negatives`` ``(B, K, D)``."""
    center, context, negatives = center.float(), context.float(), negatives.float()
    positive = F.logsigmoid((center * context).sum(-1))
    negative = F.logsigmoid(-torch.bmm(negatives, center.unsqueeze(-1)).squeeze(-1)).sum(-1)
    return -(positive + negative).mean()
