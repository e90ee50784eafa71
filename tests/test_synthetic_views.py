"""The views of the synthetic corpus: one labelled task, and the RLHF prompts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from workbench.specs import DatasetContext
from workbench_synthetic import (
    SyntheticConfig,
    SyntheticPromptsConfig,
    SyntheticTaskConfig,
    generate_corpus,
)
from workbench_text.synthetic_datasets import SYNTHETIC_PROMPTS_SPEC, SYNTHETIC_TASK_SPEC

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


def test_subset_seed_draws_other_fixed_subsets(tmp_path):
    import json

    def train(**options):
        config = SyntheticTaskConfig(**SMALL, task="sentiment", train_limit=10, **options)
        return SYNTHETIC_TASK_SPEC.factory(config, ctx(tmp_path)).train

    def as_bytes(records):
        return json.dumps(records, sort_keys=True).encode()

    default, zero, one = train(), train(subset_seed=0), train(subset_seed=1)
    assert as_bytes(train(subset_seed=1)) == as_bytes(one)  # same seed, same bytes
    assert len({as_bytes(default), as_bytes(zero), as_bytes(one)}) == 3
    full = SYNTHETIC_TASK_SPEC.factory(SyntheticTaskConfig(**SMALL), ctx(tmp_path)).train
    assert all(record in full for record in one)
    # Without a train_limit the option changes nothing.
    unlimited = SyntheticTaskConfig(**SMALL, task="sentiment", subset_seed=4)
    assert SYNTHETIC_TASK_SPEC.factory(unlimited, ctx(tmp_path)).train == full


def test_world_entailment_needs_the_geography_and_is_deterministic(tmp_path):
    import json
    import re

    from workbench_synthetic import World, is_true_in_world, parse_fact, split_sentences

    config = SyntheticTaskConfig(**{**SMALL, "n_entities": 80}, task="world-entailment")
    task = SYNTHETIC_TASK_SPEC.factory(config, ctx(tmp_path))
    again = SYNTHETIC_TASK_SPEC.factory(config, ctx(tmp_path))
    assert (
        json.dumps([task.train, task.val, task.test]).encode()
        == json.dumps([again.train, again.val, again.test]).encode()
    )  # same seed, same bytes
    other = SYNTHETIC_TASK_SPEC.factory(config, ctx(tmp_path, seed=4))
    assert other.train != task.train
    assert task.task_type == "entailment"
    assert task.labels == ["entailment", "neutral", "contradiction"]
    corpus = generate_corpus(SyntheticConfig(**{**SMALL, "n_entities": 80}), 3)
    assert "world-entailment" not in corpus.extras["tasks"]  # the corpus's extras are unchanged
    world = World.from_dict(corpus.extras["world"])
    records = task.train + task.val + task.test
    assert {r["label"] for r in records} == {0, 1, 2}
    keys = [json.dumps(r, sort_keys=True) for r in records]
    assert len(keys) == len(set(keys))
    for record in records:
        claim = parse_fact(record["hypothesis"], world)
        assert claim is not None and claim.relation == "lives_in_country", record
        # A later sentence about the subject may start with a pronoun: read it as the name.
        sentences = [re.sub(r"^(He|She) ", claim.subject + " ", sentence)
                     for sentence in split_sentences(record["premise"])]  # fmt: skip
        premise = [parse_fact(sentence, world) for sentence in sentences]
        assert all(is_true_in_world(s, world) in (True, None) for s in
                   split_sentences(record["premise"]))  # fmt: skip
        homes = [f.object for f in premise if f and f.relation == "lives_in"
                 and f.subject == claim.subject]  # fmt: skip
        countries = [f for f in premise if f and f.relation in ("lives_in_country", "in_country")]
        assert not countries, record  # the country is never in the record: it is world knowledge
        assert any(f and f.relation == "lives_in" for f in premise), record  # always a town
        if record["label"] == 1:
            assert not homes, record  # the town is someone else's
        else:
            assert len(homes) == 1, record
            follows = world.town[homes[0]].country == claim.object
            assert follows == (record["label"] == 0), record


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
