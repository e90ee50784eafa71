"""Turning transformed records into padded tensors, and a batch's hidden states into features.

A record gives ``K`` sequences (1, 2 or one per choice); a batch of ``B`` records is flattened to
``N`` rows of token ids, right-padded to the longest row. ``group[b, k]`` is the row of record
``b``'s ``k``-th sequence (``-1`` where a multiple-choice record has fewer choices than the
widest one), and ``last[n]`` the position of row ``n``'s final ``<extract>`` token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from workbench_gpt1.transforms import Encode, TaskTokens, lm_targets, record_sequences


@dataclass(frozen=True)
class EncodedRecord:
    """A record's token sequences and its label."""

    sequences: list[list[int]]
    label: int


class TaskBatch(NamedTuple):
    """Padded tensors of a batch of records (a tuple, so Lightning moves it to the device)."""

    ids: torch.Tensor
    """``(N, T)`` token ids, right-padded with 0."""
    targets: torch.Tensor
    """``(N, T)`` next-token targets for the auxiliary LM loss, ``-1`` at padding and at the end."""
    last: torch.Tensor
    """``(N,)`` position of each row's final token (its ``<extract>``)."""
    group: torch.Tensor
    """``(B, K)`` row of each record's sequences, ``-1`` where absent."""
    labels: torch.Tensor
    """``(B,)`` label (or index of the right choice)."""


def encode_records(
    records: Sequence[Mapping[str, Any]],
    task_type: str,
    encode: Encode,
    tokens: TaskTokens,
    block_size: int,
    split: str = "train",
) -> list[EncodedRecord]:
    """Transform every record; errors name the split and record number."""
    out = []
    for number, record in enumerate(records):
        try:
            sequences = record_sequences(record, task_type, encode, tokens, block_size)
        except ValueError as exc:
            raise ValueError(f"{split} record {number}: {exc}") from None
        out.append(EncodedRecord(sequences, int(record["label"])))
    return out


def collate(records: Sequence[EncodedRecord]) -> TaskBatch:
    """Pad a list of encoded records into one :class:`TaskBatch`."""
    rows = [sequence for record in records for sequence in record.sequences]
    width = max(len(row) for row in rows)
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    targets = torch.full((len(rows), width), -1, dtype=torch.long)
    for n, row in enumerate(rows):
        ids[n, : len(row)] = torch.tensor(row)
        targets[n, : len(row)] = torch.tensor(lm_targets(row))
    last = torch.tensor([len(row) - 1 for row in rows], dtype=torch.long)
    widest = max(len(record.sequences) for record in records)
    group = torch.full((len(records), widest), -1, dtype=torch.long)
    start = 0
    for b, record in enumerate(records):
        k = len(record.sequences)
        group[b, :k] = torch.arange(start, start + k)
        start += k
    labels = torch.tensor([record.label for record in records], dtype=torch.long)
    return TaskBatch(ids, targets, last, group, labels)


def final_states(hidden: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
    """The hidden state at each row's final token: ``(N, T, C)`` -> ``(N, C)``."""
    return hidden[torch.arange(hidden.size(0), device=hidden.device), last]
