"""The ``sft`` stage: supervised fine-tuning on demonstrations (InstructGPT's step 1).

The demonstrations are the chosen completions of a preferences dataset: for
``synthetic-preferences`` the rule-written answers (polite, true, complete: what the labeller's
rule asks for, written out), for ``preference-labels`` the winners of labelled pairs of the
model's own answers (rejection sampling, as Llama 2 fine-tuned on its best samples). The loss is
the mean negative log-likelihood per token of ``chosen + end_text``, prompt and padding masked
out, so the model learns to answer, not to ask. A PPO or DPO run can then start from this run.
With ``max_answer_tokens`` the demonstrations longer than the answers PPO samples are left out,
so that the policy's answers finish inside PPO's ``max_new_tokens`` (a reward model trained on
``truncated`` flaws scores an answer that broke off low, even where its fact was already said).
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from workbench.specs import StageContext, StageParts
from workbench_rlhf.config import SFTConfig
from workbench_rlhf.optim import adamw
from workbench_rlhf.pair_stage import pair_stage_parts
from workbench_rlhf.sequences import SequenceBatch, completion_logprob, mean_completion_nll


def chosen_half(batch: dict[str, torch.Tensor]) -> SequenceBatch:
    """The chosen completions of a batch of pairs (``collate_pairs`` puts them first)."""
    half = batch["ids"].size(0) // 2
    return SequenceBatch(batch["ids"][:half], batch["completion_mask"][:half], batch["last"][:half])


class SFTTraining(pl.LightningModule):
    """A causal LM trained on the chosen completions of comparison pairs."""

    def __init__(self, model: torch.nn.Module, cfg: SFTConfig):
        super().__init__()
        self.model, self.cfg = model, cfg

    def _nll(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        seqs = chosen_half(batch)
        logits, _ = self.model(seqs.ids)
        nll = mean_completion_nll(completion_logprob(logits, seqs), seqs.completion_mask)
        return nll, seqs.ids.size(0)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss, _ = self._nll(batch)
        self.log("train/loss", loss, prog_bar=True)
        self.log("lr", self.optimizers().param_groups[0]["lr"])
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        loss, size = self._nll(batch)
        self.log("val/loss", loss, prog_bar=True, batch_size=size)

    def configure_optimizers(self):  # type: ignore[override]
        groups = self.model.optimizer_groups(self.cfg.weight_decay)
        return adamw(groups, self.cfg.lr, self.device, self.cfg.warmup_steps, self.cfg.max_steps)


def build_sft(ctx: StageContext) -> StageParts:
    cfg: SFTConfig = ctx.config  # type: ignore[assignment]
    return pair_stage_parts(
        ctx, SFTTraining(ctx.model, cfg), max_chosen_tokens=cfg.max_answer_tokens
    )
