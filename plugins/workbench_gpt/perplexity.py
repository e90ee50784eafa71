"""The ``perplexity`` evaluation: exp(mean next-token loss) of a causal LM on a text split.

The split is cut into consecutive windows of the model's ``block_size`` (every token after the
first is predicted exactly once), so the figure does not depend on random sampling. A few
generations from the start of the split are stored with the run as samples.
"""

from __future__ import annotations

import math

import torch

from workbench.specs import EvaluationContext
from workbench_gpt.specs import PERPLEXITY_SPEC, PerplexityConfig

__all__ = ["PERPLEXITY_SPEC", "PerplexityConfig", "evaluate_perplexity", "perplexity"]


@torch.no_grad()
def perplexity(model: torch.nn.Module, ids: torch.Tensor, batch_size: int) -> tuple[float, int]:
    """(perplexity, tokens scored) of ``ids`` under ``model``, in non-overlapping windows."""
    block = model.block_size
    if ids.numel() < 2:
        raise ValueError("need at least 2 tokens to score")
    windows = []
    for start in range(0, ids.numel() - 1, block):
        x = ids[start : start + block]
        y = ids[start + 1 : start + 1 + block]
        x = x[: y.numel()]
        windows.append((x, y))
    total_loss, total_tokens = 0.0, 0
    model.eval()
    for first in range(0, len(windows), batch_size):
        chunk = windows[first : first + batch_size]
        width = max(x.numel() for x, _ in chunk)
        xs = torch.zeros(len(chunk), width, dtype=torch.long)
        ys = torch.full((len(chunk), width), -1, dtype=torch.long)
        for row, (x, y) in enumerate(chunk):
            xs[row, : x.numel()] = x
            ys[row, : y.numel()] = y
        logits, _ = model(xs)
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)), ys.reshape(-1), ignore_index=-1, reduction="sum"
        )
        total_loss += float(loss)
        total_tokens += int((ys >= 0).sum())
    return math.exp(total_loss / total_tokens), total_tokens


def evaluate_perplexity(ctx: EvaluationContext) -> dict[str, float]:
    cfg: PerplexityConfig = ctx.config  # type: ignore[assignment]
    text = getattr(ctx.dataset, cfg.split, "")
    if not text:
        raise ValueError(f"the dataset has no {cfg.split!r} split")
    ids = torch.tensor(ctx.tokenizer.encode(text), dtype=torch.long)
    if cfg.max_tokens is not None:
        ids = ids[: cfg.max_tokens]
    ppl, scored = perplexity(ctx.model, ids, cfg.batch_size)
    prompt_len = min(32, ctx.model.block_size // 2)
    gen = torch.Generator().manual_seed(ctx.run.seed)
    for i in range(cfg.samples):
        start = i * ctx.model.block_size
        prompt = ids[start : start + prompt_len]
        if prompt.numel() == 0:
            break
        new = ctx.model.generate(
            prompt[None], cfg.sample_tokens, temperature=0.8, top_k=50, generator=gen
        )[0]
        ctx.log_sample(-1, ctx.tokenizer.decode(prompt.tolist()), ctx.tokenizer.decode(new))
    return {"perplexity": ppl, "loss": math.log(ppl), "tokens": float(scored)}
