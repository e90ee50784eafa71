"""Which labelled comparison pairs are held out: one rule for every dataset that reads stored
preference labels, so a reward model trained on some labels and an evaluation of the rest agree
on which are which.

Pairs, not labels, are split (two annotators' labels of one pair never end up on both sides).
Each pair's side is a function of its id and the seed alone, so labelling more pairs later never
moves a pair across: a reward model evaluated on the held-out pairs after new labels arrived has
still trained on none of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def _draw(pair_id: int, seed: int) -> float:
    """A uniform number in [0, 1) fixed by the pair and the seed."""
    digest = hashlib.sha256(f"workbench-preference-labels/{seed}/{pair_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def held_out_pairs(pair_ids: Iterable[int], val_fraction: float, seed: int) -> set[int]:
    """The ids of the pairs kept for validation: each pair with probability ``val_fraction``,
    decided by its id and ``seed`` alone; never every pair (the one drawn highest then trains),
    so something is left to train on."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    draws = {pair_id: _draw(pair_id, seed) for pair_id in set(pair_ids)}
    held = {pair_id for pair_id, draw in draws.items() if draw < val_fraction}
    if held and len(held) == len(draws):
        held.discard(max(held, key=draws.__getitem__))
    return held
