"""Drawing seeded train / val / test splits of generated pairs, with held-out sources kept out of
training.

Validation and test are drawn first, each source distinct and never in another held-out split;
training pairs are then drawn independently (a pair may repeat within training, as with data
generated on the fly) but never with a held-out source. Every stream is a ``random.Random`` seeded
with a string, so the same seed gives the same pairs on every machine and Python version.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from workbench.data import Pair, Seq2SeqPairs

__all__ = ["draw_splits", "task_rng"]


def task_rng(task: str, seed: int) -> random.Random:
    """The random stream of one task and seed (string seeding is stable across processes)."""
    return random.Random(f"workbench-transformer/{task}/{seed}")


def draw_splits(
    task: str,
    draw: Callable[[random.Random], Pair],
    *,
    seed: int,
    train_size: int,
    val_size: int,
    test_size: int,
    extras: dict | None = None,
) -> Seq2SeqPairs:
    """``train_size`` / ``val_size`` / ``test_size`` pairs from ``draw``; errors when the task has
    too few distinct sources to fill the held-out splits."""
    rng = task_rng(task, seed)
    held_out: set[str] = set()
    splits: dict[str, list[Pair]] = {}
    for name, size in (("val", val_size), ("test", test_size)):
        pairs: list[Pair] = []
        attempts = 0
        while len(pairs) < size:
            attempts += 1
            if attempts > 50 * size + 1000:
                raise ValueError(
                    f"{task}: could not draw {size} distinct {name} examples (only "
                    f"{len(pairs)} found); the task's options allow too few different sources"
                )
            pair = draw(rng)
            if pair[0] not in held_out:
                held_out.add(pair[0])
                pairs.append(pair)
        splits[name] = pairs
    train: list[Pair] = []
    attempts = 0
    while len(train) < train_size:
        attempts += 1
        if attempts > 50 * train_size + 1000:
            raise ValueError(
                f"{task}: the held-out splits use up almost every possible source; lower "
                "val_size / test_size or widen the task's options"
            )
        pair = draw(rng)
        if pair[0] not in held_out:
            train.append(pair)
    return Seq2SeqPairs(
        train=train, val=splits["val"], test=splits["test"], extras=dict(extras or {})
    )
