"""Options of the ``transformer`` architecture, apart from the model so that validating a config
does not import torch (the model re-exports :class:`TransformerConfig`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["TransformerConfig"]


class TransformerConfig(BaseModel):
    """Options of the ``transformer`` architecture; the defaults are the paper's base model."""

    model_config = ConfigDict(extra="forbid")

    encoder_layers: int = Field(6, ge=1, le=64, description="Number of encoder layers (N).")
    decoder_layers: int = Field(6, ge=1, le=64, description="Number of decoder layers (N).")
    d_model: int = Field(
        512, ge=2, le=16384, description="Width of the residual stream; divisible by n_head."
    )
    n_head: int = Field(8, ge=1, le=128, description="Attention heads per attention sub-layer (h).")
    d_ff: int = Field(2048, ge=1, le=65536, description="Inner width of the feed-forward layers.")
    dropout: float = Field(
        0.1,
        ge=0.0,
        lt=1.0,
        description="Dropout on the embeddings+positions and on every sub-layer output (P_drop).",
    )
    attention_dropout: float = Field(
        0.0, ge=0.0, lt=1.0, description="Dropout on the attention weights."
    )
    norm: Literal["post", "pre"] = Field(
        "post",
        description=(
            "'post' normalises after each residual addition (the paper); 'pre' normalises each "
            "sub-layer's input and adds a final LayerNorm to encoder and decoder."
        ),
    )
    positions: Literal["sinusoidal", "learned"] = Field(
        "sinusoidal", description="Fixed sinusoidal position encodings (the paper) or learned ones."
    )
    max_len: int = Field(
        512,
        ge=2,
        le=65536,
        description="Longest source, and longest decoder input counting <bos>, in tokens.",
    )
    share_embeddings: bool = Field(
        True,
        description=(
            "One matrix for the source embedding, the target embedding and the output projection "
            "(source and target share the tokenizer's vocabulary)."
        ),
    )
    scale_embeddings: bool = Field(
        True, description="Multiply token embeddings by sqrt(d_model) (the paper)."
    )
    bias: bool = Field(True, description="Biases in the linear layers and LayerNorms.")
    preset: str | None = Field(
        None,
        description="Named preset the options start from (resolved by the core; the model ignores it).",
    )

    @model_validator(mode="after")
    def _heads_divide_width(self) -> TransformerConfig:
        if self.d_model % self.n_head != 0:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_head ({self.n_head})"
            )
        return self
