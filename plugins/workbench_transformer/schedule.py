"""The learning-rate schedule of "Attention Is All You Need" (section 5.3), often called Noam.

``lr = factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)``: linear warm-up for
``warmup`` steps, then decay with the inverse square root of the step number. The peak, at
``step == warmup``, is ``factor * (d_model * warmup)^-0.5``. Steps count from 1.
"""

from __future__ import annotations

__all__ = ["noam_lr"]


def noam_lr(step: int, d_model: int, warmup: int, factor: float = 1.0) -> float:
    """The learning rate at optimizer step ``step`` (1-based; step 0 is treated as step 1)."""
    if d_model < 1 or warmup < 1:
        raise ValueError(f"d_model and warmup must be positive, got {d_model} and {warmup}")
    step = max(step, 1)
    return factor * d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)
