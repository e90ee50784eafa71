"""The views of the synthetic corpus: one labelled task, and the RLHF prompts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from workbench.specs import DatasetContext
from workbench_text.synthetic import SyntheticConfig, generate_corpus
from workbench_text.synthetic.views import (
    SYNTHETIC_PROMPTS_SPEC,
    SYNTHETIC_TASK_SPEC,
    SyntheticPromptsConfig,
    SyntheticTaskConfig,
)

SMALL = {"size_chars": 20_000, "n_entities": 40, "task_train_size": 60, "task_eval_size": 20}


def ctx(tmp_path, seed=3):
    return DatasetContext(cache_dir=tmp_path, seed=seed)


def test_task_view_is_the_corpus_task_of_the_same_world(tmp_path):
    corpus = generate_corpus(SyntheticConfig(**SMALL), 3)
    task = SYNTHETIC_TASK_SPEC.factory(
        SyntheticTaskConfig(**SMALL, task="entailment"), ctx(tmp_path)
    )
    assert task.kind == "labelled-task" and task.task_type == "entailment"
    assert task.labels == ["entailment", "neutral", "contradiction"]
    assert task.train == corpus.extras["tasks"]["entailment"]["train"]
    assert task.test == corpus.extras["tasks"]["entailment"]["test"]
    assert task.extras["world"] == corpus.extras["world"]


def test_train_limit_takes_a_fixed_subset(tmp_path):
    config = SyntheticTaskConfig(**SMALL, task="sentiment", train_limit=10)
    first = SYNTHETIC_TASK_SPEC.factory(config, ctx(tmp_path))
    again = SYNTHETIC_TASK_SPEC.factory(config, ctx(tmp_path))
    full = SYNTHETIC_TASK_SPEC.factory(SyntheticTaskConfig(**SMALL), ctx(tmp_path))
    assert len(first.train) == 10 and first.train == again.train
    assert all(record in full.train for record in first.train)
    assert first.val == full.val


def test_multiple_choice_labels_name_positions(tmp_path):
    task = SYNTHETIC_TASK_SPEC.factory(
        SyntheticTaskConfig(**SMALL, task="multiple-choice", n_choices=3), ctx(tmp_path)
    )
    assert task.labels == ["choice 0", "choice 1", "choice 2"]
    assert all(len(r["choices"]) == 3 for r in task.train)


def test_prompt_view_splits_prompts_and_keeps_properties(tmp_path):
    config = SyntheticPromptsConfig(**SMALL, n_preference_prompts=20, prompts_val_fraction=0.25)
    prompts = SYNTHETIC_PROMPTS_SPEC.factory(config, ctx(tmp_path))
    corpus = generate_corpus(SyntheticConfig(**SMALL, n_preference_prompts=20), 3)
    items = corpus.extras["preference_prompts"]
    assert prompts.train == [item["prompt"] for item in items[:15]]
    assert prompts.val == [item["prompt"] for item in items[15:]]
    assert prompts.properties[0] == items[0]["properties"]
    assert "world" in prompts.extras


def test_unknown_task_is_refused():
    with pytest.raises(ValidationError, match="task"):
        SyntheticTaskConfig(task="translation")


def test_reward_score_splits_the_corpus_prompts_as_the_view_does(tmp_path):
    from workbench_rlhf.reward_score import prompts_of

    corpus = generate_corpus(SyntheticConfig(**SMALL, n_preference_prompts=20), 3)
    view = SYNTHETIC_PROMPTS_SPEC.factory(
        SyntheticPromptsConfig(**SMALL, n_preference_prompts=20), ctx(tmp_path)
    )
    for split in ("train", "val"):
        prompts, props, _ = prompts_of(corpus, split)
        assert prompts == getattr(view, split)
    assert len(view.val) == 2
