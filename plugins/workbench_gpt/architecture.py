"""The ``gpt`` architecture's factory, :func:`build_gpt` (the spec and presets live in
:mod:`workbench_gpt.specs`, without torch, and are re-exported here).

A config block such as ``{name: gpt, preset: gpt-nano, n_layer: 3}`` starts from the preset's
values and applies the explicit keys on top (the core does that before validating
:class:`~workbench_gpt.model.GPTConfig`).
"""

from __future__ import annotations

from workbench.specs import ModelContext
from workbench_gpt.model import GPT, GPTConfig
from workbench_gpt.specs import GPT_SPEC, PRESETS

__all__ = ["GPT_SPEC", "PRESETS", "build_gpt"]


def build_gpt(config: GPTConfig, ctx: ModelContext) -> GPT:
    """Factory for the registry: a freshly initialised :class:`GPT` over ``ctx.vocab_size``."""
    return GPT(config, vocab_size=ctx.vocab_size)
