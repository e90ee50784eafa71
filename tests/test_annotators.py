"""Tests of the built-in ``annotators`` plugin: the simulated annotators' rules on the synthetic
corpus's world, and the ``preference-labels`` dataset reading labels back from the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workbench.config import ConfigError, validate_options
from workbench.data import PreferencePairs
from workbench.paths import Paths
from workbench.registry import load_registry
from workbench.specs import DatasetContext
from workbench.store import open_store
from workbench_annotators.labels_dataset import PreferenceLabelsConfig, load_preference_labels
from workbench_annotators.rules import (
    ConciseAnnotator,
    ConciseConfig,
    FactualPoliteAnnotator,
    FactualPoliteConfig,
    RandomAnnotator,
    RandomConfig,
)
from workbench_synthetic import SyntheticConfig, generate_corpus


@pytest.fixture(scope="module")
def corpus() -> dict[str, Any]:
    config = SyntheticConfig(
        size_chars=2000,
        n_entities=20,
        task_train_size=10,
        task_eval_size=10,
        prompt_eval_size=5,
        n_preference_prompts=12,
    )
    return generate_corpus(config, 0).extras


@pytest.fixture(scope="module")
def question(corpus) -> tuple[str, dict[str, Any], str]:
    """A question prompt, its properties, and a wrong answer of the same kind."""
    for item in corpus["preference_prompts"]:
        props = item["properties"]
        if props["relation"] == "lives_in_country":
            other = next(
                c["name"] for c in corpus["world"]["countries"] if c["name"] != props["answer"]
            )
            return item["prompt"], props, other
    raise AssertionError("no lives_in_country question in the corpus")


def test_the_plugin_registers_three_annotators_and_the_dataset() -> None:
    registry = load_registry()
    assert {"factual-polite", "concise", "random"} <= set(registry.names("annotators"))
    assert registry.owner("annotators", "concise") == "annotators"
    spec = registry.dataset("preference-labels")
    assert spec.dataset_kind == "preferences"
    with pytest.raises(ConfigError, match="unknown field"):
        validate_options(registry.annotator("concise"), {"shortest": True}, "annotator")


def test_factual_polite_prefers_facts_then_answers_then_politeness(corpus, question) -> None:
    prompt, props, wrong = question
    world = corpus["world"]
    entity, answer = props["entity"], props["answer"]
    true = f" {entity} lives in {answer}."
    polite_true = f" Thank you for asking. {entity} lives in {answer}."
    rude_true = f" What a silly question. {entity} lives in {answer}."
    false = f" {entity} lives in {wrong}."
    unhelpful = " I do not know."
    judge = FactualPoliteAnnotator(FactualPoliteConfig())

    assert judge.label(prompt, true, false, props, world) == "a"  # factual beats false
    assert judge.label(prompt, false, polite_true, props, world) == "b"
    polite_false = f" Thank you. {entity} lives in {wrong}."
    assert judge.label(prompt, unhelpful, polite_false, props, world) == "b"  # only politeness
    assert judge.label(prompt, unhelpful, false, props, world) == "tie"
    assert judge.label(prompt, polite_true, rude_true, props, world) == "a"  # politeness last
    assert judge.label(prompt, true, true, props, world) == "tie"
    strict = FactualPoliteAnnotator(FactualPoliteConfig(both_bad_if_unhelpful=True))
    assert strict.label(prompt, unhelpful, false, props, world) == "both_bad"
    assert strict.label(prompt, true, f"{true}\nQ: more", props, world) == "tie"  # read to newline
    with pytest.raises(ValueError, match="synthetic world"):
        judge.label(prompt, true, false, props, None)


def test_a_noisy_factual_polite_labeller_errs_more_on_close_calls(corpus, question) -> None:
    """temperature > 0: Bradley-Terry on the rule's scores, one fixed draw per pair."""
    prompt, props, wrong = question
    world = corpus["world"]
    entity, answer = props["entity"], props["answer"]
    polite_true = f" Thank you for asking. {entity} lives in {answer}."  # 4 + 2 + 1 = 7
    rude_true = f" What a silly question. {entity} lives in {answer}."  # 6
    false = f" {entity} lives in {wrong}."  # 0
    noisy = FactualPoliteAnnotator(FactualPoliteConfig(temperature=1.0))
    # The rule reads up to the newline, so these variants are the same answers to it; the draw
    # reads the whole text, so each variant is a pair of its own.
    n = 600

    def share_a(a: str, b: str, judge=noisy) -> float:
        labels = [judge.label(prompt, f"{a}\nQ: {i}", b, props, world) for i in range(n)]
        assert set(labels) <= {"a", "b"}
        return labels.count("a") / n

    close = share_a(polite_true, rude_true)  # one point apart: sigmoid(1) = 0.731
    assert abs(close - 0.731) < 0.06
    far = share_a(polite_true, false)  # seven points apart: sigmoid(7) = 0.999
    assert far > 0.98
    assert share_a(rude_true, polite_true) < 0.33  # the same close call, the other way round
    # Equal scores stay a tie; one pair always gets the same label; the seed changes the draws.
    assert noisy.label(prompt, polite_true, polite_true, props, world) == "tie"
    once = [
        noisy.label(prompt, f"{polite_true}\nQ: {i}", rude_true, props, world) for i in range(50)
    ]
    again = [
        noisy.label(prompt, f"{polite_true}\nQ: {i}", rude_true, props, world) for i in range(50)
    ]
    assert once == again
    other = FactualPoliteAnnotator(FactualPoliteConfig(temperature=1.0, seed=1))
    assert [other.label(prompt, f"{polite_true}\nQ: {i}", rude_true, props, world)
            for i in range(50)] != once  # fmt: skip
    # A cooler labeller is surer; temperature 0 is the rule itself.
    cool = FactualPoliteAnnotator(FactualPoliteConfig(temperature=0.25))
    assert share_a(polite_true, rude_true, cool) > 0.93
    with pytest.raises(ValueError):
        FactualPoliteConfig(temperature=-1)


def test_concise_prefers_fewer_words_within_its_limits() -> None:
    judge = ConciseAnnotator(ConciseConfig())
    assert judge.label("p", " Short answer.", " A much longer answer than that.") == "a"
    assert judge.label("p", " One two three four.", " One.") == "b"
    assert judge.label("p", " ", " x") == "b"  # an empty completion says nothing
    assert judge.label("p", "", " ") == "both_bad"
    lenient = ConciseAnnotator(ConciseConfig(tolerance=2, min_words=2))
    assert lenient.label("p", " one two", " one two three four") == "tie"
    assert lenient.label("p", " one", " one two three four five") == "b"


def test_random_is_seeded_per_pair_and_honours_its_probabilities() -> None:
    judge = RandomAnnotator(RandomConfig(seed=1))
    labels = [judge.label(f"p{i}", "x", "y") for i in range(200)]
    assert labels == [
        RandomAnnotator(RandomConfig(seed=1)).label(f"p{i}", "x", "y") for i in range(200)
    ]
    assert set(labels) == {"a", "b"} and 60 < labels.count("a") < 140
    other = [RandomAnnotator(RandomConfig(seed=2)).label(f"p{i}", "x", "y") for i in range(200)]
    assert other != labels
    ties = RandomAnnotator(RandomConfig(tie_probability=1.0))
    assert {ties.label(f"p{i}", "x", "y") for i in range(20)} == {"tie"}
    with pytest.raises(ValueError, match="at most 1"):
        RandomAnnotator(RandomConfig(tie_probability=0.6, both_bad_probability=0.6))


def _labelled_home(home: Path) -> None:
    with open_store(Paths(home)) as store:
        prompts = store.add_prompts((f"Q{i}", "test", {}) for i in range(10))
        completions = store.add_completions(
            [(pid, f"{side}{pid}", {}) for pid in prompts for side in ("good", "bad")]
        )
        pairs = store.add_pairs(
            (completions[i], completions[i + 1]) for i in range(0, len(completions), 2)
        )
        store.ensure_annotator("alice")
        store.ensure_annotator("bot", "simulated", plugin="random", config={})
        store.label_many("alice", [(p, "a") for p in pairs[:9]] + [(pairs[9], "tie")])
        store.label_many("bot", [(p, "b") for p in pairs[:4]])


def test_preference_labels_reads_human_labels_by_default(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _labelled_home(home)
    ctx = DatasetContext(cache_dir=tmp_path / "cache", seed=0, home=home)
    data = load_preference_labels(PreferenceLabelsConfig(val_fraction=0.2), ctx)
    assert isinstance(data, PreferencePairs)
    assert (len(data.train), len(data.val)) == (7, 2)  # the tie is dropped; 2 of 9 pairs held out
    assert all(pair["chosen"].startswith("good") for pair in data.train + data.val)
    assert data.extras["annotators"] == ["alice"]
    assert {p["prompt"] for p in data.train}.isdisjoint({p["prompt"] for p in data.val})

    bot = load_preference_labels(PreferenceLabelsConfig(annotator="bot", val_fraction=0.0), ctx)
    assert len(bot.train) == 4 and all(p["chosen"].startswith("bad") for p in bot.train)
    mixed = load_preference_labels(PreferenceLabelsConfig(kind="all"), ctx)
    assert len(mixed.train) + len(mixed.val) == 13
    # Pairs, not labels, are split: a pair both labelled stays on one side.
    assert {p["prompt"] for p in mixed.train}.isdisjoint({p["prompt"] for p in mixed.val})


def test_preference_labels_errors_clearly_without_labels_or_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with open_store(Paths(home)):
        pass
    ctx = DatasetContext(cache_dir=tmp_path / "cache", seed=0, home=home)
    with pytest.raises(ValueError, match="no preference labels of kind 'simulated'"):
        load_preference_labels(PreferenceLabelsConfig(kind="simulated"), ctx)
    with pytest.raises(ValueError, match="workbench home"):
        load_preference_labels(PreferenceLabelsConfig(), DatasetContext(tmp_path, 0, None))
    with pytest.raises(ValueError, match="not both"):
        PreferenceLabelsConfig(annotator="bot", kind="human")


def test_reward_data_and_the_agreement_evaluation_hold_out_the_same_labelled_pairs(
    tmp_path: Path,
) -> None:
    """A reward model trained on ``synthetic-preferences`` with ``labels_val_fraction`` never
    sees the labelled pairs that ``preference-labels`` with that ``val_fraction`` (and seed)
    evaluates it on."""
    from workbench.label_split import held_out_pairs
    from workbench_rlhf.synthetic_pairs import (
        SyntheticPreferencesConfig,
        load_synthetic_preferences,
    )

    home = tmp_path / "home"
    _labelled_home(home)
    ctx = DatasetContext(cache_dir=tmp_path / "cache", seed=5, home=home)
    small = {"size_chars": 3000, "n_entities": 20, "n_preference_prompts": 10}
    plain = load_synthetic_preferences(SyntheticPreferencesConfig(**small), ctx)
    mixed = load_synthetic_preferences(
        SyntheticPreferencesConfig(
            **small, labels_kind="human", labels_repeat=2, labels_val_fraction=0.3
        ),
        ctx,
    )
    labels = load_preference_labels(PreferenceLabelsConfig(val_fraction=0.3), ctx)
    added_val = [p for p in mixed.val if p["flaw"] == "label"]
    added_train = [p for p in mixed.train if p["flaw"] == "label"]
    assert len(added_val) == 3 and len(added_train) == 2 * 6  # 9 winners: 3 held out, 6 x 2
    assert {p["prompt"] for p in added_val} == {p["prompt"] for p in labels.val}
    assert {p["prompt"] for p in added_train}.isdisjoint({p["prompt"] for p in added_val})
    assert mixed.val[: len(plain.val)] == plain.val
    assert mixed.extras["held_out_labels"] == 3 and mixed.extras["stored_labels"] == 9
    # Each pair's side is a function of its id and the seed alone: pairs labelled later never
    # move an earlier pair across, and about val_fraction of the pairs are held out.
    first = held_out_pairs(range(9), 0.3, 5)
    assert first == held_out_pairs(reversed(range(9)), 0.3, 5)
    assert held_out_pairs(range(2000), 0.3, 5) & set(range(9)) == first
    assert 0.27 < len(held_out_pairs(range(2000), 0.3, 5)) / 2000 < 0.33
    assert held_out_pairs(range(200), 0.3, 5) != held_out_pairs(range(200), 0.3, 6)
    assert held_out_pairs([1], 0.5, 0) == set()  # something is always left to train on
    with pytest.raises(ValueError, match="val_fraction"):
        held_out_pairs(range(3), 1.0, 0)
