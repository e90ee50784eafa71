"""Dataset kinds shared between dataset plugins and stages.

A dataset plugin returns one of these objects; a stage declares which kinds it accepts
(``StageSpec.dataset_kinds``). More kinds (labelled tasks, preference pairs) are added by the
issues that need them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TEXT = "text"
SEQ2SEQ = "seq2seq"
LABELLED_TASK = "labelled-task"
PREFERENCES = "preferences"
PROMPTS = "prompts"


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


TASK_TYPES = ("classification", "entailment", "similarity", "multiple_choice")
"""GPT-1's input transformations (Radford et al. 2018, figure 1), one per kind of labelled task."""

_TASK_FIELDS: dict[str, tuple[str, ...]] = {
    "classification": ("text",),
    "entailment": ("premise", "hypothesis"),
    "similarity": ("text_a", "text_b"),
    "multiple_choice": ("context", "choices"),
}


@dataclass
class LabelledTask:
    """A supervised task: records (dicts) with an integer ``label`` indexing ``labels``.

    The fields a record has depend on ``task_type``: ``text`` (classification), ``premise`` and
    ``hypothesis`` (entailment), ``text_a`` and ``text_b`` (similarity), ``context`` and a list
    of ``choices`` (multiple_choice, where ``label`` indexes the choice and ``labels`` names the
    positions).
    """

    name: str
    task_type: str
    labels: list[str]
    train: list[dict[str, Any]]
    val: list[dict[str, Any]]
    test: list[dict[str, Any]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    kind: str = LABELLED_TASK

    def __post_init__(self) -> None:
        if self.task_type not in TASK_TYPES:
            raise ValueError(
                f"unknown task_type {self.task_type!r} (expected one of {', '.join(TASK_TYPES)})"
            )
        if not self.train:
            raise ValueError("the training split is empty")
        if len(self.labels) < 2:
            raise ValueError(f"a task needs at least 2 labels, got {self.labels!r}")
        for split in SPLITS:
            for number, record in enumerate(getattr(self, split)):
                self._check_record(split, number, record)

    def _check_record(self, split: str, number: int, record: Mapping[str, Any]) -> None:
        where = f"{split} record {number}"
        for key in (*_TASK_FIELDS[self.task_type], "label"):
            if key not in record:
                raise ValueError(f"{where}: missing field {key!r} for a {self.task_type} task")
        label = record["label"]
        if not isinstance(label, int) or isinstance(label, bool):
            raise ValueError(f"{where}: label must be an integer, got {label!r}")
        limit = len(self.labels)
        if self.task_type == "multiple_choice":
            choices = record["choices"]
            if not isinstance(choices, list) or len(choices) < 2:
                raise ValueError(f"{where}: choices must be a list of at least 2 strings")
            limit = len(choices)
        if not 0 <= label < limit:
            raise ValueError(f"{where}: label {label} is out of range 0..{limit - 1}")

    def split(self, name: str) -> list[dict[str, Any]]:
        """The records of split ``name`` ("train", "val" or "test")."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r} (expected one of {', '.join(SPLITS)})")
        return getattr(self, name)

    def texts(self) -> list[str]:
        """Every string field of every record, for fitting a tokenizer's vocabulary."""
        out: list[str] = []
        for split in SPLITS:
            for record in getattr(self, split):
                for key in _TASK_FIELDS[self.task_type]:
                    value = record[key]
                    out.extend(value if isinstance(value, list) else [value])
        return out


@dataclass
class PreferencePairs:
    """Preference comparisons in TRL's format: dicts ``{"prompt", "chosen", "rejected"}``
    where ``chosen`` and ``rejected`` are completions of ``prompt``."""

    train: list[dict[str, str]]
    val: list[dict[str, str]]
    test: list[dict[str, str]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    kind: str = PREFERENCES

    def __post_init__(self) -> None:
        if not self.train:
            raise ValueError("the training split is empty")
        for split in SPLITS:
            for number, pair in enumerate(getattr(self, split)):
                for key in ("prompt", "chosen", "rejected"):
                    if not isinstance(pair.get(key), str):
                        raise ValueError(f"{split} pair {number}: {key!r} must be a string")

    def texts(self) -> list[str]:
        return [
            pair[key]
            for split in SPLITS
            for pair in getattr(self, split)
            for key in ("prompt", "chosen", "rejected")
        ]


@dataclass
class PromptSet:
    """Prompts to complete (for PPO, and for generating comparison pairs to label).

    ``properties`` holds, per prompt, what a generator knows about it (e.g. the synthetic
    corpus's expected answer), keyed by the prompt's index in ``train + val``.
    """

    train: list[str]
    val: list[str]
    properties: list[dict[str, Any]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    kind: str = PROMPTS

    def __post_init__(self) -> None:
        if not self.train:
            raise ValueError("the training split is empty")
        if self.properties and len(self.properties) != len(self.train) + len(self.val):
            raise ValueError("properties must have one entry per prompt (train + val)")

    def texts(self) -> list[str]:
        return [*self.train, *self.val]
