"""Preference labels exported as TRL JSONL: one ``{"prompt", "chosen", "rejected"}`` per line.

``workbench labels export`` and the Label tab's Export both write this text. Only labels that
name a winner become lines; ties and "both bad" are left out (and counted).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from workbench.store import Store


def trl_jsonl(examples: Iterable[Any]) -> str:
    """The JSONL text of preference examples (``Store.preference_examples``), one per line."""
    return "".join(json.dumps(e.trl(), ensure_ascii=False) + "\n" for e in examples)


@dataclass(frozen=True)
class LabelExport:
    """The exported text, how many lines it has, and how many matching labels were left out for
    naming no winner."""

    text: str
    written: int
    dropped: int


def trl_export(store: Store, annotator: str | None = None, kind: str | None = None) -> LabelExport:
    """The labels of one annotator, or of one kind (``human`` by default; ``simulated`` or
    ``all``), as TRL JSONL."""
    examples = store.preference_examples(annotator=annotator, kind=kind)
    if annotator is not None:
        matching = len(store.labels(annotator=annotator))
    else:
        wanted = kind or "human"
        matching = sum(s.labelled for s in store.annotator_stats() if wanted in ("all", s.kind))
    return LabelExport(trl_jsonl(examples), len(examples), matching - len(examples))
