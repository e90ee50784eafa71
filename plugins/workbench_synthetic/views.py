"""The synthetic corpus as datasets: the whole corpus (:func:`load_synthetic_corpus`, the
``synthetic`` dataset), one labelled task (:func:`load_synthetic_task`, ``synthetic-task``) and
the RLHF prompts (:func:`load_synthetic_prompts`, ``synthetic-prompts``). The loaders take a
:class:`~workbench.specs.DatasetContext`, so that the text plugin registers them as they are.

Each view takes the ``synthetic`` dataset's options as well, so that a fine-tuning or RLHF run can
name exactly the corpus its parent was pre-trained on: the same seed and options give the same
invented world, and so the same facts the pre-trained model has read about.
"""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import Field

from workbench import content_cache
from workbench.data import LabelledTask, PromptSet, TextCorpus
from workbench.specs import DatasetContext
from workbench_synthetic.config import SyntheticConfig
from workbench_synthetic.corpus import GENERATOR_VERSION, generate_corpus
from workbench_synthetic.tasks import WORLD_TASKS, world_task
from workbench_synthetic.world import World

TaskName = Literal["sentiment", "entailment", "world-entailment", "similarity", "multiple-choice"]


class SyntheticTaskConfig(SyntheticConfig):
    """The synthetic corpus's options, plus which labelled task to take and how much of it."""

    task: TaskName = Field("sentiment", description="which labelled task of the corpus")
    train_limit: int | None = Field(
        None,
        ge=2,
        description="keep only this many training records (a fixed random subset, for "
        "few-label experiments); empty: all of them",
    )
    subset_seed: int | None = Field(
        None,
        ge=0,
        description="which random subset train_limit keeps: each value draws another one (for "
        "repeats over label draws); empty: the subset fixed by the corpus seed",
    )


PROMPTS_VAL_FRACTION = 0.1
"""Default share of the preference prompts held out for validation (the last ones)."""


def split_preference_prompts(
    items: list[dict[str, Any]], val_fraction: float = PROMPTS_VAL_FRACTION
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``extras["preference_prompts"]`` split into (train, val): the last ``val_fraction``."""
    n_val = int(round(len(items) * val_fraction))
    if n_val >= len(items):
        raise ValueError("prompts_val_fraction leaves no training prompts")
    return items[: len(items) - n_val], items[len(items) - n_val :]


class SyntheticPromptsConfig(SyntheticConfig):
    """The synthetic corpus's options, plus the share of RLHF prompts held out for validation."""

    prompts_val_fraction: float = Field(
        PROMPTS_VAL_FRACTION,
        ge=0.0,
        le=0.5,
        description="share of the preference prompts kept for validation",
    )


def _seed(config: SyntheticConfig, ctx: DatasetContext) -> int:
    return config.seed if config.seed is not None else ctx.seed


def _corpus(config: SyntheticConfig, seed: int, ctx: DatasetContext) -> TextCorpus:
    """``generate_corpus(config, seed)``, kept in the home's cache by options, seed and
    generator version: the next run on the same corpus reads it back instead of generating it.
    Outside a home (``ctx.home`` None) it is generated every time."""
    identity = {
        "generator": "synthetic",
        "version": GENERATOR_VERSION,
        "seed": seed,
        "config": config.model_dump(mode="json"),
    }
    # Only inside a workbench home: a context outside one (lm-eval's task export, tests) may name
    # any folder as its cache, the current one included, and must not find files written there.
    cache_dir = ctx.cache_dir if getattr(ctx, "home", None) is not None else None
    return content_cache.generated(identity, lambda: generate_corpus(config, seed), cache_dir)


def load_synthetic_corpus(config: SyntheticConfig, ctx: DatasetContext) -> TextCorpus:
    """The whole corpus, with the seed the options pin or else the run's."""
    return _corpus(config, _seed(config, ctx), ctx)


def load_synthetic_task(config: SyntheticTaskConfig, ctx: DatasetContext) -> LabelledTask:
    seed = _seed(config, ctx)
    base = SyntheticConfig(**config.model_dump(exclude={"task", "train_limit", "subset_seed"}))
    extras = _corpus(base, seed, ctx).extras
    if config.task in WORLD_TASKS:
        # Drawn from the world on request; the corpus's extras do not carry it.
        splits = world_task(config.task, World.from_dict(extras["world"]), base, seed)
        task_type, task_labels = WORLD_TASKS[config.task]
    else:
        splits = extras["tasks"][config.task]
        task_type, task_labels = extras["task_types"][config.task], extras["labels"][config.task]
    train = list(splits["train"])
    if config.train_limit is not None and config.train_limit < len(train):
        name = f"workbench-synthetic-task/{seed}/{config.task}/{config.train_limit}"
        if config.subset_seed is not None:
            name += f"/subset-{config.subset_seed}"
        rng = random.Random(name)
        train = rng.sample(train, config.train_limit)
    if task_type == "multiple_choice":
        labels = [f"choice {i}" for i in range(config.n_choices)]
    else:
        labels = list(task_labels)
    return LabelledTask(
        name=config.task,
        task_type=task_type,
        labels=labels,
        train=train,
        val=list(splits["val"]),
        test=list(splits["test"]),
        extras={"world": extras["world"], "generator": extras["generator"]},
    )


def load_synthetic_prompts(config: SyntheticPromptsConfig, ctx: DatasetContext) -> PromptSet:
    seed = _seed(config, ctx)
    base = SyntheticConfig(**config.model_dump(exclude={"prompts_val_fraction"}))
    extras = _corpus(base, seed, ctx).extras
    train, val = split_preference_prompts(extras["preference_prompts"], config.prompts_val_fraction)
    return PromptSet(
        train=[item["prompt"] for item in train],
        val=[item["prompt"] for item in val],
        properties=[item["properties"] for item in (*train, *val)],
        extras={
            "world": extras["world"],
            "preference_properties": extras["preference_properties"],
            "generator": extras["generator"],
        },
    )
