"""The gold judge and the ``win-rate`` evaluation: a hand-checked tiny case of verdicts, win rate
(ties half) and gold rewards; then the evaluation on tiny GPTs in this process (a run against
itself ties everywhere at zero KL; swapping run and reference turns the win rate w into 1 - w)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from workbench.specs import DatasetContext, EvaluationContext, RunInfo
from workbench_gpt.model import GPT, GPTConfig
from workbench_rlhf.gold import GoldJudge, load_judge, proxy_outcomes, win_rate
from workbench_rlhf.heads import REWARD_HEAD, ScalarHead
from workbench_rlhf.win_rate import WinRateConfig, evaluate_win_rate, gold_metrics
from workbench_synthetic.views import SyntheticPromptsConfig, load_synthetic_prompts
from workbench_text.tokenizers import CharTokenizer

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def prompts(tmp_path_factory):
    ctx = DatasetContext(cache_dir=tmp_path_factory.mktemp("cache"), seed=0)
    return load_synthetic_prompts(SyntheticPromptsConfig(size_chars=20_000, seed=2), ctx)


@pytest.fixture(scope="module")
def question(prompts):
    """A question prompt with a one-word answer, its properties, and a wrong answer."""
    world = prompts.extras["world"]
    for text, props in zip(prompts.train, prompts.properties, strict=False):
        if props["kind"] == "question" and props["relation"] == "lives_in":
            wrong = next(t["name"] for t in world["towns"] if t["name"] != props["answer"])
            return text, props, wrong
    raise AssertionError("no lives_in question")


def test_win_rate_counts_ties_half_and_gives_a_standard_error():
    # deviations 3/8, -1/8, -5/8, 3/8: squares sum to 0.6875; se = sqrt(0.6875 / 3 / 4)
    assert win_rate([1.0, 0.5, 0.0, 1.0]) == pytest.approx((0.625, (0.6875 / 3 / 4) ** 0.5))
    assert win_rate([0.5]) == (0.5, 0.0)
    assert proxy_outcomes([1.0, 0.0, 2.0], [0.0, 1.0, 2.0]) == [1.0, 0.0, 0.5]
    with pytest.raises(ValueError, match="no comparisons"):
        win_rate([])


def test_gold_verdicts_and_rewards_on_a_hand_checked_case(prompts, question):
    prompt, props, wrong = question
    entity, answer = props["entity"], props["answer"]
    true = f" {entity} lives in {answer}."
    polite_true = f" Thank you for asking. {entity} lives in {answer}."
    rude_true = f" What a silly question. {entity} lives in {answer}."
    false = f" {entity} lives in {wrong}."
    unhelpful = " I do not know."
    judge = load_judge("factual-polite", {}, prompts.extras["world"])
    assert judge.scores
    # Gold rewards 4 * factual + 2 * answers + polite, by hand:
    assert [judge.score(prompt, t, props) for t in (polite_true, rude_true, true, false)] == [
        7.0,
        6.0,
        6.0,
        0.0,
    ]
    run = [polite_true, false, unhelpful, polite_true]
    ref = [false, rude_true, false, true]
    # win (factual), loss (factual), tie (neither), win (politeness decides)
    metrics, outcomes = gold_metrics(judge, [prompt] * 4, [props] * 4, run, ref)
    assert outcomes == [1.0, 0.0, 0.5, 1.0]
    assert metrics["gold/win_rate"] == pytest.approx(0.625)
    assert (metrics["gold/wins"], metrics["gold/ties"], metrics["gold/losses"]) == (0.5, 0.25, 0.25)
    assert metrics["gold/mean"] == pytest.approx((7 + 0 + 0 + 7) / 4)
    assert metrics["gold/reference_mean"] == pytest.approx((0 + 6 + 0 + 6) / 4)
    # "both bad" counts as a tie, like "tie"
    strict = load_judge("factual-polite", {"both_bad_if_unhelpful": True}, prompts.extras["world"])
    assert strict.outcome(prompt, unhelpful, false, props) == 0.5


def test_a_judge_with_an_unknown_label_is_refused():
    odd = GoldJudge("odd", SimpleNamespace(label=lambda *a: "maybe"), None)
    with pytest.raises(ValueError, match="answered 'maybe'"):
        odd.outcome("p", "a", "b", {})
    assert not odd.scores


def tiny_gpt(tokenizer, seed: int) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=96), tokenizer.vocab_size)


@pytest.fixture(scope="module")
def runs(prompts):
    tokenizer = CharTokenizer()
    tokenizer.fit(prompts.texts() + ["\n"])
    models = {
        "a": tiny_gpt(tokenizer, 0),
        "b": tiny_gpt(tokenizer, 1),
        "rm": tiny_gpt(tokenizer, 2),
    }
    torch.manual_seed(3)
    heads = {"rm": {REWARD_HEAD: ScalarHead(16).state_dict()}}
    loaded = {
        name: SimpleNamespace(model=model, tokenizer=tokenizer, heads=heads.get(name, {}))
        for name, model in models.items()
    }
    return SimpleNamespace(tokenizer=tokenizer, loaded=loaded)


def evaluate(runs, prompts, tmp_path, name: str, parent: str | None, **options) -> dict:
    options = {"max_prompts": 6, "samples_per_prompt": 2, "max_new_tokens": 12, **options}
    ctx = EvaluationContext(
        config=WinRateConfig(**options),
        run=RunInfo(id=1, name=name, seed=0, run_dir=tmp_path, home=tmp_path),
        model=runs.loaded[name].model,
        tokenizer=runs.tokenizer,
        dataset=prompts,
        run_config={"init_from": parent},
        load_run=lambda ref: runs.loaded[ref],
    )
    return evaluate_win_rate(ctx)


def test_a_run_against_itself_ties_everywhere_at_zero_kl(runs, prompts, tmp_path):
    metrics = evaluate(runs, prompts, tmp_path, "a", parent="a", reward_run="rm")
    assert metrics["comparisons"] == 12
    assert metrics["gold/win_rate"] == 0.5 and metrics["gold/ties"] == 1.0
    assert metrics["proxy/win_rate"] == 0.5
    assert metrics["proxy/mean"] == metrics["proxy/reference_mean"]
    assert metrics["kl"] == pytest.approx(0.0, abs=1e-5)
    assert metrics["share_polite"] == metrics["reference/share_polite"]


def test_swapping_run_and_reference_complements_the_win_rate(runs, prompts, tmp_path):
    ab = evaluate(runs, prompts, tmp_path, "a", parent="b", reward_run="rm")
    ba = evaluate(runs, prompts, tmp_path, "b", parent=None, reference_run="a", reward_run="rm")
    assert ab["gold/win_rate"] + ba["gold/win_rate"] == pytest.approx(1.0)
    assert ab["proxy/win_rate"] + ba["proxy/win_rate"] == pytest.approx(1.0)
    assert ab["proxy/mean"] == pytest.approx(ba["proxy/reference_mean"])
    assert ab["gold/wins"] + ab["gold/ties"] + ab["gold/losses"] == pytest.approx(1.0)
    # a sample estimate of KL (it can be negative for two near-uniform random models)
    assert ab["kl"] != pytest.approx(0.0, abs=1e-4) and ba["kl"] != pytest.approx(0.0, abs=1e-4)


def test_the_reference_defaults_to_the_parent_and_must_exist(runs, prompts, tmp_path):
    assert evaluate(runs, prompts, tmp_path, "a", parent="a")["kl"] == pytest.approx(0, abs=1e-5)
    with pytest.raises(ValueError, match="no parent"):
        evaluate(runs, prompts, tmp_path, "a", parent=None)


def test_highest_proxy_pairs_are_the_best_scored_answers_against_the_reference(runs, prompts):
    from workbench_rlhf.hacking import highest_proxy_pairs
    from workbench_rlhf.heads import load_reward_model

    reward = load_reward_model(runs.loaded["rm"], "rm")
    policy, reference = runs.loaded["a"].model, runs.loaded["b"].model
    texts = prompts.train[:10]
    options = {"count": 4, "seed": 5, "max_new_tokens": 10}
    picked = highest_proxy_pairs(policy, reference, runs.tokenizer, reward, texts, **options)
    assert 0 < len(picked) <= 4
    proxies = [p.proxy for p in picked]
    assert proxies == sorted(proxies, reverse=True)
    everyone = highest_proxy_pairs(
        policy, reference, runs.tokenizer, reward, texts, **{**options, "count": 10}
    )
    assert picked == everyone[: len(picked)]  # the top of the full ranking
    assert all(p.policy.strip() != p.reference.strip() for p in everyone)
    # A policy that is its reference answers alike everywhere: nothing to compare.
    assert highest_proxy_pairs(policy, policy, runs.tokenizer, reward, texts, **options) == []


def test_held_out_prompts_that_occur_in_training_are_left_out():
    from workbench.data import PromptSet
    from workbench_rlhf.reward_score import prompts_of

    dataset = PromptSet(
        train=["Q: a\nA:", "Q: b\nA:", "Q: a\nA:"],
        val=["Q: b\nA:", "Q: c\nA:", "Q: d\nA:", "Q: c\nA:"],
        properties=[{"n": 0}, {"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}, {"n": 5}, {"n": 6}],
        extras={"world": "w"},
    )
    # Each distinct prompt once (a question drawn twice is judged once).
    assert prompts_of(dataset, "val") == (["Q: c\nA:", "Q: d\nA:"], [{"n": 4}, {"n": 5}], "w")
    assert prompts_of(dataset, "train")[0] == ["Q: a\nA:", "Q: b\nA:"]


def test_pairs_and_prompts_of_one_corpus_are_judged_on_the_same_prompts(tmp_path):
    """A run trained on the synthetic pairs (SFT, DPO) and one trained on the prompts view (PPO)
    are judged on the same held-out prompts, in the same order."""
    from workbench.specs import DatasetContext
    from workbench_rlhf.reward_score import prompts_of
    from workbench_rlhf.synthetic_pairs import (
        SyntheticPreferencesConfig,
        load_synthetic_preferences,
    )
    from workbench_synthetic import SyntheticPromptsConfig, load_synthetic_prompts

    options = dict(size_chars=20_000, seed=2, n_entities=20, n_preference_prompts=300,
                   prompts_val_fraction=0.3)  # fmt: skip
    ctx = DatasetContext(cache_dir=tmp_path, seed=2)
    view = load_synthetic_prompts(SyntheticPromptsConfig(**options), ctx)
    pairs = load_synthetic_preferences(SyntheticPreferencesConfig(**options), ctx)
    assert len(view.val) > len(set(view.val))  # a small world: questions repeat
    for split in ("train", "val"):
        from_view, from_pairs = prompts_of(view, split), prompts_of(pairs, split)
        assert from_view[0] == from_pairs[0] and from_view[1] == from_pairs[1]
