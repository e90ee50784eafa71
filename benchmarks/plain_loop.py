"""A plain PyTorch training loop, nanoGPT's ``train.py`` in miniature, run as its own process.

    python benchmarks/plain_loop.py --data ../shared/data/tinyshakespeare.txt [--steps 2000]

The yardstick for the workbench's whole-run wall time (``benchmarks/pretrain_cpu.py --only
wholerun``): the same work as ``configs/shakespeare-char-cpu.yaml`` — characters of the first 90%
of the text, the ``nanogpt-cpu`` GPT shape, random windows of batch 12, AdamW with weight decay on
matrices only, warm-up then cosine, gradient clipping, the loss read every step, validation on 20
fixed batches every 250 steps with a checkpoint written after it — and nothing else: no
framework, no database, no progress bar. Imports only torch and the model's own module.
Prints ``plain_val_loss: V`` and ``plain_wall_s: S`` (from this process's start).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lr_at(step: int, lr: float, min_lr: float, warmup: int, decay: int) -> float:
    if step < warmup:
        return lr * (step + 1) / (warmup + 1)
    if step >= decay:
        return min_lr
    progress = (step - warmup) / max(1, decay - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (lr - min_lr)


def windows(ids, block: int, batch: int, generator):  # noqa: ANN001, ANN201 - torch in main
    import torch

    starts = torch.randint(ids.numel() - block, (batch,), generator=generator)
    index = starts[:, None] + torch.arange(block)
    return ids[index], ids[index + 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--eval-interval", type=int, default=250)
    parser.add_argument("--seed", type=int, default=1337)
    args = parser.parse_args()

    import torch

    from workbench_gpt.model import GPT, GPTConfig  # torch, pydantic and the model only

    torch.manual_seed(args.seed)
    text = args.data.read_text(encoding="utf-8")
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    cut = int(len(ids) * 0.9)
    train, val = ids[:cut], ids[cut:]

    model = GPT(GPTConfig(n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0), len(chars))
    optimizer = torch.optim.AdamW(model.optimizer_groups(0.1), lr=1e-3, betas=(0.9, 0.99))
    gen = torch.Generator().manual_seed(args.seed)
    val_gen = torch.Generator().manual_seed(args.seed + 1)
    val_batches = [windows(val, 64, 12, val_gen) for _ in range(20)]
    checkpoint = Path(tempfile.mkdtemp()) / "ckpt.pt"
    val_loss = float("nan")
    for step in range(1, args.steps + 1):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step - 1, 1e-3, 1e-4, 100, args.steps)
        x, y = windows(train, 64, 12, gen)
        _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss.item()  # the workbench logs the loss every step
        if step % args.eval_interval == 0 or step == args.steps:
            model.eval()
            with torch.no_grad():
                val_loss = sum(float(model(a, b)[1]) for a, b in val_batches) / len(val_batches)
            model.train()
            torch.save(
                {"model": model.state_dict(), "optimizer": optimizer.state_dict()}, checkpoint
            )
    checkpoint.unlink()
    checkpoint.parent.rmdir()

    from workbench.runner.startup import process_started_at

    print(f"plain_val_loss: {val_loss:.4f}")
    print(f"plain_wall_s: {time.time() - process_started_at():.2f}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "plugins"))
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
