"""Options of the ``gpt`` architecture, apart from the model so that validating a config does not
import torch (the model re-exports :class:`GPTConfig`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["GPTConfig"]


class GPTConfig(BaseModel):
    """Options of the ``gpt`` architecture (validated from a run's ``architecture:`` block)."""

    model_config = ConfigDict(extra="forbid")

    n_layer: int = Field(4, ge=1, le=128, description="Number of Transformer blocks.")
    n_head: int = Field(4, ge=1, le=128, description="Attention heads per block.")
    n_embd: int = Field(
        128, ge=1, le=16384, description="Width of the residual stream; divisible by n_head."
    )
    block_size: int = Field(
        64, ge=1, le=131072, description="Longest context (number of learned positions)."
    )
    dropout: float = Field(
        0.0, ge=0.0, le=1.0, description="Dropout on embeddings, attention and residual branches."
    )
    bias: bool = Field(True, description="Use biases in the linear layers and LayerNorms.")
    norm: Literal["pre", "post"] = Field(
        "pre",
        description=(
            "Where the LayerNorm sits: 'pre' normalises each sub-layer's input (GPT-2), 'post' "
            "normalises after the residual addition (GPT-1)."
        ),
    )
    tie_weights: bool = Field(
        True, description="Share the token embedding matrix with the output (lm_head) layer."
    )
    preset: str | None = Field(
        None,
        description="Named preset the options start from (resolved by the core; the model ignores it).",
    )
    pad_vocab_to: int = Field(
        1,
        ge=1,
        le=4096,
        description=(
            "Round the embedding/output vocabulary up to a multiple of this (64 is good on GPUs); "
            "the padding rows are never predicted."
        ),
    )

    @model_validator(mode="after")
    def _heads_divide_width(self) -> GPTConfig:
        if self.n_embd % self.n_head != 0:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        return self
