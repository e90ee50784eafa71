"""The ``reward-model`` stage: a scalar head on a pre-trained LM, trained on comparison pairs.

The model reads ``prompt + completion + "\\n"``; the head maps the final hidden state of the last
real token (sequences are right-padded) to a score ``r``. The loss is Bradley-Terry's
``-log sigmoid(r_chosen - r_rejected)`` (InstructGPT, eq. 1). The trunk is fine-tuned with the
head unless ``train_trunk`` is off. The head is saved with the run (``heads.pt``, key
``"reward"``) for PPO and the ``reward-score`` evaluation.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from workbench.specs import StageContext, StageParts
from workbench_rlhf.config import PairTrainingConfig, RewardModelConfig  # noqa: F401  (re-exported)
from workbench_rlhf.heads import REWARD_HEAD, RewardHead, scores_and_logits
from workbench_rlhf.losses import bradley_terry_loss
from workbench_rlhf.optim import adamw
from workbench_rlhf.pair_stage import pair_stage_parts
from workbench_rlhf.sequences import token_logprobs
from workbench_rlhf.specs import REWARD_MODEL_SPEC  # noqa: F401  (re-exported)


class RewardModelTraining(pl.LightningModule):
    """Bradley-Terry training of a scalar head (and the trunk under it)."""

    def __init__(self, model: torch.nn.Module, head: RewardHead, cfg: RewardModelConfig):
        super().__init__()
        self.model, self.head, self.cfg = model, head, cfg
        if not cfg.train_trunk:
            for param in model.parameters():
                param.requires_grad_(False)

    def _scores(
        self, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Chosen scores, rejected scores and the LM loss on the chosen completions (None when
        ``lm_coef`` is 0)."""
        scores, logits = scores_and_logits(
            self.model,
            self.head,
            batch["ids"],
            batch["last"],
            batch["completion_mask"],
            need_logits=self.cfg.lm_coef > 0,
        )
        scores = scores.float()
        half = scores.size(0) // 2
        lm_loss = None
        if self.cfg.lm_coef > 0 and logits is not None:
            ids, mask = batch["ids"][:half], batch["completion_mask"][:half].float()
            logp = token_logprobs(logits[:half], ids)
            lm_loss = -(logp * mask).sum() / mask.sum().clamp(min=1.0)
        return scores[:half], scores[half:], lm_loss

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        chosen, rejected, lm_loss = self._scores(batch)
        loss = bradley_terry_loss(chosen, rejected)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/accuracy", (chosen > rejected).float().mean())
        self.log("lr", self.optimizers().param_groups[0]["lr"])
        if lm_loss is not None:
            self.log("train/lm_loss", lm_loss)
            loss = loss + self.cfg.lm_coef * lm_loss
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        chosen, rejected, lm_loss = self._scores(batch)
        size = chosen.size(0)
        if lm_loss is not None:
            self.log("val/lm_loss", lm_loss, batch_size=size)
        self.log("val/loss", bradley_terry_loss(chosen, rejected), prog_bar=True, batch_size=size)
        self.log("val/accuracy", (chosen > rejected).float().mean(), batch_size=size)
        self.log("val/margin", (chosen - rejected).mean(), batch_size=size)
        self.log("val/reward_chosen", chosen.mean(), batch_size=size)
        self.log("val/reward_rejected", rejected.mean(), batch_size=size)

    def configure_optimizers(self):  # type: ignore[override]
        likelihood = self.head.likelihood
        extra = [] if likelihood is None else list(likelihood.parameters())
        own = [p for p in self.head.parameters() if all(p is not q for q in extra)]
        groups = [{"params": own, "weight_decay": 0.0}]
        if extra:
            scaled = self.cfg.lr * self.cfg.likelihood_lr_scale
            groups.append({"params": extra, "weight_decay": 0.0, "lr": scaled})
        if self.cfg.train_trunk:
            groups += (
                self.model.optimizer_groups(self.cfg.weight_decay)
                if hasattr(self.model, "optimizer_groups")
                else [{"params": list(self.model.parameters())}]
            )
        return adamw(groups, self.cfg.lr, self.device, self.cfg.warmup_steps, self.cfg.max_steps)


def build_reward_model(ctx: StageContext) -> StageParts:
    cfg: RewardModelConfig = ctx.config  # type: ignore[assignment]
    if REWARD_HEAD in ctx.parent_heads:
        # Continuing from a reward-model run: keep training its head.
        head = RewardHead.from_state(ctx.model.hidden_size, ctx.parent_heads[REWARD_HEAD])
    else:
        head = RewardHead(ctx.model.hidden_size, likelihood=cfg.likelihood_features)
    module = RewardModelTraining(ctx.model, head, cfg)
    return pair_stage_parts(ctx, module, heads={REWARD_HEAD: head})
