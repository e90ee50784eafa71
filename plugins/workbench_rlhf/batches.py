"""Batches for the RLHF stages: encoded comparison pairs (reward model, DPO) and prompt indices
(PPO), drawn endlessly in a seeded order, with fixed validation batches.

A pair batch holds the ``B`` chosen sequences followed by the ``B`` rejected ones, right-padded
together so one forward pass scores both halves.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, IterableDataset

from workbench_rlhf.sequences import END_TEXT, Encoded, encode_completion, pad_batch

Batch = dict[str, torch.Tensor]


def encode_pairs(
    tokenizer,
    pairs: Sequence[dict[str, str]],
    block_size: int,
    split: str,
    end_text: str = END_TEXT,
) -> list[tuple[Encoded, Encoded]]:
    """Tokenize every pair; an error names the split, the pair and the field."""
    out = []
    for number, pair in enumerate(pairs):
        encoded = []
        for key in ("chosen", "rejected"):
            try:
                encoded.append(
                    encode_completion(tokenizer, pair["prompt"], pair[key], block_size, end_text)
                )
            except ValueError as error:
                raise ValueError(f"{split} pair {number} ({key}): {error}") from None
        out.append((encoded[0], encoded[1]))
    return out


def collate_pairs(pairs: Sequence[tuple[Encoded, Encoded]]) -> Batch:
    """``{"ids", "completion_mask", "last"}`` of the chosen rows, then the rejected rows."""
    batch = pad_batch([c for c, _ in pairs] + [r for _, r in pairs])
    return {"ids": batch.ids, "completion_mask": batch.completion_mask, "last": batch.last}


class ShuffledBatches(IterableDataset):
    """Endless batches of ``batch_size`` items: a fresh seeded permutation every pass, ``skip``
    batches drawn and dropped first (so a resumed run continues the stream)."""

    def __init__(
        self,
        items: Sequence,
        batch_size: int,
        seed: int,
        collate: Callable[[Sequence], Batch],
        skip: int = 0,
    ):
        if not items:
            raise ValueError("no training items")
        self.items, self.batch_size, self.seed = items, batch_size, seed
        self.collate, self.skip = collate, skip

    def _indices(self) -> Iterator[list[int]]:
        gen = torch.Generator().manual_seed(self.seed)
        pending: list[int] = []
        while True:
            while len(pending) < self.batch_size:
                pending += torch.randperm(len(self.items), generator=gen).tolist()
            yield pending[: self.batch_size]
            pending = pending[self.batch_size :]

    def __iter__(self) -> Iterator[Batch]:
        for index in itertools.islice(self._indices(), self.skip, None):
            yield self.collate([self.items[i] for i in index])


class FixedBatches(IterableDataset):
    """Consecutive batches over a validation list (at most ``max_batches``), the same every time."""

    def __init__(
        self,
        items: Sequence,
        batch_size: int,
        collate: Callable[[Sequence], Batch],
        max_batches: int | None = None,
    ):
        starts = range(0, len(items), batch_size)
        if max_batches is not None:
            starts = starts[:max_batches]
        self.batches = [collate(items[s : s + batch_size]) for s in starts]

    def __iter__(self) -> Iterator[Batch]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


class ListData(pl.LightningDataModule):
    """Training batches from :class:`ShuffledBatches`, validation from :class:`FixedBatches`.

    ``batches_done(trainer)`` says how many training batches a resumed run has consumed.
    """

    def __init__(
        self,
        train: Sequence,
        val: Sequence,
        batch_size: int,
        seed: int,
        collate: Callable[[Sequence], Batch],
        val_batches: int | None = None,
        batches_done: Callable[[pl.Trainer], int] | None = None,
    ):
        super().__init__()
        self.train_items, self.batch_size, self.seed, self.collate = (
            train,
            batch_size,
            seed,
            collate,
        )
        self.val_set = FixedBatches(val or train, batch_size, collate, val_batches)
        self.batches_done = batches_done or (
            lambda trainer: trainer.global_step * trainer.accumulate_grad_batches
        )

    def train_dataloader(self) -> DataLoader:
        skip = self.batches_done(self.trainer) if self.trainer is not None else 0
        batches = ShuffledBatches(self.train_items, self.batch_size, self.seed, self.collate, skip)
        return DataLoader(batches, batch_size=None)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=None)


def collate_indices(indices: Sequence[int]) -> Batch:
    return {"index": torch.tensor(list(indices), dtype=torch.long)}
