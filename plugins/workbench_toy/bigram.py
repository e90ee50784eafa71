"""The bigram language model: next-token logits looked up from the current token alone."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from workbench.sampling import generate_tokens
from workbench.specs import ModelContext
from workbench_toy.specs import BIGRAM_SPEC, BigramConfig

__all__ = ["BIGRAM_SPEC", "BigramConfig", "BigramLM", "build_bigram"]


class BigramLM(nn.Module):
    """``logits[t] = table[idx[t]]``: a causal LM with no context beyond one token."""

    def __init__(self, config: BigramConfig, vocab_size: int):
        super().__init__()
        self.config = config
        self.vocab_size = vocab_size
        self.block_size = config.block_size
        self.table = nn.Embedding(vocab_size, vocab_size)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        logits = self.table(idx)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(
                logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1
            )
        return logits, loss

    def hidden_states(self, idx: torch.Tensor) -> torch.Tensor:
        return self.table(idx)

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        stop_sequences: Sequence[Sequence[int]] | None = None,
        use_cache: bool = True,
        generator: torch.Generator | None = None,
    ) -> list[list[int]]:
        return generate_tokens(
            self,
            idx,
            max_new_tokens,
            lambda seq, step: self.table(seq[:, -1]),  # a bigram reads the last token only
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            stop_sequences=stop_sequences,
            generator=generator,
        )

    def optimizer_groups(self, weight_decay: float) -> list[dict]:
        return [{"params": list(self.parameters()), "weight_decay": 0.0}]


def build_bigram(config: BigramConfig, ctx: ModelContext) -> BigramLM:
    return BigramLM(config, ctx.vocab_size)
