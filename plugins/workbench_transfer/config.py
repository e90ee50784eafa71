"""Options of the ``lstm-lm`` and ``word-vector-lstm`` architectures, apart from the models so
that validating a config does not import torch (the model modules re-export them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LSTMLMConfig", "WordVectorLSTMConfig"]


class LSTMLMConfig(BaseModel):
    """Options of the ``lstm-lm`` architecture (validated from a run's ``architecture:`` block)."""

    model_config = ConfigDict(extra="forbid")

    n_layer: int = Field(2, ge=1, le=16, description="stacked LSTM layers")
    n_embd: int = Field(128, ge=1, le=8192, description="width of the token embedding")
    n_hidden: int = Field(256, ge=1, le=8192, description="width of each LSTM layer's state")
    block_size: int = Field(
        64,
        ge=1,
        le=131072,
        description="training window (BPTT length) and longest input fed when fine-tuning",
    )
    dropout: float = Field(
        0.1, ge=0.0, le=1.0, description="dropout on embeddings, between layers and on the output"
    )
    tie_weights: bool = Field(True, description="share the embedding matrix with the output layer")
    features: Literal["top", "concat"] = Field(
        "top",
        description=(
            "what hidden_states returns: the top layer's states, or every layer's states side by "
            "side (ELMo-style features: a linear head over them learns the mix of layers)"
        ),
    )
    feature_norm: bool = Field(
        False,
        description=(
            "normalise each layer's states in hidden_states (LayerNorm without parameters): LSTM "
            "outputs are small, and a head over frozen features learns far faster at unit scale "
            "(the scale ELMo's gamma learns)"
        ),
    )
    preset: str | None = Field(
        None, description="named preset the options start from (resolved by the core)"
    )


class WordVectorLSTMConfig(BaseModel):
    """Options of the ``word-vector-lstm`` architecture."""

    model_config = ConfigDict(extra="forbid")

    n_embd: int = Field(64, ge=1, le=8192, description="width of the word vectors")
    n_hidden: int = Field(64, ge=1, le=8192, description="width of the LSTM state")
    n_layer: int = Field(1, ge=1, le=8, description="stacked LSTM layers")
    dropout: float = Field(0.1, ge=0.0, le=1.0, description="dropout on the word vectors")
    freeze_embeddings: bool = Field(
        False,
        description="keep the word vectors fixed (word2vec vectors as features); the LSTM learns",
    )
    block_size: int = Field(
        64, ge=1, le=131072, description="longest input a fine-tuning stage feeds (in tokens)"
    )
    preset: str | None = Field(
        None, description="named preset the options start from (resolved by the core)"
    )
