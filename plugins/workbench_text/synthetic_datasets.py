"""The datasets of the synthetic corpus (:mod:`workbench_synthetic`): ``synthetic`` (the whole
corpus), ``synthetic-task`` (one labelled task) and ``synthetic-prompts`` (the RLHF prompts).

The corpus itself is a library that registers nothing; these specs are what makes it selectable
by name in a run.
"""

from __future__ import annotations

from workbench.specs import DatasetSpec
from workbench_synthetic import SyntheticConfig
from workbench_synthetic.views import (
    SyntheticPromptsConfig,
    SyntheticTaskConfig,
    load_synthetic_corpus,
    load_synthetic_prompts,
    load_synthetic_task,
)

SYNTHETIC_SPEC = DatasetSpec(
    name="synthetic",
    summary="a seeded English-like corpus about an invented world, with labelled tasks, "
    "few-shot prompt tasks and RLHF prompts (no download)",
    config=SyntheticConfig,
    factory=load_synthetic_corpus,
    dataset_kind="text",
)

SYNTHETIC_TASK_SPEC = DatasetSpec(
    name="synthetic-task",
    summary="one labelled task of the synthetic corpus (sentiment, entailment, similarity, "
    "multiple-choice) for GPT-1-style fine-tuning",
    config=SyntheticTaskConfig,
    factory=load_synthetic_task,
    dataset_kind="labelled-task",
)

SYNTHETIC_PROMPTS_SPEC = DatasetSpec(
    name="synthetic-prompts",
    summary="the synthetic corpus's RLHF prompts (dialogue openings) with what each asks for",
    config=SyntheticPromptsConfig,
    factory=load_synthetic_prompts,
    dataset_kind="prompts",
)
