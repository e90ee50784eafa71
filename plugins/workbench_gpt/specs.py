"""What the GPT plugin registers: the ``gpt`` architecture, the ``pretrain`` stage and the
``perplexity`` evaluation, with their options and presets.

Nothing here imports torch or Lightning: each factory is a :class:`~workbench.specs.LazyFactory`
that imports its module (:mod:`.architecture`, :mod:`.pretrain`, :mod:`.perplexity`) when called.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workbench.data import TEXT
from workbench.protocols import CAUSAL_LM, SEQUENCE_ENCODER
from workbench.specs import ArchitectureSpec, EvaluationSpec, LazyFactory, StageSpec
from workbench_gpt.config import GPTConfig

__all__ = [
    "GPT_SPEC",
    "PERPLEXITY_SPEC",
    "PRESETS",
    "PRETRAIN_SPEC",
    "PerplexityConfig",
    "PretrainConfig",
]


PRESETS: dict[str, dict[str, Any]] = {
    # Small enough to train in seconds on a laptop CPU; for tests and smoke runs.
    "gpt-nano": {"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 32, "dropout": 0.0},
    # nanoGPT's CPU-friendly Shakespeare character model.
    "nanogpt-cpu": {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64, "dropout": 0.0},
    # nanoGPT's GPU Shakespeare character model.
    "nanogpt-gpu": {"n_layer": 6, "n_head": 6, "n_embd": 384, "block_size": 256, "dropout": 0.2},
    # GPT-1 (Radford et al., 2018): 12 post-LN blocks over a 512-token context.
    "gpt1": {
        "n_layer": 12,
        "n_head": 12,
        "n_embd": 768,
        "block_size": 512,
        "norm": "post",
        "dropout": 0.1,
    },
    # GPT-2 small (124M): the same width and depth, pre-LN, a 1024-token context.
    "gpt2-small": {
        "n_layer": 12,
        "n_head": 12,
        "n_embd": 768,
        "block_size": 1024,
        "norm": "pre",
        "dropout": 0.0,
    },
}
"""Named starting points for :class:`GPTConfig`."""


GPT_SPEC = ArchitectureSpec(
    name="gpt",
    summary="Decoder-only Transformer language model (GPT-1 post-LN / GPT-2 pre-LN) with a KV cache",
    config=GPTConfig,
    factory=LazyFactory("workbench_gpt.architecture:build_gpt"),
    protocols=(CAUSAL_LM, SEQUENCE_ENCODER),
    presets=PRESETS,
)


class PretrainConfig(BaseModel):
    """Options of the pre-training stage."""

    model_config = ConfigDict(extra="forbid")

    max_steps: int = Field(2000, ge=1, description="optimizer steps to train for")
    batch_size: int = Field(12, ge=1, description="sequences per micro-batch")
    grad_accum: int = Field(1, ge=1, description="micro-batches per optimizer step")
    lr: float = Field(1e-3, gt=0, description="peak learning rate")
    min_lr: float | None = Field(
        None, ge=0, description="learning rate at the end of the cosine decay (default lr/10)"
    )
    warmup_steps: int = Field(100, ge=0, description="steps of linear warm-up")
    lr_decay_steps: int | None = Field(
        None, ge=1, description="step at which the cosine reaches min_lr (default max_steps)"
    )
    weight_decay: float = Field(0.1, ge=0, description="AdamW weight decay on matrices")
    beta1: float = Field(0.9, gt=0, lt=1)
    beta2: float = Field(0.99, gt=0, lt=1)
    grad_clip: float = Field(1.0, ge=0, description="clip gradient norm (0 = off)")
    fused_adamw: bool = Field(
        False,
        description="AdamW's fused kernel (one kernel for the whole update) on the CPU as well: "
        "1.1 against 2.5 ms per step on the nanogpt-cpu shape (torch >= 2.4); it rounds "
        "differently, so a run is not bit-identical to one without. CUDA runs always use it "
        "(as nanoGPT); other devices their default",
    )
    eval_interval: int = Field(250, ge=1, description="validate every this many steps")
    eval_batches: int = Field(20, ge=1, description="batches per validation")
    checkpoint_every: int | None = Field(
        None, ge=1, description="checkpoint every this many steps (default: eval_interval)"
    )
    num_workers: int = Field(0, ge=0, le=64, description="DataLoader worker processes")
    sample_tokens: int = Field(200, ge=0, description="tokens generated at each validation")
    sample_prompt: str = Field("\n", description="prompt for the logged samples")
    sample_temperature: float = Field(0.8, ge=0)

    @model_validator(mode="after")
    def _check_schedule(self) -> PretrainConfig:
        if self.min_lr is not None and self.min_lr > self.lr:
            raise ValueError(f"min_lr ({self.min_lr}) must not exceed lr ({self.lr})")
        return self


PRETRAIN_SPEC = StageSpec(
    name="pretrain",
    summary="Unsupervised causal-LM pre-training (next-token prediction) on a text corpus",
    config=PretrainConfig,
    factory=LazyFactory("workbench_gpt.pretrain:build_pretrain"),
    requires=CAUSAL_LM,
    dataset_kinds=(TEXT,),
)


class PerplexityConfig(BaseModel):
    """Options of the perplexity evaluation."""

    model_config = ConfigDict(extra="forbid")

    split: Literal["train", "val", "test"] = Field("val", description="which split to score")
    max_tokens: int | None = Field(
        None, ge=2, description="score at most this many tokens from the start of the split"
    )
    batch_size: int = Field(16, ge=1, description="windows per forward pass")
    samples: int = Field(3, ge=0, le=20, description="generations stored with the run")
    sample_tokens: int = Field(100, ge=1, description="tokens per stored generation")


PERPLEXITY_SPEC = EvaluationSpec(
    name="perplexity",
    summary="Perplexity of a causal LM on a text split (non-overlapping windows)",
    config=PerplexityConfig,
    factory=LazyFactory("workbench_gpt.perplexity:evaluate_perplexity"),
    requires=CAUSAL_LM,
)
