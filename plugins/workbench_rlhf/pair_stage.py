"""What the stages that train on comparison pairs (``sft``, ``reward-model``, ``dpo``) share: the
encoded pairs as batches and the trainer's validation cadence."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl

from workbench.specs import StageContext, StageParts
from workbench_rlhf.batches import ListData, collate_pairs, encode_pairs
from workbench_rlhf.config import PairTrainingConfig


def pair_trainer_kwargs(cfg: PairTrainingConfig) -> dict:
    return {
        "val_check_interval": cfg.eval_interval,
        "check_val_every_n_epoch": None,
        "limit_val_batches": cfg.eval_batches,
        "num_sanity_val_steps": 0,
        "gradient_clip_val": cfg.grad_clip or None,
    }


def pair_stage_parts(
    ctx: StageContext,
    module: pl.LightningModule,
    heads: dict[str, Any] | None = None,
    max_chosen_tokens: int | None = None,
) -> StageParts:
    """``module`` trained on ``ctx.dataset``'s pairs (chosen rows first in every batch); with
    ``max_chosen_tokens``, only the pairs whose chosen completion is at most that long."""
    cfg: PairTrainingConfig = ctx.config  # type: ignore[assignment]
    block_size = ctx.model.block_size
    pairs = ctx.dataset
    train = encode_pairs(ctx.tokenizer, pairs.train, block_size, "train", cfg.end_text)
    val = encode_pairs(ctx.tokenizer, pairs.val, block_size, "val", cfg.end_text)
    if max_chosen_tokens is not None:
        train, val = (
            [pair for pair in split if pair[0].completion_len <= max_chosen_tokens]
            for split in (train, val)
        )
        if not train:
            raise ValueError(
                f"no training demonstration is at most {max_chosen_tokens} tokens long "
                "(max_answer_tokens): raise it or leave it empty"
            )
    data = ListData(train, val, cfg.batch_size, ctx.run.seed, collate_pairs, cfg.eval_batches)
    return StageParts(
        module=module,
        datamodule=data,
        max_steps=cfg.max_steps,
        checkpoint_every=cfg.eval_interval,
        trainer_kwargs=pair_trainer_kwargs(cfg),
        heads=heads or {},
    )
