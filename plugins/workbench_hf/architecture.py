"""The ``hf-causal-lm`` architecture: a local transformers causal LM as a workbench model.

``architecture: {name: hf-causal-lm, path: DIR}`` loads the model saved in ``DIR`` (by
``save_pretrained``, or ``workbench export --format hf``); pair it with ``tokenizer: {name: hf,
path: DIR}`` so that the token ids are the model's own. Nothing is downloaded.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workbench.protocols import CAUSAL_LM, SEQUENCE_ENCODER
from workbench.specs import ArchitectureSpec, ModelContext
from workbench_hf.model import HFCausalLM, check_model_dir

__all__ = ["HF_CAUSAL_LM_SPEC", "HFCausalLMConfig", "build_hf_causal_lm"]


class HFCausalLMConfig(BaseModel):
    """Options of the ``hf-causal-lm`` architecture."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        description=(
            "Folder of a transformers causal LM (config.json and weights, as written by "
            "save_pretrained); it is read from disk only, never downloaded, and must stay there "
            "while runs use it."
        ),
    )
    block_size: int | None = Field(
        None,
        ge=1,
        le=1_048_576,
        description="Longest context to use; default: the model's own number of positions.",
    )

    @field_validator("path")
    @classmethod
    def _folder_exists(cls, value: str) -> str:
        check_model_dir(value)
        return value


def build_hf_causal_lm(config: HFCausalLMConfig, ctx: ModelContext) -> HFCausalLM:
    """Factory for the registry: the model in ``config.path`` with its saved weights."""
    return HFCausalLM.from_folder(config.path, ctx.vocab_size, config.block_size)


HF_CAUSAL_LM_SPEC = ArchitectureSpec(
    name="hf-causal-lm",
    summary="A local Hugging Face transformers causal LM (GPT-2 family and alike), never downloaded",
    config=HFCausalLMConfig,
    factory=build_hf_causal_lm,
    protocols=(CAUSAL_LM, SEQUENCE_ENCODER),
)
