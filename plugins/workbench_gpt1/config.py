"""Options of the ``finetune`` stage (shared with the ``task-accuracy`` evaluation, which rebuilds
the head and the input transformation from a run's stored stage options)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workbench_gpt1.transforms import TextMarkers


class FinetuneConfig(BaseModel):
    """Options of GPT-1 supervised fine-tuning."""

    model_config = ConfigDict(extra="forbid")

    max_steps: int | None = Field(
        None, ge=1, description="optimizer steps to train for (overrides epochs when set)"
    )
    epochs: float = Field(
        3.0, gt=0, description="passes over the training records (GPT-1: 3) when max_steps is empty"
    )
    batch_size: int = Field(16, ge=1, description="records per optimizer step")
    lr: float = Field(
        1e-3,
        gt=0,
        description="peak learning rate (GPT-1 used 6.25e-5 for its 117M model; models of a "
        "few million parameters or less fine-tune well near 1e-3)",
    )
    warmup_steps: int = Field(
        20, ge=0, description="steps of linear warm-up, then linear decay to 0 (GPT-1's schedule)"
    )
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay on matrices")
    grad_clip: float = Field(1.0, ge=0, description="clip gradient norm (0 = off)")
    lm_coef: float = Field(
        0.5,
        ge=0,
        description="weight of the auxiliary LM loss on the task sequences (GPT-1's lambda; "
        "0 = off; needs a causal LM)",
    )
    clf_dropout: float = Field(0.1, ge=0, lt=1, description="dropout before the linear head")
    freeze_encoder: bool = Field(
        False,
        description="train only the head on frozen hidden states ('features' mode); the LM loss "
        "is then skipped",
    )
    reuse_parent_head: bool = Field(
        True,
        description="start from the parent run's classifier head when it has one of the same "
        "shape (continuing a fine-tuning); false: a fresh head",
    )
    eval_interval: int = Field(
        50, ge=1, description="validate every this many steps (and at the end)"
    )
    eval_records: int | None = Field(
        None, ge=1, description="validation records scored at each validation (empty: all)"
    )
    eval_batch_size: int = Field(64, ge=1, description="records per validation batch")
    samples: int = Field(3, ge=0, le=20, description="validation predictions stored per validation")
    use_special_tokens: bool = Field(
        True,
        description="use the tokenizer's <start>, <delim>, <extract> tokens where it has them",
    )
    start_text: str = Field(
        "\n\n", min_length=1, description="text for <start> when the tokenizer lacks the token"
    )
    delim_text: str = Field(
        "\n", min_length=1, description="text for <delim> when the tokenizer lacks the token"
    )
    extract_text: str = Field(
        "\n", min_length=1, description="text for <extract> when the tokenizer lacks the token"
    )

    def markers(self) -> TextMarkers:
        """The text stand-ins for markers the tokenizer has no special token for."""
        return TextMarkers(self.start_text, self.delim_text, self.extract_text)

    @classmethod
    def from_run_stage(cls, stage: dict[str, Any]) -> FinetuneConfig:
        """The options of a run's stored ``stage`` block, keeping only the keys this model knows
        (another stage that saved a ``classifier`` head may have more)."""
        return cls.model_validate({k: v for k, v in stage.items() if k in cls.model_fields})
