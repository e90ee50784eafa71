"""The ``gpt`` architecture spec: presets, the factory and :data:`GPT_SPEC` for the registry.

A config block such as ``{name: gpt, preset: gpt-nano, n_layer: 3}`` starts from the preset's
values and applies the explicit keys on top (the core does that before validating
:class:`~workbench_gpt.model.GPTConfig`).
"""

from __future__ import annotations

from typing import Any

from workbench.protocols import CAUSAL_LM, SEQUENCE_ENCODER
from workbench.specs import ArchitectureSpec, ModelContext
from workbench_gpt.model import GPT, GPTConfig

__all__ = ["GPT_SPEC", "PRESETS", "build_gpt"]

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


def build_gpt(config: GPTConfig, ctx: ModelContext) -> GPT:
    """Factory for the registry: a freshly initialised :class:`GPT` over ``ctx.vocab_size``."""
    return GPT(config, vocab_size=ctx.vocab_size)


GPT_SPEC = ArchitectureSpec(
    name="gpt",
    summary="Decoder-only Transformer language model (GPT-1 post-LN / GPT-2 pre-LN) with a KV cache",
    config=GPTConfig,
    factory=build_gpt,
    protocols=(CAUSAL_LM, SEQUENCE_ENCODER),
    presets=PRESETS,
)
