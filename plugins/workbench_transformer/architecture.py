"""The ``transformer`` architecture spec: presets, the factory and :data:`TRANSFORMER_SPEC`.

A config block such as ``{name: transformer, preset: transformer-tiny, dropout: 0.1}`` starts from
the preset's values and applies the explicit keys on top (the core does that before validating
:class:`~workbench_transformer.model.TransformerConfig`).
"""

from __future__ import annotations

from typing import Any

from workbench.protocols import SEQ2SEQ
from workbench.specs import ArchitectureSpec, ModelContext
from workbench_transformer.model import Transformer, TransformerConfig

__all__ = ["PRESETS", "TRANSFORMER_SPEC", "build_transformer"]

PRESETS: dict[str, dict[str, Any]] = {
    # Trains the algorithmic tasks in seconds to a minute on a laptop CPU; for tests and demos.
    "transformer-tiny": {
        "encoder_layers": 2,
        "decoder_layers": 2,
        "d_model": 64,
        "n_head": 4,
        "d_ff": 256,
        "dropout": 0.0,
        "max_len": 128,
    },
    # A few minutes on a CPU for the toy translation.
    "transformer-small": {
        "encoder_layers": 3,
        "decoder_layers": 3,
        "d_model": 128,
        "n_head": 4,
        "d_ff": 512,
        "dropout": 0.1,
        "max_len": 256,
    },
    # The paper's base model (Table 3): N = 6, d_model 512, h 8, d_ff 2048, P_drop 0.1.
    "base": {
        "encoder_layers": 6,
        "decoder_layers": 6,
        "d_model": 512,
        "n_head": 8,
        "d_ff": 2048,
        "dropout": 0.1,
        "max_len": 512,
    },
    # The paper's big model: d_model 1024, h 16, d_ff 4096, P_drop 0.3.
    "big": {
        "encoder_layers": 6,
        "decoder_layers": 6,
        "d_model": 1024,
        "n_head": 16,
        "d_ff": 4096,
        "dropout": 0.3,
        "max_len": 512,
    },
}
"""Named starting points for :class:`TransformerConfig`."""


def build_transformer(config: TransformerConfig, ctx: ModelContext) -> Transformer:
    """Factory for the registry: a freshly initialised :class:`Transformer`."""
    return Transformer(config, vocab_size=ctx.vocab_size)


TRANSFORMER_SPEC = ArchitectureSpec(
    name="transformer",
    summary="Encoder-decoder Transformer (Vaswani et al. 2017): post-/pre-LN, shared embeddings",
    config=TransformerConfig,
    factory=build_transformer,
    protocols=(SEQ2SEQ,),
    presets=PRESETS,
)
