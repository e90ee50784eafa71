"""The RLHF stages end to end through the real CLI and worker processes, on a tiny GPT pre-trained
on a small synthetic corpus: pretrain -> reward-model (init_from) -> ppo (reward_run), and dpo
beside it; then the reward-score and preference-accuracy evaluations.

The whole lineage is trained once per module (about a minute and a half on 2 cores), so the tests
are marked slow: ``pytest -m slow tests/test_rlhf_stages.py``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import yaml

from workbench.cli import main
from workbench.paths import resolve_home
from workbench.store import open_store

pytestmark = pytest.mark.slow

torch.set_num_threads(1)

SYNTHETIC = {"size_chars": 20_000, "seed": 3}
ARCH = {"name": "gpt", "preset": "gpt-nano", "block_size": 128}
TRAINER = {"accelerator": "cpu", "devices": 1, "log_every_n_steps": 10}


def config(name: str, stage: dict, dataset: str, init_from: str | None = None) -> dict:
    return {
        "name": name,
        "seed": 3,
        "stage": stage,
        "architecture": ARCH,
        "tokenizer": {"name": "char"},
        "dataset": {"name": dataset, **SYNTHETIC},
        "trainer": TRAINER,
        "init_from": init_from,
    }


RUNS = {
    "tiny-lm": config(
        "tiny-lm",
        {"name": "pretrain", "max_steps": 300, "batch_size": 16, "lr": 3e-3, "warmup_steps": 10,
         "eval_interval": 150, "eval_batches": 2, "sample_tokens": 20},
        "synthetic",
    ),
    "tiny-rm": config(
        "tiny-rm",
        # A plain head: PPO's mechanics are checked by raising its score (docs/rlhf.md says why
        # PPO may not raise a likelihood-feature head's score).
        {"name": "reward-model", "max_steps": 150, "batch_size": 16, "lr": 1e-3,
         "warmup_steps": 10, "eval_interval": 50, "eval_batches": 4,
         "likelihood_features": False, "lm_coef": 0.0},
        "synthetic-preferences",
        init_from="tiny-lm",
    ),
    "tiny-ppo": config(
        "tiny-ppo",
        {"name": "ppo", "reward_run": "tiny-rm", "rollouts": 8, "rollout_batch_size": 16,
         "mini_batch_size": 8, "ppo_epochs": 2, "lr": 1e-4, "max_new_tokens": 40,
         "eval_interval": 4, "val_prompts": 16, "samples": 2},
        "synthetic-prompts",
        init_from="tiny-lm",
    ),
    "tiny-dpo": config(
        "tiny-dpo",
        {"name": "dpo", "max_steps": 40, "batch_size": 16, "lr": 1e-3, "warmup_steps": 5,
         "eval_interval": 20, "eval_batches": 4, "beta": 0.1},
        "synthetic-preferences",
        init_from="tiny-lm",
    ),
    "tiny-sft": config(
        "tiny-sft",
        {"name": "sft", "max_steps": 40, "batch_size": 16, "lr": 1e-3, "warmup_steps": 5,
         "eval_interval": 20, "eval_batches": 4},
        "synthetic-preferences",
        init_from="tiny-lm",
    ),
    # PPO scored by a run without a reward head: refused with a clear error.
    "bad-ppo": config(
        "bad-ppo",
        {"name": "ppo", "reward_run": "tiny-lm", "rollouts": 1, "rollout_batch_size": 4},
        "synthetic-prompts",
        init_from="tiny-lm",
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def lineage(tmp_path_factory):
    """Train every run of :data:`RUNS` in one fresh home; yields ``(store, home, exit codes)``."""
    root = tmp_path_factory.mktemp("rlhf")
    home = root / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(home))
        mp.setenv("OMP_NUM_THREADS", "1")
        mp.delenv("WORKBENCH_PLUGINS", raising=False)
        mp.delenv("WORKBENCH_DISABLE_PLUGINS", raising=False)
        codes = {}
        for name, raw in RUNS.items():
            path = root / f"{name}.yaml"
            path.write_text(yaml.safe_dump(raw))
            codes[name] = main(["run", str(path)])
        yield open_store(resolve_home(home)), home, codes


def run_of(store, name: str):
    return store.find_run(name)


def values(store, name: str, metric: str) -> list[float]:
    return [m.value for m in store.metrics(run_of(store, name).id, metric)]


def heads_of(home: Path, store, name: str) -> dict:
    path = resolve_home(home).run_dir(run_of(store, name).id) / "heads.pt"
    return torch.load(path, map_location="cpu", weights_only=True)


def test_every_good_run_succeeds_with_its_parent(lineage):
    store, _, codes = lineage
    for name in ("tiny-lm", "tiny-rm", "tiny-ppo", "tiny-dpo", "tiny-sft"):
        assert codes[name] == 0, store.find_run(name).error
        assert run_of(store, name).status == "succeeded"
    lm = run_of(store, "tiny-lm").id
    for name in ("tiny-rm", "tiny-ppo", "tiny-dpo"):
        assert run_of(store, name).parent_id == lm


def test_reward_model_learns_the_preferences_and_saves_its_head(lineage):
    store, home, _ = lineage
    names = set(store.metric_names(run_of(store, "tiny-rm").id))
    assert {"train/loss", "val/loss", "val/accuracy", "val/margin"} <= names
    accuracy = values(store, "tiny-rm", "val/accuracy")
    assert accuracy[-1] >= 0.65, accuracy  # chance is 0.5
    assert values(store, "tiny-rm", "val/margin")[-1] > 0
    heads = heads_of(home, store, "tiny-rm")
    assert set(heads) == {"reward"}
    assert heads["reward"]["linear.weight"].shape == (1, 32)  # gpt-nano is 32 wide


def test_ppo_logs_its_rollouts_saves_a_value_head_and_raises_the_reward(lineage):
    store, home, _ = lineage
    run_id = run_of(store, "tiny-ppo").id
    names = set(store.metric_names(run_id))
    wanted = {"reward/mean", "kl", "objective", "policy_loss", "value_loss", "clip_fraction",
              "approx_kl", "response_length", "kl_coef"}  # fmt: skip
    assert {f"train/{n}" for n in wanted} <= names
    assert {"val/reward/mean", "val/kl"} <= names
    # The over-optimisation curve: before the first rollout and after rollout 5 (every 5).
    assert [v for v in values(store, "tiny-ppo", "curve/rollouts")] == [0.0, 5.0]
    assert {"curve/kl", "curve/sqrt_kl", "curve/proxy", "curve/gold", "curve/gold_win"} <= names
    kl = values(store, "tiny-ppo", "train/kl")
    assert len(kl) == 8  # one point per rollout
    assert kl[0] == pytest.approx(0.0, abs=1e-4)  # before any update the policy is the reference
    reward = values(store, "tiny-ppo", "train/reward/mean")
    assert sum(reward[-3:]) / 3 > sum(reward[:3]) / 3, reward
    # 8 rollouts x 2 epochs x 2 mini-batches of 8 = 32 optimizer steps.
    assert run_of(store, "tiny-ppo").step == 32
    assert len(store.samples(run_id)) == 4  # 2 validations x 2 samples
    heads = heads_of(home, store, "tiny-ppo")
    assert set(heads) == {"value"} and heads["value"]["linear.weight"].shape == (1, 32)


def test_dpo_raises_preference_accuracy_over_the_reference(lineage):
    store, _, _ = lineage
    names = set(store.metric_names(run_of(store, "tiny-dpo").id))
    for prefix in ("train/", "val/"):
        assert {f"{prefix}{n}" for n in ("loss", "rewards/chosen", "rewards/rejected",
                                         "rewards/accuracy", "rewards/margin")} <= names  # fmt: skip
    # At the start policy == reference: loss log 2 and every implicit reward 0.
    assert values(store, "tiny-dpo", "val/loss")[-1] < math.log(2) - 0.05
    assert values(store, "tiny-dpo", "val/rewards/accuracy")[-1] >= 0.65
    assert values(store, "tiny-dpo", "val/rewards/margin")[-1] > 0


def test_sft_lowers_the_chosen_answers_loss(lineage):
    store, _, _ = lineage
    val = values(store, "tiny-sft", "val/loss")
    assert len(val) == 2 and val[-1] < val[0]


def test_ppo_refuses_a_reward_run_without_a_reward_head(lineage):
    store, _, codes = lineage
    assert codes["bad-ppo"] != 0
    run = run_of(store, "bad-ppo")
    assert run.status == "failed"
    assert "run 'tiny-lm' has no reward head" in run.error


def test_evaluations_score_the_policies_and_the_reward_model(lineage, capsys):
    store, home, _ = lineage
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(home))
        common = ["--set", "reward_run=tiny-rm", "--set", "max_prompts=16", "--set", "samples=1"]
        for run in ("tiny-lm", "tiny-ppo", "tiny-dpo"):
            # The LM's own dataset is the synthetic corpus, whose extras hold the prompts.
            evaluation = [
                "evaluate",
                run,
                "reward-score",
                *common,
                "--set",
                "reference_run=tiny-lm",
            ]
            assert main(evaluation) == 0
        # The DPO run's own dataset is pairs; prompts may also come with --dataset.
        prompts = "{name: synthetic-prompts, size_chars: 20000, seed: 3, prompts_val_fraction: 0.2}"
        assert main(["evaluate", "tiny-ppo", "reward-score", *common, "--dataset", prompts]) == 0
        assert main(["evaluate", "tiny-rm", "preference-accuracy"]) == 0
        # The gold judge: PPO against its parent (tiny-lm) by the factual-polite rule.
        won = ["--set", "max_prompts=8", "--set", "samples_per_prompt=2", "--set", "samples=1"]
        assert main(["evaluate", "tiny-ppo", "win-rate", "--set", "reward_run=tiny-rm", *won]) == 0
        assert main(["evaluate", "tiny-lm", "win-rate", *won]) == 2  # no parent to compare with
        # The PPO run's highest-proxy answers against its parent's, queued for labelling.
        before = store.count_pairs()
        queued = ["pairs", "generate", "--from-run", "tiny-ppo", "--count", "3", "--pool", "12"]
        assert main([*queued, "--max-tokens", "20"]) == 0
        assert 0 < store.count_pairs() - before <= 3
        assert main(["pairs", "generate", "--from-run", "tiny-dpo", "--count", "3"]) == 2
        assert main(["evaluate", "tiny-ppo", "preference-accuracy"]) == 2  # no reward head
    capsys.readouterr()
    scored = store.evaluations(run_of(store, "tiny-ppo").id)[0].metrics
    for key in ("reward/mean", "kl", "share_factual", "share_answers_question", "share_polite",
                "share_rude", "mean_words", "finished"):  # fmt: skip
        assert key in scored, scored
    assert 0.0 <= scored["share_polite"] <= 1.0
    start = store.evaluations(run_of(store, "tiny-lm").id)[0].metrics
    assert start["kl"] == pytest.approx(0.0, abs=1e-4)  # the LM against itself
    assert scored["kl"] > 0.0  # PPO moved the policy away from the LM
    assert set(start) == set(scored)
    evaluations = store.evaluations(run_of(store, "tiny-ppo").id)
    judged = next(e for e in evaluations if e.name == "win-rate").metrics
    assert judged["comparisons"] == 16
    for key in ("gold/win_rate", "proxy/win_rate", "gold/mean", "gold/reference_mean", "kl",
                "share_factual", "reference/share_factual"):  # fmt: skip
        assert math.isfinite(judged[key]), key
    assert 0.0 <= judged["gold/win_rate"] <= 1.0
    accuracy = store.evaluations(run_of(store, "tiny-rm").id)[0].metrics
    assert accuracy["accuracy"] >= 0.65
    assert {"accuracy/false", "accuracy/rude", "accuracy/off-topic", "accuracy/truncated"} <= set(
        accuracy
    )
