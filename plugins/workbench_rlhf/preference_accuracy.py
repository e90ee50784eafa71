"""The ``preference-accuracy`` evaluation: how often a reward-model run scores the chosen
completion of a comparison pair above the rejected one.

Uses the run's saved ``reward`` head on a preferences split (the run's own dataset, or another
through ``workbench evaluate --dataset``). Pairs that say which flaw their rejected completion has
(``synthetic-preferences``) are also counted per flaw.
"""

from __future__ import annotations

import torch

from workbench.specs import EvaluationContext
from workbench_rlhf.batches import collate_pairs, encode_pairs
from workbench_rlhf.config import PreferenceAccuracyConfig  # noqa: F401  (re-exported)
from workbench_rlhf.heads import REWARD_HEAD, RewardHead, sequence_scores
from workbench_rlhf.losses import bradley_terry_loss
from workbench_rlhf.sequences import END_TEXT
from workbench_rlhf.specs import PREFERENCE_ACCURACY_SPEC  # noqa: F401  (re-exported)


@torch.no_grad()
def evaluate_preference_accuracy(ctx: EvaluationContext) -> dict[str, float]:
    cfg: PreferenceAccuracyConfig = ctx.config  # type: ignore[assignment]
    if REWARD_HEAD not in ctx.heads:
        raise ValueError(
            f"run {ctx.run.id} saved no reward head (heads: {', '.join(ctx.heads) or 'none'}); "
            "evaluate a reward-model run"
        )
    if getattr(ctx.dataset, "kind", None) != "preferences":
        raise ValueError("preference-accuracy needs a preferences dataset")
    pairs = list(getattr(ctx.dataset, cfg.split))[: cfg.max_pairs]
    if not pairs:
        raise ValueError(f"the dataset has no {cfg.split!r} pairs")
    end_text = ctx.run_config.get("stage", {}).get("end_text", END_TEXT)
    model = ctx.model.eval()
    head = RewardHead.from_state(model.hidden_size, ctx.heads[REWARD_HEAD])
    encoded = encode_pairs(ctx.tokenizer, pairs, model.block_size, cfg.split, end_text)
    chosen, rejected = [], []
    for start in range(0, len(encoded), cfg.batch_size):
        batch = collate_pairs(encoded[start : start + cfg.batch_size])
        scores = sequence_scores(
            model, head, batch["ids"], batch["last"], batch["completion_mask"]
        ).float()
        half = scores.size(0) // 2
        chosen.append(scores[:half])
        rejected.append(scores[half:])
    c, r = torch.cat(chosen), torch.cat(rejected)
    wins = (c > r).float()
    metrics = {
        "accuracy": float(wins.mean()),
        "margin": float((c - r).mean()),
        "loss": float(bradley_terry_loss(c, r)),
        "pairs": float(len(pairs)),
    }
    flaws = [pair.get("flaw") for pair in pairs]
    for flaw in sorted({f for f in flaws if isinstance(f, str)}):
        picked = torch.tensor([f == flaw for f in flaws])
        metrics[f"accuracy/{flaw}"] = float(wins[picked].mean())
    return metrics
