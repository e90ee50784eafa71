"""The RLHF stages' LightningModules in this process (no CLI, no worker): a tiny GPT trains a few
steps of PPO, DPO and the reward model on synthetic data, so the default test run exercises the
training code; tests/test_rlhf_stages.py runs the same stages through the CLI (slow)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import pytorch_lightning as pl
import torch

from workbench.specs import DatasetContext, RunInfo, StageContext
from workbench_gpt.model import GPT, GPTConfig
from workbench_rlhf.dpo import DPOConfig, build_dpo
from workbench_rlhf.heads import RewardHead, ScalarHead
from workbench_rlhf.ppo import PPOConfig, build_ppo
from workbench_rlhf.reward_model import RewardModelConfig, build_reward_model
from workbench_rlhf.synthetic_pairs import SyntheticPreferencesConfig, load_synthetic_preferences
from workbench_synthetic.views import SyntheticPromptsConfig, load_synthetic_prompts
from workbench_text.tokenizers import CharTokenizer

torch.set_num_threads(1)


class Recorder(pl.loggers.Logger):
    """Keeps every logged metric: ``history[name] = [(step, value), ...]``."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[tuple[int, float]]] = {}

    name = "recorder"
    version = "0"

    def log_hyperparams(self, *args, **kwargs):
        pass

    def log_metrics(self, metrics, step=None):
        for key, value in metrics.items():
            self.history.setdefault(key, []).append((step, float(value)))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    ctx = DatasetContext(cache_dir=tmp_path_factory.mktemp("cache"), seed=0)
    prompts = load_synthetic_prompts(SyntheticPromptsConfig(size_chars=20_000, seed=2), ctx)
    pairs = load_synthetic_preferences(SyntheticPreferencesConfig(size_chars=20_000, seed=2), ctx)
    tokenizer = CharTokenizer()
    tokenizer.fit(prompts.texts() + pairs.texts() + ["\n"])
    return SimpleNamespace(prompts=prompts, pairs=pairs, tokenizer=tokenizer)


def tiny_gpt(tokenizer, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    config = GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=96)
    return GPT(config, vocab_size=tokenizer.vocab_size)


def reward_run(world, bias: float | None = None) -> SimpleNamespace:
    """What ``ctx.load_run`` returns for a tiny reward-model run (a GPT trunk and a reward head,
    its bias set to ``bias`` when given)."""
    trunk = tiny_gpt(world.tokenizer, seed=1)
    head = ScalarHead(trunk.hidden_size)
    if bias is not None:
        with torch.no_grad():
            head.linear.bias.fill_(bias)
    return SimpleNamespace(
        model=trunk, tokenizer=world.tokenizer, heads={"reward": head.state_dict()}
    )


def context(world, model, config, dataset, tmp_path, **extra) -> StageContext:
    info = RunInfo(id=1, name="t", seed=0, run_dir=tmp_path, home=tmp_path)
    return StageContext(config, info, model, world.tokenizer, dataset, **extra)


def fit(parts, max_steps: int | None = None) -> Recorder:
    recorder = Recorder()
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=max_steps or parts.max_steps,
        logger=recorder,
        log_every_n_steps=1,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **parts.trainer_kwargs,
    )
    trainer.fit(parts.module, datamodule=parts.datamodule)
    return recorder


def test_ppo_rollouts_update_the_policy_and_value_head(world, tmp_path):
    loaded = reward_run(world)
    policy = tiny_gpt(world.tokenizer)
    start = {k: v.clone() for k, v in policy.state_dict().items()}
    samples = []
    cfg = PPOConfig(
        reward_run="rm", rollouts=3, rollout_batch_size=6, mini_batch_size=4, ppo_epochs=2,
        lr=1e-3, max_new_tokens=12, eval_interval=3, val_prompts=4, samples=2, curve_interval=2,
    )  # fmt: skip
    ctx = context(
        world, policy, cfg, world.prompts, tmp_path,
        load_run=lambda ref: loaded, log_sample=lambda *a: samples.append(a),
    )  # fmt: skip
    parts = build_ppo(ctx)
    assert parts.max_steps == 3 * 2 * 2  # rollouts x epochs x ceil(6 / 4) mini-batches
    recorder = fit(parts)
    history = recorder.history
    assert [step for step, _ in history["train/kl"]] == [4, 8, 12]
    assert history["train/kl"][0][1] == pytest.approx(0.0, abs=1e-5)  # policy == reference
    for name in ("reward/mean", "objective", "policy_loss", "value_loss", "clip_fraction",
                 "approx_kl", "response_length"):  # fmt: skip
        assert all(math.isfinite(v) for _, v in history[f"train/{name}"])
    assert "val/reward/mean" in history and len(samples) == 2
    # The over-optimisation curve: before the first rollout and after rollout 2.
    assert [step for step, _ in history["curve/kl"]] == [0, 8]
    assert [v for _, v in history["curve/rollouts"]] == [0.0, 2.0]
    assert history["curve/kl"][0][1] == pytest.approx(0.0, abs=1e-5)  # policy == reference
    assert history["curve/gold_win"][0][1] == 0.5  # the same answers as the reference: all ties
    assert history["curve/proxy_win"][0][1] == 0.5
    assert [v for _, v in history["sentinel/warning"]] == [0.0, 0.0]  # nothing to compare yet
    for name in ("proxy", "gold", "sqrt_kl", "kl_coef"):
        assert all(math.isfinite(v) for _, v in history[f"curve/{name}"])
    assert history["curve/sqrt_kl"][1][1] == pytest.approx(max(history["curve/kl"][1][1], 0) ** 0.5)
    changed = any(not torch.equal(start[k], v) for k, v in policy.state_dict().items())
    assert changed and "value" in parts.heads
    # The reference stayed the starting policy.
    for key, value in parts.module.reference.state_dict().items():
        assert torch.equal(value, start[key])


@pytest.mark.parametrize("value_init", [True, False])
def test_ppo_starts_the_value_at_the_first_rollouts_mean_reward(world, tmp_path, value_init):
    """Scores far from zero: with ``value_init`` the value head starts at their mean (and GAE
    compares answers with each other); without, it stays near zero for a long time."""
    loaded = reward_run(world, bias=-12.0)
    policy = tiny_gpt(world.tokenizer)
    cfg = PPOConfig(
        reward_run="rm", rollouts=1, rollout_batch_size=6, mini_batch_size=6, ppo_epochs=1,
        lr=1e-6, value_lr=1e-6, max_new_tokens=8, eval_interval=1, val_prompts=2, samples=0,
        curve_interval=0, value_init=value_init,
    )  # fmt: skip
    ctx = context(world, policy, cfg, world.prompts, tmp_path, load_run=lambda ref: loaded)
    parts = build_ppo(ctx)
    history = fit(parts).history
    first_mean = history["train/reward/mean"][0][1]
    assert first_mean < -10
    with torch.no_grad():
        hidden = policy.hidden_states(
            torch.tensor([world.tokenizer.encode(world.prompts.train[0])])
        )
        value = float(parts.heads["value"](hidden).mean())
    if value_init:
        assert value == pytest.approx(first_mean, abs=1.0)
    else:
        assert abs(value) < 2.0


def test_ppo_rloo_answers_each_prompt_several_times_and_judges_them_together(world, tmp_path):
    loaded = reward_run(world)
    policy = tiny_gpt(world.tokenizer)
    start = {k: v.clone() for k, v in policy.state_dict().items()}
    cfg = PPOConfig(
        reward_run="rm", rollouts=2, rollout_batch_size=8, samples_per_prompt=4, advantage="rloo",
        mini_batch_size=4, ppo_epochs=1, lr=1e-3, max_new_tokens=10, eval_interval=2,
        val_prompts=2, samples=0, curve_interval=0,
    )  # fmt: skip
    ctx = context(world, policy, cfg, world.prompts, tmp_path, load_run=lambda ref: loaded)
    parts = build_ppo(ctx)
    module = parts.module
    seen: list[dict] = []
    experience = module._experience

    def spy(batch, scored):
        out = experience(batch, scored)
        seen.append({"ids": batch.ids, "mask": batch.completion_mask, **out})
        return out

    module._experience = spy
    history = fit(parts).history
    assert len(seen) == 2 and "train/value_loss" not in history
    first = seen[0]
    assert first["ids"].size(0) == 8  # 2 prompts x 4 answers
    prompt_len = int(first["mask"].float().argmax(dim=1)[0]) + 1
    prompts = first["ids"][:, :prompt_len].view(2, 4, -1)
    assert bool((prompts == prompts[:, :1]).all())  # 4 answers to each of 2 prompts
    assert not bool((prompts[0, 0] == prompts[1, 0]).all())
    # One advantage per answer, on all of its tokens; before whitening they sum to zero within a
    # prompt, so after it the per-prompt sums of per-answer advantages are equal.
    mask = first["mask"]
    per_answer = (first["advantages"] * mask).sum(dim=1) / mask.sum(dim=1)
    for row in range(8):
        tokens = first["advantages"][row][mask[row]]
        assert torch.allclose(tokens, tokens[0].expand_as(tokens), atol=1e-5)
    sums = per_answer.view(2, 4).sum(dim=1)
    assert float((sums[0] - sums[1]).abs()) < 1e-4
    assert any(not torch.equal(start[k], v) for k, v in policy.state_dict().items())


def test_ppo_config_refuses_rloo_without_several_answers_per_prompt():
    with pytest.raises(ValueError, match="samples_per_prompt to 2 or more"):
        PPOConfig(reward_run="rm", advantage="rloo")
    with pytest.raises(ValueError, match="multiple of samples_per_prompt"):
        PPOConfig(reward_run="rm", rollout_batch_size=10, samples_per_prompt=4)


def test_ppo_refuses_a_reward_run_without_a_reward_head(world, tmp_path):
    loaded = SimpleNamespace(model=tiny_gpt(world.tokenizer), tokenizer=world.tokenizer, heads={})
    cfg = PPOConfig(reward_run="lm")
    ctx = context(world, tiny_gpt(world.tokenizer), cfg, world.prompts, tmp_path,
                  load_run=lambda ref: loaded)  # fmt: skip
    with pytest.raises(ValueError, match="run 'lm' has no reward head"):
        build_ppo(ctx)


def test_dpo_moves_the_implicit_rewards_apart(world, tmp_path):
    cfg = DPOConfig(max_steps=30, batch_size=8, lr=3e-3, warmup_steps=2, eval_interval=30,
                    eval_batches=2, beta=0.5)  # fmt: skip
    parts = build_dpo(context(world, tiny_gpt(world.tokenizer), cfg, world.pairs, tmp_path))
    history = fit(parts).history
    assert history["val/loss"][-1][1] < math.log(2)
    assert history["val/rewards/margin"][-1][1] > 0
    assert history["train/rewards/accuracy"][-1][1] >= 0.5


def test_dpo_with_an_sft_term_also_raises_the_chosen_answers_likelihood(world, tmp_path):
    """RPO: DPO plus the chosen completions' NLL; the logged NLL falls, DPO still separates."""
    cfg = DPOConfig(max_steps=30, batch_size=8, lr=3e-3, warmup_steps=2, eval_interval=15,
                    eval_batches=2, beta=0.5, sft_coef=1.0)  # fmt: skip
    parts = build_dpo(context(world, tiny_gpt(world.tokenizer), cfg, world.pairs, tmp_path))
    history = fit(parts).history
    sft = [v for _, v in history["val/sft_loss"]]
    assert len(sft) == 2 and sft[-1] < sft[0]
    assert all(math.isfinite(v) for _, v in history["train/sft_loss"])
    assert history["val/rewards/margin"][-1][1] > 0


def test_sft_learns_the_chosen_answers_and_reads_nothing_else(world, tmp_path):
    """InstructGPT's step 1 on the pairs' chosen completions: the validation NLL falls, and the
    loss is the chosen completions' alone (not their prompts', not the rejected answers')."""
    from workbench_rlhf.batches import collate_pairs, encode_pairs
    from workbench_rlhf.sft import SFTConfig, SFTTraining, build_sft

    cfg = SFTConfig(max_steps=40, batch_size=8, lr=3e-3, warmup_steps=2, eval_interval=20,
                    eval_batches=2)  # fmt: skip
    parts = build_sft(context(world, tiny_gpt(world.tokenizer), cfg, world.pairs, tmp_path))
    history = fit(parts).history
    val = [v for _, v in history["val/loss"]]
    # From ln(vocabulary) at initialisation, falling while it trains.
    assert len(val) == 2 and val[-1] < val[0] - 0.05 < math.log(world.tokenizer.vocab_size)

    module = SFTTraining(tiny_gpt(world.tokenizer), cfg)
    encoded = encode_pairs(world.tokenizer, world.pairs.train[:4], 96, "train", cfg.end_text)
    loss, size = module._nll(collate_pairs(encoded))
    assert size == 4
    other = [dict(p) for p in world.pairs.train[:4]]
    for p in other:
        p["rejected"] = " Go away."
    swapped = encode_pairs(world.tokenizer, other, 96, "train", cfg.end_text)
    assert torch.allclose(module._nll(collate_pairs(swapped))[0], loss)  # rejected: unread
    flipped = [
        {**p, "chosen": p["rejected"], "rejected": p["chosen"]} for p in world.pairs.train[:4]
    ]
    changed = encode_pairs(world.tokenizer, flipped, 96, "train", cfg.end_text)
    assert not torch.allclose(module._nll(collate_pairs(changed))[0], loss)


def test_sft_leaves_out_demonstrations_longer_than_max_answer_tokens(world, tmp_path):
    """With ``max_answer_tokens`` the SFT stage trains only on answers that fit in PPO's samples
    (their tokens with the end text); a limit nothing fits is a clear error."""
    from workbench_rlhf.sft import SFTConfig, build_sft

    def chosen_lengths(cfg):
        parts = build_sft(context(world, tiny_gpt(world.tokenizer), cfg, world.pairs, tmp_path))
        return [chosen.completion_len for chosen, _ in parts.datamodule.train_items]

    every = chosen_lengths(SFTConfig())
    limit = sorted(every)[len(every) // 2]
    kept = chosen_lengths(SFTConfig(max_answer_tokens=limit))
    assert max(every) > limit and kept and max(kept) <= limit
    assert len(kept) == sum(n <= limit for n in every)
    with pytest.raises(ValueError, match="max_answer_tokens"):
        build_sft(context(world, tiny_gpt(world.tokenizer), SFTConfig(max_answer_tokens=1),
                          world.pairs, tmp_path))  # fmt: skip


def test_reward_model_trains_its_head(world, tmp_path):
    cfg = RewardModelConfig(max_steps=30, batch_size=8, lr=3e-3, warmup_steps=2,
                            eval_interval=30, eval_batches=2)  # fmt: skip
    parts = build_reward_model(
        context(world, tiny_gpt(world.tokenizer), cfg, world.pairs, tmp_path)
    )
    head = parts.heads["reward"]
    start = head.linear.weight.detach().clone()
    assert head.likelihood is not None and not head.likelihood.weight.any()  # starts at zero
    history = fit(parts).history
    assert not torch.equal(start, head.linear.weight.detach())
    assert head.likelihood.weight.abs().sum() > 0  # the LM's surprise counts after training
    restored = RewardHead.from_state(head.linear.in_features, head.state_dict())
    assert restored.likelihood is not None
    plain = RewardHead.from_state(16, ScalarHead(16).state_dict())  # a head saved without them
    assert plain.likelihood is None
    assert {"val/loss", "val/accuracy", "val/margin", "train/lm_loss", "val/lm_loss"} <= set(
        history
    )
    assert history["val/loss"][-1][1] < math.log(2)


def test_ppo_resumed_from_a_checkpoint_matches_an_uninterrupted_run(world, tmp_path):
    """Stop PPO after 2 of 4 rollouts, resume from the checkpoint: the rollout count, the adaptive
    KL coefficient, the optimizer, the value head and the data stream continue, so the result
    equals the run that was never stopped."""
    reward_trunk = tiny_gpt(world.tokenizer, seed=1)
    torch.manual_seed(1)
    reward_head = ScalarHead(reward_trunk.hidden_size)
    loaded = SimpleNamespace(
        model=reward_trunk, tokenizer=world.tokenizer, heads={"reward": reward_head.state_dict()}
    )
    cfg = PPOConfig(
        reward_run="rm", rollouts=4, rollout_batch_size=6, mini_batch_size=4, ppo_epochs=2,
        lr=1e-3, max_new_tokens=10, eval_interval=100, val_prompts=4, samples=0,
        target_kl=0.5, kl_horizon=10, curve_interval=0,
    )  # fmt: skip

    def build():
        ctx = context(world, tiny_gpt(world.tokenizer), cfg, world.prompts, tmp_path,
                      load_run=lambda ref: loaded)  # fmt: skip
        return build_ppo(ctx)

    def trainer(max_steps: int) -> pl.Trainer:
        return pl.Trainer(
            accelerator="cpu", devices=1, max_steps=max_steps, logger=False,
            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
            **build().trainer_kwargs,
        )  # fmt: skip

    whole = build()
    trainer(16).fit(whole.module, datamodule=whole.datamodule)

    first = build()
    stopped = trainer(8)  # 2 rollouts x 2 epochs x 2 mini-batches
    stopped.fit(first.module, datamodule=first.datamodule)
    path = tmp_path / "half.ckpt"
    stopped.save_checkpoint(path)
    assert first.module._rollouts_done == 2

    second = build()
    trainer(16).fit(second.module, datamodule=second.datamodule, ckpt_path=path)
    assert second.module._rollouts_done == whole.module._rollouts_done == 4
    assert second.module.kl_ctl.value == pytest.approx(whole.module.kl_ctl.value)
    assert whole.module.kl_ctl.value != pytest.approx(cfg.kl_coef)  # the controller did move
    for key, value in whole.module.state_dict().items():
        assert torch.allclose(second.module.state_dict()[key], value, atol=1e-5), key


def test_the_sentinel_queues_its_highest_proxy_answers_for_labelling(world, tmp_path):
    """When the sentinel warns, the stage samples the policy and the reference on training
    prompts and hands the highest-proxy answers, each against the reference's, to
    ``queue_pairs`` (the worker stores them for the Label tab); the warning says so."""
    from workbench.specs import PairToLabel

    loaded = reward_run(world)
    samples, queued = [], []

    def queue(pairs):
        queued.append(list(pairs))
        return list(range(len(pairs)))

    cfg = PPOConfig(
        reward_run="rm", rollouts=2, rollout_batch_size=6, mini_batch_size=6, ppo_epochs=2,
        lr=3e-2, max_new_tokens=12, eval_interval=5, val_prompts=4, samples=0, curve_interval=2,
        sentinel_pairs=3, sentinel_pool=16,
    )  # fmt: skip
    ctx = context(
        world, tiny_gpt(world.tokenizer), cfg, world.prompts, tmp_path,
        load_run=lambda ref: loaded, log_sample=lambda *a: samples.append(a),
        queue_pairs=queue,
    )  # fmt: skip
    parts = build_ppo(ctx)
    # A sentinel that warns at the second curve point (the real one's rule is tested elsewhere).
    parts.module._sentinel = SimpleNamespace(
        check=lambda points: "hacked" if len(points) > 1 else None
    )
    recorder = fit(parts)
    assert [v for _, v in recorder.history["sentinel/warning"]] == [0.0, 1.0]
    assert len(queued) == 1 and 0 < len(queued[0]) <= 3
    properties = dict(zip(world.prompts.train, world.prompts.properties, strict=False))
    for pair in queued[0]:
        assert isinstance(pair, PairToLabel)
        assert pair.prompt in properties and pair.properties == properties[pair.prompt]
        assert pair.completion.strip() != pair.parent_completion.strip()
        assert pair.generation["sentinel"] is True and pair.generation["rollouts"] == 2
    proxies = [p.generation["proxy"] for p in queued[0]]
    assert proxies == sorted(proxies, reverse=True)  # the highest-proxy answers, best first
    ((step, prompt, text),) = samples
    assert prompt == "[reward-hacking sentinel]"
    assert text.startswith("hacked") and f"queued {len(queued[0])} comparison pair(s)" in text
