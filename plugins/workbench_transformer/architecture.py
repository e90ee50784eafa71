"""The ``transformer`` architecture's factory, :func:`build_transformer` (the spec and presets
live in :mod:`workbench_transformer.specs`, without torch, and are re-exported here).

A config block such as ``{name: transformer, preset: transformer-tiny, dropout: 0.1}`` starts from
the preset's values and applies the explicit keys on top (the core does that before validating
:class:`~workbench_transformer.model.TransformerConfig`).
"""

from __future__ import annotations

from workbench.specs import ModelContext
from workbench_transformer.model import Transformer, TransformerConfig
from workbench_transformer.specs import PRESETS, TRANSFORMER_SPEC

__all__ = ["PRESETS", "TRANSFORMER_SPEC", "build_transformer"]


def build_transformer(config: TransformerConfig, ctx: ModelContext) -> Transformer:
    """Factory for the registry: a freshly initialised :class:`Transformer`."""
    return Transformer(config, vocab_size=ctx.vocab_size)
