"""Dataset kinds shared between dataset plugins and stages.

A dataset plugin returns one of these objects; a stage declares which kinds it accepts
(``StageSpec.dataset_kinds``). More kinds (seq2seq pairs, labelled tasks, preference pairs) are
added by the issues that need them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TEXT = "text"


@dataclass
class TextCorpus:
    """Raw text split into train / validation (/ test) parts.

    ``extras`` carries structure a generator knows about (e.g. the synthetic corpus's labelled
    tasks) for later stages; plain text datasets leave it empty.
    """

    train: str
    val: str
    test: str = ""
    extras: dict[str, Any] = field(default_factory=dict)
    kind: str = TEXT

    def texts(self) -> list[str]:
        """All text of the dataset, for fitting a tokenizer's vocabulary."""
        return [part for part in (self.train, self.val, self.test) if part]

    def __post_init__(self) -> None:
        if not self.train:
            raise ValueError("the training split is empty")
