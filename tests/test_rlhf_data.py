"""RLHF data: the rule-written synthetic preference pairs, TRL-format JSONL files, and rollouts
over prompts of different lengths."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from workbench.specs import DatasetContext
from workbench_annotators.rules import FactualPoliteAnnotator, FactualPoliteConfig
from workbench_gpt.model import GPT, GPTConfig
from workbench_rlhf.heads import check_same_vocabulary, load_reward_model
from workbench_rlhf.jsonl_pairs import PreferenceJsonlConfig, load_preference_jsonl
from workbench_rlhf.rollout import Response, sample_responses, scoring_rows
from workbench_rlhf.synthetic_pairs import SyntheticPreferencesConfig, load_synthetic_preferences
from workbench_synthetic.preferences import completion_properties

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def pairs():
    config = SyntheticPreferencesConfig(size_chars=20_000, seed=5, pairs_per_prompt=4)
    return load_synthetic_preferences(config, DatasetContext(cache_dir=Path("."), seed=0))


def test_synthetic_pairs_follow_the_stated_rule(pairs):
    world = pairs.extras["world"]
    table = pairs.extras["prompt_properties"]
    judge = FactualPoliteAnnotator(FactualPoliteConfig())
    assert len(pairs.train) == 4 * 270 and 0 < len(pairs.val) <= 4 * 30  # 300 prompts, 10% val
    assert {p["prompt"] for p in pairs.train}.isdisjoint({p["prompt"] for p in pairs.val})
    flaws_seen = set()
    for pair in pairs.train + pairs.val:
        props = table[pair["prompt"]]
        chosen = completion_properties(pair["chosen"], props, world)
        rejected = completion_properties(pair["rejected"], props, world)
        assert pair["chosen"].startswith(" ") and pair["rejected"].startswith(" ")
        assert chosen["factual"] and chosen["answers_question"] and chosen["polite"]
        assert chosen["complete_sentence"] and not chosen["rude"]
        flaw = pair["flaw"]
        flaws_seen.add(flaw)
        if flaw == "false":
            assert rejected["false_facts"] >= 1 and not rejected["factual"]
        elif flaw == "rude":
            assert rejected["rude"] and rejected["answers_question"]
        elif flaw == "off-topic":
            assert not rejected["answers_question"] and not rejected["mentions_entity"]
        elif flaw == "fragment":
            # The answer's word, no sentence: it names the answer (a question's) but states no fact.
            assert not rejected["factual"] and rejected["true_facts"] == 0
            assert rejected["false_facts"] == 0 and rejected["polite"]
            assert rejected["answers_question"] == (props["kind"] == "question")
        elif flaw == "unresponsive":
            # True (or nothing) about the right entity, but not the answer.
            assert not rejected["answers_question"] and rejected["false_facts"] == 0
            assert rejected["polite"] and not rejected["rude"]
            if rejected["true_facts"]:
                assert rejected["mentions_entity"]
        else:
            assert flaw == "truncated" and not rejected["complete_sentence"]
        # The labeller's rule agrees with every pair but a truncation after the fact (it does
        # not check completeness: a tie).
        verdict = judge.label(pair["prompt"], pair["chosen"], pair["rejected"], props, world)
        assert verdict == "a" or (flaw == "truncated" and verdict == "tie")
    assert flaws_seen == {"false", "rude", "off-topic", "truncated", "fragment", "unresponsive"}


def test_synthetic_pairs_are_deterministic_and_respect_the_chosen_flaws(pairs):
    ctx = DatasetContext(cache_dir=Path("."), seed=0)
    again = load_synthetic_preferences(
        SyntheticPreferencesConfig(size_chars=20_000, seed=5, pairs_per_prompt=4), ctx
    )
    assert again.train == pairs.train
    only_rude = load_synthetic_preferences(
        SyntheticPreferencesConfig(size_chars=20_000, seed=5, rejected_kinds=["rude"]), ctx
    )
    assert {p["flaw"] for p in only_rude.train} == {"rude"}
    assert len(only_rude.train) == 270  # one pair per prompt: only one kind to choose from
    with pytest.raises(ValueError, match="at least one rejected kind"):
        SyntheticPreferencesConfig(rejected_kinds=[])


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_preference_jsonl_reads_trl_format_and_splits_validation(tmp_path):
    rows = [
        {"prompt": f"Q{i}", "chosen": " yes.", "rejected": " no", "score": 1} for i in range(10)
    ]
    path = write_jsonl(tmp_path / "prefs.jsonl", rows[:5] + [""] + rows[5:])  # a blank line
    ctx = DatasetContext(cache_dir=tmp_path, seed=0)
    data = load_preference_jsonl(PreferenceJsonlConfig(path=str(path), val_fraction=0.2), ctx)
    assert [p["prompt"] for p in data.val] == ["Q8", "Q9"] and len(data.train) == 8
    assert set(data.train[0]) == {"prompt", "chosen", "rejected"}
    val = write_jsonl(tmp_path / "val.jsonl", rows[:3])
    split = load_preference_jsonl(PreferenceJsonlConfig(path=str(path), val_path=str(val)), ctx)
    assert len(split.train) == 10 and len(split.val) == 3


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"prompt": "a", "chosen": "b"}', "bad.jsonl:2: missing field 'rejected'"),
        (
            '{"prompt": "a", "chosen": 3, "rejected": "c"}',
            "bad.jsonl:2: field 'chosen' must be a string",
        ),
        ('{"prompt": "a", "chosen": [{"role": "user"}], "rejected": "c"}', "conversational"),
        ('{"prompt": "a", ', "bad.jsonl:2: invalid JSON"),
        ('["a", "b", "c"]', "bad.jsonl:2: expected a JSON object"),
    ],
)
def test_preference_jsonl_errors_name_file_line_and_field(tmp_path, line, message):
    good = {"prompt": "p", "chosen": "c", "rejected": "r"}
    path = write_jsonl(tmp_path / "bad.jsonl", [good, line])
    with pytest.raises(ValueError) as info:
        load_preference_jsonl(
            PreferenceJsonlConfig(path=str(path)), DatasetContext(cache_dir=tmp_path, seed=0)
        )
    assert message in str(info.value)


def test_rollouts_of_different_prompt_lengths_match_one_prompt_at_a_time():
    torch.manual_seed(0)
    model = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=24), vocab_size=11)
    prompts = [[1, 2, 3], [4, 5], [6, 7, 8], [9], [1] * 20]
    batched = sample_responses(model, prompts, max_new_tokens=6, stop=[10], temperature=0.0)
    for prompt, response in zip(prompts, batched, strict=True):
        alone = model.generate(torch.tensor([prompt]), min(6, 24 - len(prompt)), temperature=0.0)
        tokens = alone[0]
        if 10 in tokens:
            tokens = tokens[: tokens.index(10) + 1]
        assert response.tokens == tokens
        assert response.finished == (tokens[-1:] == [10])
        assert len(prompt) + len(response.tokens) <= model.block_size
    assert len(batched[4].tokens) <= 4  # the long prompt only has 4 positions left


def test_reward_run_without_a_head_or_with_another_vocabulary_is_refused():
    with pytest.raises(ValueError, match="run 'lm' has no reward head"):
        load_reward_model(SimpleNamespace(heads={"value": {}}, model=None, tokenizer=None), "lm")

    class Chars:
        def __init__(self, chars: str):
            self.chars = chars
            self.vocab_size = len(chars)

        def encode(self, text: str) -> list[int]:
            return [self.chars.index(c) for c in text]

    Chars("abc").encode("ab")
    check_same_vocabulary(Chars("abc"), Chars("abc"), ["abc"], "rm")
    with pytest.raises(ValueError, match="different vocabulary"):
        check_same_vocabulary(Chars("abc"), Chars("abcd"), ["abc"], "rm")
    with pytest.raises(ValueError, match="encodes 'ab' differently"):
        check_same_vocabulary(Chars("abc"), Chars("bac"), ["ab"], "rm")


def test_an_unfinished_response_is_scored_as_a_broken_off_answer():
    prompts = [[1, 2], [3, 4, 5]]
    responses = [Response([6, 7, 10], finished=True), Response([8, 9], finished=False)]
    rows = scoring_rows(prompts, responses, stop=[10], block_size=5)
    # The finished one already ends with its stop token; the other gets one; both fit 5 tokens.
    assert [row.ids for row in rows] == [[1, 2, 6, 7, 10], [4, 5, 8, 9, 10]]
