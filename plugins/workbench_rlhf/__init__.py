"""Built-in plugin: RLHF: reward model (Bradley-Terry), PPO with a KL penalty, and DPO.

Datasets ``synthetic-preferences`` (rule-written pairs for the synthetic corpus) and
``preference-jsonl`` (TRL-format files); stages ``sft``, ``reward-model``, ``ppo`` and ``dpo``;
evaluations ``reward-score``, ``win-rate`` (judged by a simulated annotator's rule) and
``preference-accuracy``; claims ``reward-model-accuracy``, ``ppo-bounded-kl`` and
``over-optimisation`` (:mod:`.claims`). See docs/rlhf.md.

Registered through the ``workbench`` entry-point group like any third-party plugin; the modules
are imported inside the hooks so that listing plugins stays cheap.
"""

from workbench import hookimpl


@hookimpl
def register_datasets(register):
    from workbench_rlhf.jsonl_pairs import PREFERENCE_JSONL_SPEC
    from workbench_rlhf.synthetic_pairs import SYNTHETIC_PREFERENCES_SPEC

    register(SYNTHETIC_PREFERENCES_SPEC)
    register(PREFERENCE_JSONL_SPEC)


@hookimpl
def register_stages(register):
    from workbench_rlhf.specs import DPO_SPEC, PPO_SPEC, REWARD_MODEL_SPEC, SFT_SPEC

    register(SFT_SPEC)
    register(REWARD_MODEL_SPEC)
    register(PPO_SPEC)
    register(DPO_SPEC)


@hookimpl
def register_evaluations(register):
    from workbench_rlhf.specs import PREFERENCE_ACCURACY_SPEC, REWARD_SCORE_SPEC, WIN_RATE_SPEC

    register(REWARD_SCORE_SPEC)
    register(WIN_RATE_SPEC)
    register(PREFERENCE_ACCURACY_SPEC)


@hookimpl
def register_claims(register):
    from workbench_rlhf.claims import CLAIMS

    for spec in CLAIMS:
        register(spec)
