"""Dataset specs of the Transformer plugins: the generated tasks and the user's JSONL pairs."""

from __future__ import annotations

from functools import partial

from workbench.data import SEQ2SEQ
from workbench.specs import DatasetSpec
from workbench_transformer.jsonl_pairs import JsonlPairsConfig, load_jsonl_pairs
from workbench_transformer.tasks import (
    AdditionConfig,
    SymbolTaskConfig,
    make_addition,
    make_symbol_task,
)
from workbench_transformer.translation import ToyTranslationConfig, make_toy_translation

__all__ = ["DATASET_SPECS"]

DATASET_SPECS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        name="copy",
        summary="Copy a random symbol sequence (the Annotated Transformer's first task); seeded",
        config=SymbolTaskConfig,
        factory=partial(make_symbol_task, "copy"),
        dataset_kind=SEQ2SEQ,
    ),
    DatasetSpec(
        name="reverse",
        summary="Reverse a random symbol sequence; seeded",
        config=SymbolTaskConfig,
        factory=partial(make_symbol_task, "reverse"),
        dataset_kind=SEQ2SEQ,
    ),
    DatasetSpec(
        name="sort",
        summary="Sort a random symbol sequence; seeded",
        config=SymbolTaskConfig,
        factory=partial(make_symbol_task, "sort"),
        dataset_kind=SEQ2SEQ,
    ),
    DatasetSpec(
        name="addition",
        summary="Multi-digit addition, '123+45' -> '168'; seeded",
        config=AdditionConfig,
        factory=make_addition,
        dataset_kind=SEQ2SEQ,
    ),
    DatasetSpec(
        name="toy-translation",
        summary="Rule-based translation between two invented languages (reordering, agreement); seeded",
        config=ToyTranslationConfig,
        factory=make_toy_translation,
        dataset_kind=SEQ2SEQ,
    ),
    DatasetSpec(
        name="jsonl-pairs",
        summary='Your own JSONL file of {"source", "target"} pairs',
        config=JsonlPairsConfig,
        factory=load_jsonl_pairs,
        dataset_kind=SEQ2SEQ,
    ),
)
