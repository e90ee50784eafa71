"""AdamW with a linear warm-up and cosine decay, shared by the RLHF stages."""

from __future__ import annotations

import torch

from workbench.schedules import warmup_cosine


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
