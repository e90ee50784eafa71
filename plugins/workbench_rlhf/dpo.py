"""The ``dpo`` stage: Direct Preference Optimization (Rafailov et al. 2023).

The policy starts as the parent run's LM; the reference is a frozen copy of that starting point.
For each pair the sequence log-probabilities of the completion tokens only (``chosen + "\\n"``,
``rejected + "\\n"``; prompt and padding masked out) under both models give the implicit rewards
``beta * (log pi - log ref)``, and the loss is
``-log sigmoid(beta * ((log pi(c) - log ref(c)) - (log pi(r) - log ref(r))))``.
"""

from __future__ import annotations

import copy
import warnings

import pytorch_lightning as pl
import torch

from workbench.specs import StageContext, StageParts
from workbench_rlhf.config import DPOConfig  # noqa: F401  (re-exported)
from workbench_rlhf.losses import DPOOutput, dpo_loss
from workbench_rlhf.optim import adamw
from workbench_rlhf.pair_stage import pair_stage_parts
from workbench_rlhf.sequences import SequenceBatch, completion_logprob, mean_completion_nll
from workbench_rlhf.specs import DPO_SPEC  # noqa: F401  (re-exported)


def quiet_frozen_reference_warning() -> None:
    """Lightning warns about submodules in eval mode at the start of training; the frozen
    reference is meant to be one."""
    warnings.filterwarnings("ignore", message=r".*module\(s\) in eval mode.*")


def frozen_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` that never trains (the reference policy)."""
    reference = copy.deepcopy(model)
    reference.eval()
    for param in reference.parameters():
        param.requires_grad_(False)
    return reference


class DPOTraining(pl.LightningModule):
    """DPO on a causal LM against a frozen reference copy.

    The reference is a registered submodule so that checkpoints carry it (a resumed run keeps the
    original reference, not its own half-trained weights); it stays in eval mode.
    """

    def __init__(self, model: torch.nn.Module, cfg: DPOConfig):
        super().__init__()
        self.model, self.cfg = model, cfg
        self.reference = frozen_copy(model)

    def train(self, mode: bool = True) -> DPOTraining:
        super().train(mode)
        self.reference.eval()
        return self

    def _dpo(self, batch: dict[str, torch.Tensor]) -> tuple[DPOOutput, torch.Tensor | None]:
        """The DPO output and, with ``sft_coef``, the chosen completions' mean NLL per token."""
        seqs = SequenceBatch(batch["ids"], batch["completion_mask"], batch["last"])
        logits, _ = self.model(seqs.ids)
        policy = completion_logprob(logits, seqs)
        with torch.no_grad():
            ref_logits, _ = self.reference(seqs.ids)
            reference = completion_logprob(ref_logits, seqs)
        half = policy.size(0) // 2
        out = dpo_loss(
            policy[:half],
            policy[half:],
            reference[:half],
            reference[half:],
            self.cfg.beta,
            self.cfg.label_smoothing,
        )
        nll = None
        if self.cfg.sft_coef > 0:
            nll = mean_completion_nll(policy[:half], seqs.completion_mask[:half])
        return out, nll

    def _log(self, prefix: str, out: DPOOutput, **kwargs) -> None:
        self.log(f"{prefix}loss", out.loss, prog_bar=True, **kwargs)
        self.log(f"{prefix}rewards/chosen", out.chosen_rewards.mean(), **kwargs)
        self.log(f"{prefix}rewards/rejected", out.rejected_rewards.mean(), **kwargs)
        self.log(f"{prefix}rewards/accuracy", out.accuracy, **kwargs)
        self.log(f"{prefix}rewards/margin", out.margin, **kwargs)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        out, nll = self._dpo(batch)
        self._log("train/", out)
        self.log("lr", self.optimizers().param_groups[0]["lr"])
        if nll is None:
            return out.loss
        self.log("train/sft_loss", nll)
        return out.loss + self.cfg.sft_coef * nll

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        out, nll = self._dpo(batch)
        size = out.chosen_rewards.size(0)
        self._log("val/", out, batch_size=size)
        if nll is not None:
            self.log("val/sft_loss", nll, batch_size=size)

    def configure_optimizers(self):  # type: ignore[override]
        groups = self.model.optimizer_groups(self.cfg.weight_decay)
        return adamw(groups, self.cfg.lr, self.device, self.cfg.warmup_steps, self.cfg.max_steps)


def build_dpo(ctx: StageContext) -> StageParts:
    cfg: DPOConfig = ctx.config  # type: ignore[assignment]
    quiet_frozen_reference_warning()
    return pair_stage_parts(ctx, DPOTraining(ctx.model, cfg))
