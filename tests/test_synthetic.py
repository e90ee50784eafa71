"""Tests of the built-in synthetic corpus (``workbench_synthetic``)."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from workbench.specs import DatasetContext
from workbench_synthetic import (
    FACT_TEMPLATES,
    NEGATED_TEMPLATES,
    PROMPT_INSTRUCTIONS,
    PROMPT_TASK_NAMES,
    REVIEW_ASPECTS,
    STRING_PROMPT_TASKS,
    Fact,
    SyntheticConfig,
    World,
    build_prompt,
    completion_properties,
    fact_check,
    generate_corpus,
    is_complete_sentence,
    is_polite,
    is_rude,
    is_true_in_world,
    parse_fact,
    parse_prompt_document,
    prompt_answer,
    prompt_document_task,
    render_fact,
    repetition,
    split_sentences,
    templates_for,
)
from workbench_text.synthetic_datasets import SYNTHETIC_SPEC

TINY = dict(
    size_chars=40_000,
    n_entities=40,
    task_train_size=90,
    task_eval_size=30,
    prompt_eval_size=20,
    n_preference_prompts=30,
)


@pytest.fixture(scope="module")
def config() -> SyntheticConfig:
    return SyntheticConfig(**TINY)


@pytest.fixture(scope="module")
def corpus(config):
    return generate_corpus(config, seed=123)


@pytest.fixture(scope="module")
def world(corpus) -> World:
    return World.from_dict(corpus.extras["world"])


def documents(text: str) -> list[str]:
    return text.split("\n\n")


def all_documents(corpus) -> list[str]:
    return documents(corpus.train) + documents(corpus.val) + documents(corpus.test)


def prompt_documents(corpus):
    return [d for d in map(parse_prompt_document, all_documents(corpus)) if d is not None]


# -- determinism, splits, size, alphabet ------------------------------------------------------


def test_same_seed_gives_identical_text_and_extras(config, corpus):
    again = generate_corpus(config, seed=123)
    assert (again.train, again.val, again.test) == (corpus.train, corpus.val, corpus.test)
    assert json.dumps(again.extras) == json.dumps(corpus.extras)


def test_doc_weights_change_the_mix_deterministically(config, corpus):
    weights = {"biography": 25.0, "place": 12.0, "story": 25.0, "review": 39.0, "dialogue": 20.0}
    heavy = config.model_copy(update={"doc_weights": weights})  # three times the reviews
    first, again = generate_corpus(heavy, seed=123), generate_corpus(heavy, seed=123)
    assert (first.train, first.val, first.test) == (again.train, again.val, again.test)
    assert json.dumps(first.extras) == json.dumps(again.extras)  # same seed, same bytes
    mix, default = (
        first.extras["stats"]["documents"]["train"],
        corpus.extras["stats"]["documents"]["train"],
    )
    assert mix.get("lexicon", 0) == 0  # a type left out is not written
    assert mix["review"] > 2 * default["review"]
    assert first.extras["generator"]["config"]["doc_weights"] == weights
    # Without the option the recorded options are those of a corpus made before it existed.
    assert "doc_weights" not in corpus.extras["generator"]["config"]


def test_different_seed_gives_different_corpus(config, corpus):
    other = generate_corpus(config, seed=124)
    assert other.train != corpus.train
    assert other.extras["world"] != corpus.extras["world"]
    assert other.extras["tasks"] != corpus.extras["tasks"]


def test_doc_weights_change_the_mix_and_the_defaults_change_nothing(config, corpus):
    from workbench_synthetic.corpus import DOC_TYPE_WEIGHTS

    same = generate_corpus(config.model_copy(update={"doc_weights": dict(DOC_TYPE_WEIGHTS)}), 123)
    assert same.train == corpus.train  # the defaults, named, are the defaults
    facts_only = config.model_copy(
        update={"doc_weights": {"biography": 1, "dialogue": 3}, "prompt_fraction": 0.0}
    )
    mixed = generate_corpus(facts_only, 123).extras["stats"]["documents"]["train"]
    assert set(mixed) == {"biography", "dialogue"} and mixed["dialogue"] > 2 * mixed["biography"]
    assert generate_corpus(facts_only, 123).extras["world"] == corpus.extras["world"]
    with pytest.raises(ValueError, match="unknown document type"):
        SyntheticConfig(**TINY, doc_weights={"poem": 1})
    with pytest.raises(ValueError, match="at least one document type"):
        SyntheticConfig(**TINY, doc_weights={"story": 0})


def test_factory_uses_the_run_seed_unless_the_config_names_one(config, tmp_path: Path):
    from_ctx = SYNTHETIC_SPEC.factory(config, DatasetContext(cache_dir=tmp_path, seed=5))
    assert from_ctx.train == generate_corpus(config, 5).train
    pinned = config.model_copy(update={"seed": 9})
    from_cfg = SYNTHETIC_SPEC.factory(pinned, DatasetContext(cache_dir=tmp_path, seed=5))
    assert from_cfg.train == generate_corpus(config, 9).train
    assert SYNTHETIC_SPEC.name == "synthetic" and SYNTHETIC_SPEC.dataset_kind == "text"


def test_splits_are_disjoint_at_document_level(corpus):
    train, val, test = (set(documents(t)) for t in (corpus.train, corpus.val, corpus.test))
    assert val and test
    assert not train & val and not train & test and not val & test
    for doc in all_documents(corpus):
        assert doc and doc == doc.strip() and "\n\n" not in doc


def test_size_is_near_the_configured_size(config, corpus):
    longest = max(map(len, all_documents(corpus)))
    assert config.size_chars <= len(corpus.train) <= config.size_chars + longest + 2
    total = len(corpus.train) + len(corpus.val) + len(corpus.test)
    assert len(corpus.val) / total == pytest.approx(config.val_fraction, rel=0.25)
    assert len(corpus.test) / total == pytest.approx(config.test_fraction, rel=0.25)
    bigger = generate_corpus(config.model_copy(update={"size_chars": 80_000}), seed=123)
    assert 80_000 <= len(bigger.train) <= 80_000 + 2_000


def test_text_is_ascii_with_a_small_alphabet(corpus):
    text = corpus.train + corpus.val + corpus.test
    assert text.isascii()
    assert len(set(text)) < 100


def test_every_document_type_reaches_every_split(corpus):
    stats = corpus.extras["stats"]["documents"]
    assert set(stats["train"]) == {
        "biography", "place", "story", "review", "dialogue", "lexicon", "prompt"
    }  # fmt: skip
    assert stats["val"]["prompt"] > 0 and stats["test"]["prompt"] > 0


def test_a_tiny_config_generates_well_under_a_second(config):
    start = time.perf_counter()
    generate_corpus(config, seed=7)
    assert time.perf_counter() - start < 1.0


@pytest.mark.slow
def test_the_default_size_generates_in_under_ten_seconds():
    start = time.perf_counter()
    corpus = generate_corpus(SyntheticConfig(), seed=0)
    assert time.perf_counter() - start < 10.0
    assert len(corpus.train) >= 2_000_000


def test_prose_never_states_a_false_fact(corpus, world):
    """Only dialogue answers may be wrong (``dialogue_error_rate``); all other prose is true."""
    parsed = 0
    for doc in documents(corpus.train):
        if doc.startswith("Q: ") or parse_prompt_document(doc) is not None:
            continue
        for sentence in split_sentences(doc.replace("\n", " ")):
            verdict = is_true_in_world(sentence, world)
            assert verdict is not False, sentence
            parsed += verdict is True
    assert parsed > 100


# -- the world and the fact grammar -----------------------------------------------------------


def test_world_is_json_serialisable_and_round_trips(corpus, world):
    data = corpus.extras["world"]
    assert json.loads(json.dumps(data)) == data
    assert world.to_dict() == data
    assert len(data["people"]) + len(data["towns"]) + len(data["countries"]) == 40
    for country in world.countries:
        assert world.town[country.capital].country == country.name


def test_every_template_renders_and_parses_back(world):
    subjects = [world.people[0].name, world.towns[0].name, world.countries[0].name]
    checked = 0
    for name in subjects:
        for fact in world.facts_about(name):
            for template in templates_for(world, fact):
                sentence = render_fact(fact, template)
                assert parse_fact(sentence, world) == fact, sentence
                assert is_true_in_world(sentence, world) is True
                checked += 1
            for template in templates_for(world, fact.negate()):
                sentence = render_fact(fact.negate(), template)
                assert parse_fact(sentence, world) == fact.negate()
                assert is_true_in_world(sentence, world) is False
    assert set(FACT_TEMPLATES) == set(NEGATED_TEMPLATES) and checked > 40
    p = world.people[0]
    other_town = next(t.name for t in world.towns if t.name != p.home)
    assert is_true_in_world(f"{p.name} lives in {other_town}.", world) is False
    assert is_true_in_world(f"{p.name} lives in {p.home}.", world) is True
    assert is_true_in_world(f"She lives in {p.home}.", world) is None
    assert is_true_in_world("The sky is green.", world) is None
    # ``extras["world"]`` (a plain dict) is accepted too.
    assert is_true_in_world(f"{p.name} lives in {p.home}.", world.to_dict()) is True


# -- labelled tasks ---------------------------------------------------------------------------

FIELDS = {
    "sentiment": {"text", "label"},
    "entailment": {"premise", "hypothesis", "label"},
    "similarity": {"text_a", "text_b", "label"},
    "multiple-choice": {"context", "question", "choices", "label", "answer_in_context"},
}


def test_task_labels_are_valid_balanced_and_split_disjointly(config, corpus):
    tasks, labels = corpus.extras["tasks"], corpus.extras["labels"]
    assert set(tasks) == set(labels) == set(FIELDS) == set(corpus.extras["task_types"])
    for name, splits in tasks.items():
        n_labels = len(labels[name])
        assert len(splits["train"]) == config.task_train_size
        assert len(splits["val"]) == len(splits["test"]) == config.task_eval_size
        keys = [json.dumps(r, sort_keys=True) for s in splits.values() for r in s]
        assert len(keys) == len(set(keys)), name
        for records in splits.values():
            for record in records:
                assert set(record) == FIELDS[name]
                assert isinstance(record["label"], int) and 0 <= record["label"] < n_labels
        counts = Counter(r["label"] for r in splits["train"])
        expected = len(splits["train"]) / n_labels
        assert set(counts) == set(range(n_labels)), name
        assert all(0.6 * expected <= c <= 1.4 * expected for c in counts.values()), (name, counts)


def _clause_polarity(clause: str) -> int:
    words = clause.split()
    for _, (_aspects, positive, negative) in REVIEW_ASPECTS.items():
        for adjective in positive + negative:
            if words[-1] == adjective:
                polarity = adjective in positive
                return int(polarity != ("not" in words))
    raise AssertionError(f"no evaluative adjective in {clause!r}")


def test_sentiment_label_follows_from_the_words(corpus):
    for record in corpus.extras["tasks"]["sentiment"]["train"]:
        last_sentence = record["text"].rstrip(".").split(". ")[-1]
        last_clause = re.split(r", but |, and ", last_sentence)[-1]
        assert _clause_polarity(last_clause) == record["label"], record


def test_sentiment_sentences_stay_out_of_the_text(corpus):
    text = corpus.train + corpus.val + corpus.test
    for split in corpus.extras["tasks"]["sentiment"].values():
        for record in split:
            assert f"- {record['text']} (" not in text


def test_entailment_labels_follow_from_the_premise(corpus, world):
    for record in corpus.extras["tasks"]["entailment"]["train"]:
        for sentence in split_sentences(record["premise"]):
            assert is_true_in_world(sentence, world) in (True, None)  # pronoun sentences: None
        truth = is_true_in_world(record["hypothesis"], world)
        assert truth is not None, record
        if record["label"] == 0:
            assert truth is True, record
        elif record["label"] == 2:
            assert truth is False, record


def test_similarity_pairs_state_the_same_fact_or_not(corpus, world):
    for record in corpus.extras["tasks"]["similarity"]["train"]:
        a, b = parse_fact(record["text_a"], world), parse_fact(record["text_b"], world)
        assert a is not None and b is not None, record
        assert (a == b) == (record["label"] == 1), record
        if record["label"] == 1:
            assert record["text_a"] != record["text_b"]


def test_multiple_choice_has_one_correct_answer(config, corpus, world):
    in_context = 0
    for record in corpus.extras["tasks"]["multiple-choice"]["train"]:
        choices = record["choices"]
        assert len(choices) == len(set(choices)) == config.n_choices
        assert record["context"].endswith("Question: " + record["question"])
        subject = next(w for w in re.findall(r"[A-Z][a-z]+", record["question"])
                       if world.kind_of(w) in ("person", "town", "country"))  # fmt: skip
        true_objects = {f.object for f in world.facts_about(subject)}
        assert [c in true_objects for c in choices].count(True) == 1, record
        assert choices[record["label"]] in true_objects
        in_context += record["answer_in_context"]
    assert 0.3 < in_context / config.task_train_size < 0.7


# -- prompt tasks -----------------------------------------------------------------------------


def test_prompt_documents_parse_back_with_the_documented_format(config, corpus, world):
    fmt = corpus.extras["prompt_format"]
    assert fmt["separator"] == " -> " and fmt["document_separator"] == "\n\n"
    assert fmt["max_shots"] == config.max_shots
    assert fmt["instructions"] == PROMPT_INSTRUCTIONS
    docs = prompt_documents(corpus)
    assert len(docs) > 100
    shots, tasks = Counter(), Counter()
    for doc in docs:
        task = prompt_document_task(doc, world)
        assert task is not None, doc
        for inp, out in doc.pairs:
            assert prompt_answer(task, inp, world) == out
        assert 1 <= len(doc.pairs) <= config.max_shots + 1
        shots[len(doc.pairs) - 1] += 1
        tasks[task] += 1
        # The document is exactly an evaluator's prompt followed by the answer.
        *demos, (query, answer) = doc.pairs
        prompt = build_prompt(demos, query, doc.instruction)
        text = fmt["answer"].format(output=answer)
        rebuilt = prompt + text
        assert rebuilt in all_documents(corpus)
    assert set(shots) == set(range(config.max_shots + 1))
    assert set(tasks) == set(PROMPT_TASK_NAMES)
    assert any(d.instruction for d in docs) and any(not d.instruction for d in docs)


def test_prompt_document_templates_are_the_ones_exposed(corpus):
    fmt = corpus.extras["prompt_format"]
    prompt = (
        fmt["instruction_line"].format(instruction=PROMPT_INSTRUCTIONS["reverse"])
        + fmt["demonstration"].format(input="abc", output="cba")
        + fmt["query"].format(input="xyz")
    )
    assert prompt == build_prompt([("abc", "cba")], "xyz", PROMPT_INSTRUCTIONS["reverse"])
    assert prompt == "Reverse the letters:\nabc -> cba\nxyz ->"
    assert build_prompt([{"input": "abc", "output": "cba"}], "xyz") == "abc -> cba\nxyz ->"


def test_held_out_prompt_inputs_never_appear_in_the_text(config, corpus):
    held = corpus.extras["prompt_tasks"]
    demos = corpus.extras["prompt_demos"]
    assert set(held) == set(demos) == set(PROMPT_TASK_NAMES)
    used_inputs: dict[str, set[str]] = {task: set() for task in PROMPT_TASK_NAMES}
    for doc in prompt_documents(corpus):
        task = prompt_document_task(doc, corpus.extras["world"])
        used_inputs[task] |= {inp for inp, _ in doc.pairs}
    train_words = set(re.findall(r"[a-z]+", corpus.train))
    for task, items in held.items():
        assert items, task
        assert len(items) <= config.prompt_eval_size
        if task in STRING_PROMPT_TASKS:
            assert len(items) == config.prompt_eval_size
        inputs = {item["input"] for item in items}
        assert len(inputs) == len(items)
        assert not inputs & used_inputs[task], task
        assert not inputs & {d["input"] for d in demos[task]}, task
        for item in items:
            assert prompt_answer(task, item["input"], corpus.extras["world"]) == item["output"]
            if task in STRING_PROMPT_TASKS and task != "count-items":
                assert item["input"] not in train_words
            assert f"\n{item['input']} -> " not in corpus.train
            assert not corpus.train.startswith(f"{item['input']} -> ")


def test_prompt_fraction_and_task_choice_are_honoured(config):
    only = config.model_copy(update={"prompt_fraction": 1.0, "prompt_tasks": ["reverse"]})
    corpus = generate_corpus(only, seed=1)
    docs = documents(corpus.train)
    parsed = [parse_prompt_document(d) for d in docs]
    assert all(p is not None for p in parsed)
    assert all(p.pairs[0][1] == p.pairs[0][0][::-1] for p in parsed)
    none = generate_corpus(config.model_copy(update={"prompt_fraction": 0.0}), seed=1)
    assert not any(parse_prompt_document(d) for d in documents(none.train))


# -- preference prompts -----------------------------------------------------------------------


def test_preference_prompts_and_properties(config, corpus, world):
    prompts = corpus.extras["preference_prompts"]
    assert len(prompts) == config.n_preference_prompts
    assert {p["properties"]["kind"] for p in prompts} == {"question", "describe"}
    names = set(corpus.extras["preference_properties"])
    for record in prompts:
        props = record["properties"]
        assert record["prompt"].startswith("Q: ") and record["prompt"].endswith("\nA:")
        assert props["entity"] in record["prompt"]
        good = completion_properties(" " + props["reference"] + "\nQ: next", props, world)
        assert set(good) == names
        assert good["answers_question"] and good["factual"] and good["complete_sentence"]
        assert good["mentions_entity"] and not good["rude"] and good["false_facts"] == 0


def test_property_functions_on_examples(world):
    p = world.people[0]
    wrong_town = next(t.name for t in world.towns if t.name != p.home)
    props = {"kind": "question", "entity": p.name, "relation": "lives_in", "answer": p.home}
    wrong = completion_properties(f"What a silly question. {p.name} lives in {wrong_town}.",
                                  props, world)  # fmt: skip
    assert wrong["rude"] and not wrong["polite"] and not wrong["answers_question"]
    assert wrong["false_facts"] == 1 and not wrong["factual"]
    polite = completion_properties(f"Thank you for asking. {p.name} lives in {p.home}.",
                                   props, world)  # fmt: skip
    assert polite["polite"] and polite["factual"] and polite["answers_question"]
    assert is_polite("Please sit down.") and not is_polite("Sit down.")
    assert is_rude("Everyone knows that.")
    assert is_complete_sentence("Tolune is big.") and not is_complete_sentence("tolune is")
    assert repetition("a b c a b c a b c") > 0.3 and repetition("one two three four") == 0.0
    assert fact_check(f"{p.name} lives in {p.home}. Hello there.", world) == {
        "true": 1, "false": 0, "unknown": 1
    }  # fmt: skip
    assert Fact("job", p.name, p.job).negate().negated


# -- configuration ----------------------------------------------------------------------------


def test_config_rejects_unknown_and_out_of_range_options():
    with pytest.raises(ValidationError):
        SyntheticConfig(unknown=1)
    with pytest.raises(ValidationError):
        SyntheticConfig(prompt_tasks=["reverse", "telepathy"])
    with pytest.raises(ValidationError):
        SyntheticConfig(prompt_tasks=[])
    with pytest.raises(ValidationError):
        SyntheticConfig(n_entities=5)
    with pytest.raises(ValidationError):
        SyntheticConfig(n_choices=5)
    schema = SyntheticConfig.model_json_schema()
    assert all("description" in spec for spec in schema["properties"].values())
