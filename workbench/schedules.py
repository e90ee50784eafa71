"""Learning-rate schedules shared by stages, as multipliers of the peak rate."""

from __future__ import annotations

import math


def warmup_cosine(step: int, warmup: int, total: int, min_ratio: float = 0.1) -> float:
    """Linear warm-up over ``warmup`` steps (from ``1/(warmup+1)`` of the peak), then cosine
    decay to ``min_ratio`` of the peak at step ``total``, flat after it (nanoGPT's schedule)."""
    if step < warmup:
        return (step + 1) / (warmup + 1)
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + 0.5 * (1.0 + math.cos(math.pi * progress)) * (1.0 - min_ratio)
