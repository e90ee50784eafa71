"""AdamW with a linear warm-up and cosine decay, shared by the RLHF stages."""

from __future__ import annotations

import math

import torch


def warmup_cosine(step: int, warmup: int, total: int, min_ratio: float = 0.1) -> float:
    """Multiplier of the peak learning rate at ``step``: linear warm-up over ``warmup`` steps,
    then cosine decay to ``min_ratio`` at ``total``."""
    if step < warmup:
        return (step + 1) / (warmup + 1)
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + 0.5 * (1.0 + math.cos(math.pi * progress)) * (1.0 - min_ratio)


def adamw(
    groups: list[dict],
    lr: float,
    device: torch.device,
    warmup: int,
    total: int,
    betas: tuple[float, float] = (0.9, 0.95),
) -> dict:
    """What ``configure_optimizers`` returns: AdamW stepping a per-step warm-up/cosine schedule."""
    optimizer = torch.optim.AdamW(groups, lr=lr, betas=betas, fused=device.type == "cuda")
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: warmup_cosine(step, warmup, total)
    )
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
