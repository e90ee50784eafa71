"""Dataset kinds shared between dataset plugins and stages.

A dataset plugin returns one of these objects; a stage declares which kinds it accepts
(``StageSpec.dataset_kinds``). More kinds (labelled tasks, preference pairs) are added by the
issues that need them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TEXT = "text"
SEQ2SEQ = "seq2seq"


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


Pair = tuple[str, str]
"""One ``(source, target)`` example of a sequence-to-sequence task."""

SPLITS = ("train", "val", "test")


@dataclass
class Seq2SeqPairs:
    """``(source, target)`` string pairs split into train / validation (/ test).

    ``extras`` carries what a generator knows beyond the pairs (e.g. a task's description);
    user data leaves it empty.
    """

    train: list[Pair]
    val: list[Pair]
    test: list[Pair] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    kind: str = SEQ2SEQ

    def texts(self) -> list[str]:
        """Every source and target string of every split, for fitting a tokenizer's vocabulary."""
        return [
            text for split in (self.train, self.val, self.test) for pair in split for text in pair
        ]

    def split(self, name: str) -> list[Pair]:
        """The pairs of split ``name`` ("train", "val" or "test")."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r} (expected one of {', '.join(SPLITS)})")
        return getattr(self, name)

    def __post_init__(self) -> None:
        if not self.train:
            raise ValueError("the training split is empty")
