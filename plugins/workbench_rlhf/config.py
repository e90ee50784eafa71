"""Options of the RLHF stages and evaluations, apart from their modules so that validating a
config does not import torch (each module re-exports its own)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workbench_rlhf.gold import DEFAULT_JUDGE

__all__ = [
    "END_TEXT",
    "DPOConfig",
    "PPOConfig",
    "PairTrainingConfig",
    "PreferenceAccuracyConfig",
    "RewardModelConfig",
    "RewardScoreConfig",
    "WinRateConfig",
]


END_TEXT = "\n"
"""What ends a completion: a dialogue answer is one line, so a finished answer is followed by a
newline (the token generation stops at)."""


class PairTrainingConfig(BaseModel):
    """Options shared by the stages that train on comparison pairs."""

    model_config = ConfigDict(extra="forbid")

    max_steps: int = Field(300, ge=1, description="optimizer steps")
    batch_size: int = Field(16, ge=1, description="comparison pairs per step")
    lr: float = Field(1e-4, gt=0, description="peak learning rate")
    warmup_steps: int = Field(20, ge=0, description="steps of linear warm-up")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay on matrices")
    grad_clip: float = Field(1.0, ge=0, description="clip gradient norm (0 = off)")
    eval_interval: int = Field(50, ge=1, description="validate every this many steps")
    eval_batches: int = Field(10, ge=1, description="validation batches (of batch_size pairs)")
    end_text: str = Field(END_TEXT, description="appended to every completion (ends the answer)")


class RewardModelConfig(PairTrainingConfig):
    """Options of the reward-model stage."""

    train_trunk: bool = Field(True, description="fine-tune the LM under the head (else head only)")
    likelihood_features: bool = Field(
        True,
        description="the head also reads the LM's surprise at the completion's tokens (excess "
        "surprise sum and minimum, mean log-probability): how the LM's knowledge of facts "
        "reaches the score",
    )
    lm_coef: float = Field(
        0.5,
        ge=0,
        description="weight of an auxiliary language-model loss on the chosen completions: the "
        "trunk learns the facts the labels vouch for, which the likelihood features then read",
    )
    likelihood_lr_scale: float = Field(
        30.0, gt=0, description="learning rate of the likelihood features' weights, times lr"
    )


class DPOConfig(PairTrainingConfig):
    """Options of the DPO stage."""

    lr: float = Field(5e-5, gt=0, description="peak learning rate")
    beta: float = Field(0.1, gt=0, description="strength of the implicit KL to the reference")
    label_smoothing: float = Field(
        0.0, ge=0, lt=0.5, description="assumed share of flipped labels (conservative DPO)"
    )
    sft_coef: float = Field(
        0.0,
        ge=0,
        description="weight of a language-model loss on the chosen completions (mean negative "
        "log-likelihood per token; RPO, Pang et al. 2024): pulls the policy towards answers like "
        "the chosen ones, not only away from the rejected ones",
    )


class SFTConfig(PairTrainingConfig):
    """Options of the SFT stage."""

    lr: float = Field(1e-4, gt=0, description="peak learning rate")
    max_answer_tokens: int | None = Field(
        None,
        ge=1,
        description="leave out demonstrations whose answer (with end_text) is longer than this "
        "many tokens: set it to the PPO run's max_new_tokens, so that the policy learns answers "
        "that finish inside what PPO samples (empty: keep all)",
    )


class PPOConfig(BaseModel):
    """Options of the PPO stage."""

    model_config = ConfigDict(extra="forbid")

    reward_run: int | str = Field(description="the reward-model run (id or name) that scores")
    rollouts: int = Field(60, ge=1, description="rollout batches to collect and train on")
    rollout_batch_size: int = Field(32, ge=1, description="answers (responses) per rollout")
    mini_batch_size: int = Field(16, ge=1, description="responses per optimizer step")
    ppo_epochs: int = Field(4, ge=1, description="passes over each rollout batch")
    lr: float = Field(3e-5, gt=0, description="learning rate (constant)")
    weight_decay: float = Field(0.0, ge=0)
    grad_clip: float = Field(1.0, ge=0, description="clip gradient norm (0 = off)")
    max_new_tokens: int = Field(64, ge=1, description="longest response in tokens")
    temperature: float = Field(1.0, gt=0, description="sampling temperature of the rollouts")
    stop_text: str = Field(END_TEXT, description="a response ends at this text (kept in it)")
    samples_per_prompt: int = Field(
        1,
        ge=1,
        le=64,
        description="answers sampled to each prompt in a rollout (rollout_batch_size must be a "
        "multiple): with several, the rloo advantage compares answers to the same prompt",
    )
    advantage: Literal["gae", "rloo"] = Field(
        "gae",
        description="gae: per-token advantages from the value head (InstructGPT, TRL's PPO); "
        "rloo: each answer's KL-penalised return minus the mean of the other answers to the same "
        "prompt, on every token (REINFORCE leave-one-out, Ahmadian et al. 2024; no value head; "
        "needs samples_per_prompt >= 2)",
    )
    score_norm: bool = Field(
        False,
        description="whiten the reward model's scores over each rollout (zero mean, unit "
        "variance) before the KL penalty is added (TRL's score normalisation; measured worse "
        "on the RLHF LM's chain, docs/rlhf.md)",
    )
    kl_coef: float = Field(0.05, ge=0, description="initial per-token KL penalty coefficient")
    target_kl: float | None = Field(
        None, gt=0, description="adaptive KL: target KL per response (empty: kl_coef fixed)"
    )
    kl_horizon: int = Field(10_000, ge=1, description="adaptive KL controller's horizon")
    gamma: float = Field(1.0, ge=0, le=1, description="discount")
    lam: float = Field(0.95, ge=0, le=1, description="GAE lambda")
    clip_range: float = Field(0.2, gt=0, description="PPO ratio clip")
    clip_range_value: float = Field(0.2, gt=0, description="value clip")
    vf_coef: float = Field(0.1, ge=0, description="weight of the value loss")
    value_lr: float | None = Field(
        1e-3,
        gt=0,
        description="learning rate of the value head (empty: lr). The head is a linear map on "
        "detached hidden states; at the policy's lr it cannot follow returns of several units",
    )
    value_init: bool = Field(
        True,
        description="start the value head's bias at the first rollout's mean reward, so the "
        "first advantages measure each answer against the others, not against zero (a value "
        "head inherited from a parent PPO run is kept)",
    )
    eval_interval: int = Field(10, ge=1, description="validate every this many rollouts")
    val_prompts: int = Field(64, ge=1, description="held-out prompts scored at each validation")
    samples: int = Field(3, ge=0, le=20, description="completions stored at each validation")
    curve_interval: int = Field(
        5,
        ge=0,
        description="every this many rollouts (and before the first), measure the "
        "over-optimisation curve on the held-out prompts: KL, proxy and gold reward (0 = off)",
    )
    curve_samples: int = Field(2, ge=1, le=16, description="answers per held-out prompt per point")
    gold_judge: str | None = Field(
        DEFAULT_JUDGE,
        description="simulated annotator whose rule gives the curve's gold reward (empty: proxy "
        "and KL only; needs prompts from the synthetic corpus)",
    )
    gold_judge_options: dict[str, Any] = Field(
        default_factory=dict, description="options of the gold judge"
    )
    sentinel_gold_drop: float = Field(
        0.2,
        ge=0,
        description="reward-hacking sentinel: warn when the gold fell more than this below its "
        "best curve point while the proxy rose above its value there",
    )
    sentinel_window: int | None = Field(
        None, ge=1, description="unused: the sentinel now compares with the gold's best point"
    )
    kl_budget: float | None = Field(
        None, gt=0, description="warn when a curve point's KL passes this (empty: never)"
    )
    sentinel_pairs: int = Field(
        32,
        ge=0,
        description="when the sentinel warns, queue this many comparison pairs for labelling: "
        "the policy's highest-proxy answers to training prompts against the reference's answers "
        "(0: queue none)",
    )
    sentinel_pool: int = Field(
        128, ge=1, description="training prompts the sentinel samples its pairs from"
    )

    @model_validator(mode="after")
    def _check_samples_per_prompt(self) -> PPOConfig:
        if self.rollout_batch_size % self.samples_per_prompt:
            raise ValueError(
                f"rollout_batch_size ({self.rollout_batch_size}) must be a multiple of "
                f"samples_per_prompt ({self.samples_per_prompt})"
            )
        if self.advantage == "rloo" and self.samples_per_prompt < 2:
            raise ValueError(
                "advantage 'rloo' compares answers to the same prompt: set samples_per_prompt "
                "to 2 or more"
            )
        return self


class PreferenceAccuracyConfig(BaseModel):
    """Options of the preference-accuracy evaluation."""

    model_config = ConfigDict(extra="forbid")

    split: Literal["train", "val", "test"] = Field("val", description="which pairs")
    batch_size: int = Field(32, ge=1, description="pairs per forward pass")
    max_pairs: int | None = Field(None, ge=1, description="score at most this many pairs")


class RewardScoreConfig(BaseModel):
    """Options of the reward-score evaluation."""

    model_config = ConfigDict(extra="forbid")

    reward_run: int | str | None = Field(
        None, description="reward-model run (id or name) to score with (empty: rules only)"
    )
    split: Literal["train", "val"] = Field("val", description="which prompts")
    max_prompts: int = Field(100, ge=1, description="score at most this many prompts")
    max_new_tokens: int = Field(64, ge=1, description="longest completion in tokens")
    temperature: float = Field(1.0, ge=0, description="sampling temperature (0: greedy)")
    stop_text: str = Field(END_TEXT, description="a completion ends at this text")
    batch_size: int = Field(64, ge=1, description="prompts scored per reward-model pass")
    reference_run: int | str | None = Field(
        None,
        description="a run (id or name, e.g. the starting LM) to measure the KL to: the mean over "
        "completions of sum(log pi - log ref) over their tokens",
    )
    seed: int = Field(0, ge=0, description="sampling seed")
    samples: int = Field(5, ge=0, le=50, description="completions stored with the run")


class WinRateConfig(BaseModel):
    """Options of the win-rate evaluation."""

    model_config = ConfigDict(extra="forbid")

    reference_run: int | str | None = Field(
        None, description="run (id or name) to compare with (empty: the run's init_from parent)"
    )
    reward_run: int | str | None = Field(
        None, description="reward-model run for the proxy win rate and rewards (empty: gold only)"
    )
    judge: str = Field(DEFAULT_JUDGE, description="simulated annotator whose rule is the gold")
    judge_options: dict[str, Any] = Field(
        default_factory=dict, description="options of the judge annotator"
    )
    split: Literal["train", "val"] = Field("val", description="which prompts")
    max_prompts: int = Field(100, ge=1, description="at most this many prompts")
    samples_per_prompt: int = Field(4, ge=1, le=64, description="answers per prompt and side")
    max_new_tokens: int = Field(64, ge=1, description="longest answer in tokens")
    temperature: float = Field(1.0, gt=0, description="sampling temperature")
    stop_text: str = Field(END_TEXT, description="an answer ends at this text")
    seed: int = Field(0, ge=0, description="sampling seed (the same for run and reference)")
    batch_size: int = Field(64, ge=1, description="rows per reward-model / KL pass")
    samples: int = Field(5, ge=0, le=50, description="comparisons stored with the run")
