"""What the RLHF plugin registers that needs torch to run: the ``sft``, ``reward-model``,
``ppo`` and ``dpo`` stages and the ``reward-score``, ``win-rate`` and ``preference-accuracy``
evaluations (their options are in :mod:`.config`).

Nothing here imports torch or Lightning: each factory is a :class:`~workbench.specs.LazyFactory`
that imports its module when called.
"""

from __future__ import annotations

from workbench.data import PREFERENCES, PROMPTS
from workbench.protocols import CAUSAL_LM, SEQUENCE_ENCODER
from workbench.specs import EvaluationSpec, LazyFactory, StageSpec
from workbench_rlhf.config import (
    DPOConfig,
    PPOConfig,
    PreferenceAccuracyConfig,
    RewardModelConfig,
    RewardScoreConfig,
    SFTConfig,
    WinRateConfig,
)

__all__ = [
    "DPO_SPEC",
    "PPO_SPEC",
    "PREFERENCE_ACCURACY_SPEC",
    "REWARD_MODEL_SPEC",
    "REWARD_SCORE_SPEC",
    "SFT_SPEC",
    "WIN_RATE_SPEC",
]


SFT_SPEC = StageSpec(
    name="sft",
    summary="Supervised fine-tuning of a causal LM on demonstrations: the chosen completions of "
    "comparison pairs, loss on the completion only (InstructGPT's step 1)",
    config=SFTConfig,
    factory=LazyFactory("workbench_rlhf.sft:build_sft"),
    requires=CAUSAL_LM,
    dataset_kinds=(PREFERENCES,),
)


REWARD_MODEL_SPEC = StageSpec(
    name="reward-model",
    summary="Reward model: a scalar head on a pre-trained LM trained on comparison pairs "
    "(Bradley-Terry loss)",
    config=RewardModelConfig,
    factory=LazyFactory("workbench_rlhf.reward_model:build_reward_model"),
    requires=SEQUENCE_ENCODER,
    dataset_kinds=(PREFERENCES,),
    proxy_pairs=LazyFactory("workbench_rlhf.hacking:proxy_pairs"),
)


PPO_SPEC = StageSpec(
    name="ppo",
    summary="PPO fine-tuning of a causal LM against a reward model, with a per-token KL penalty "
    "to the frozen starting policy (InstructGPT)",
    config=PPOConfig,
    factory=LazyFactory("workbench_rlhf.ppo:build_ppo"),
    requires=CAUSAL_LM,
    dataset_kinds=(PROMPTS,),
)


DPO_SPEC = StageSpec(
    name="dpo",
    summary="Direct Preference Optimization of a causal LM on comparison pairs, against a frozen "
    "reference copy",
    config=DPOConfig,
    factory=LazyFactory("workbench_rlhf.dpo:build_dpo"),
    requires=CAUSAL_LM,
    dataset_kinds=(PREFERENCES,),
)


REWARD_SCORE_SPEC = EvaluationSpec(
    name="reward-score",
    summary="Sample answers to held-out prompts; mean reward-model score and rule-based "
    "properties (factual, answers, polite, rude)",
    config=RewardScoreConfig,
    factory=LazyFactory("workbench_rlhf.reward_score:evaluate_reward_score"),
    requires=CAUSAL_LM,
)


WIN_RATE_SPEC = EvaluationSpec(
    name="win-rate",
    summary="Gold win rate against the parent (or a named reference) judged by a simulated "
    "annotator's rule; proxy win rate, gold and proxy rewards, KL to the reference",
    config=WinRateConfig,
    factory=LazyFactory("workbench_rlhf.win_rate:evaluate_win_rate"),
    requires=CAUSAL_LM,
)


PREFERENCE_ACCURACY_SPEC = EvaluationSpec(
    name="preference-accuracy",
    summary="Share of comparison pairs whose chosen completion a reward-model run scores higher",
    config=PreferenceAccuracyConfig,
    factory=LazyFactory("workbench_rlhf.preference_accuracy:evaluate_preference_accuracy"),
    requires=SEQUENCE_ENCODER,
)
