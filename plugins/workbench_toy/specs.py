"""What the toy plugin registers: the ``bigram`` architecture and its options.

The factory is a :class:`~workbench.specs.LazyFactory`: :mod:`.bigram` (torch) is imported only
when a model is built, so registering the plugin stays cheap.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from workbench.protocols import CAUSAL_LM
from workbench.specs import ArchitectureSpec, LazyFactory

__all__ = ["BIGRAM_SPEC", "BigramConfig"]


class BigramConfig(BaseModel):
    """Options of the bigram model."""

    model_config = ConfigDict(extra="forbid")

    block_size: int = Field(64, ge=1, le=65536, description="longest context fed in one pass")


BIGRAM_SPEC = ArchitectureSpec(
    name="bigram",
    summary="Bigram LM: next-token logits from the current token only (tests and examples)",
    config=BigramConfig,
    factory=LazyFactory("workbench_toy.bigram:build_bigram"),
    protocols=(CAUSAL_LM,),
)
