"""The ``hf-causal-lm`` architecture: a local transformers causal LM as a workbench model.

``architecture: {name: hf-causal-lm, path: DIR}`` loads the model saved in ``DIR`` (by
``save_pretrained``, or ``workbench export --format hf``); pair it with ``tokenizer: {name: hf,
path: DIR}`` so that the token ids are the model's own. Nothing is downloaded.
"""

from __future__ import annotations

from workbench.specs import ModelContext
from workbench_hf.config import HFCausalLMConfig
from workbench_hf.model import HFCausalLM
from workbench_hf.specs import HF_CAUSAL_LM_SPEC

__all__ = ["HF_CAUSAL_LM_SPEC", "HFCausalLMConfig", "build_hf_causal_lm"]


def build_hf_causal_lm(config: HFCausalLMConfig, ctx: ModelContext) -> HFCausalLM:
    """Factory for the registry: the model in ``config.path`` with its saved weights."""
    return HFCausalLM.from_folder(config.path, ctx.vocab_size, config.block_size)
