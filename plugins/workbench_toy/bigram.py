"""The bigram language model: next-token logits looked up from the current token alone."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from workbench.protocols import CAUSAL_LM
from workbench.specs import ArchitectureSpec, ModelContext


class BigramConfig(BaseModel):
    """Options of the bigram model."""

    model_config = ConfigDict(extra="forbid")

    block_size: int = Field(64, ge=1, le=65536, description="longest context fed in one pass")


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
        was_training = self.training
        self.eval()
        out: list[list[int]] = [[] for _ in range(idx.size(0))]
        done = [False] * idx.size(0)
        stops = [list(s) for s in stop_sequences or [] if s]
        last = idx[:, -1]
        for _ in range(max_new_tokens):
            logits = self.table(last)
            if temperature == 0:
                nxt = logits.argmax(-1)
            else:
                logits = logits / temperature
                if top_k is not None:
                    kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, -1:]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                if top_p is not None:
                    sorted_logits, order = torch.sort(logits, descending=True)
                    cumulative = F.softmax(sorted_logits, -1).cumsum(-1)
                    drop = cumulative - F.softmax(sorted_logits, -1) > top_p
                    logits = logits.scatter(
                        1, order, sorted_logits.masked_fill(drop, float("-inf"))
                    )
                nxt = torch.multinomial(F.softmax(logits, -1), 1, generator=generator).squeeze(1)
            for row, token in enumerate(nxt.tolist()):
                if done[row]:
                    continue
                out[row].append(token)
                for stop in stops:
                    if out[row][-len(stop) :] == stop:
                        del out[row][-len(stop) :]
                        done[row] = True
                        break
            if all(done):
                break
            last = nxt
        self.train(was_training)
        return out

    def optimizer_groups(self, weight_decay: float) -> list[dict]:
        return [{"params": list(self.parameters()), "weight_decay": 0.0}]


def build_bigram(config: BigramConfig, ctx: ModelContext) -> BigramLM:
    return BigramLM(config, ctx.vocab_size)


BIGRAM_SPEC = ArchitectureSpec(
    name="bigram",
    summary="Bigram LM: next-token logits from the current token only (tests and examples)",
    config=BigramConfig,
    factory=build_bigram,
    protocols=(CAUSAL_LM,),
)
