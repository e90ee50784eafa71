"""The ``finetune`` stage: GPT-1 supervised fine-tuning (the paper's second half).

Records of a labelled task are turned into token sequences by the task's input transformation
(:mod:`workbench_gpt1.transforms`); the model's hidden state at each sequence's final
``<extract>`` token feeds a linear head (:mod:`workbench_gpt1.head`). The loss is the task's
cross-entropy plus ``lm_coef`` times the auxiliary language-modelling loss on the same sequences
(GPT-1's lambda = 0.5). AdamW, linear warm-up then linear decay to zero, gradient clipping;
validation (loss, accuracy and a few predictions stored as samples) every ``eval_interval`` steps
and at the end. The head is saved with the run as ``classifier``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from workbench.data import LabelledTask
from workbench.specs import StageContext, StageParts
from workbench_gpt1.batching import EncodedRecord, TaskBatch, collate, encode_records
from workbench_gpt1.config import FinetuneConfig
from workbench_gpt1.head import TaskHead
from workbench_gpt1.scoring import is_causal_lm, score_records, task_forward
from workbench_gpt1.specs import FINETUNE_SPEC  # noqa: F401  (re-exported from its old home)
from workbench_gpt1.transforms import TaskTokens

TRAIN_RECORDS_METRIC = "train/records"
"""Logged at each validation: how many labelled records the run trains on."""

HEAD_NAME = "classifier"
"""The name the head is saved under (``heads.pt``) and looked up by evaluations."""


def check_task(dataset: object) -> LabelledTask:
    """The dataset as a :class:`LabelledTask`, or an error saying what the stage needs."""
    if not isinstance(dataset, LabelledTask):
        raise ValueError(
            f"fine-tuning needs a labelled-task dataset (e.g. synthetic-task or jsonl-task), "
            f"got {type(dataset).__name__}"
        )
    return dataset


def lr_factor(step: int, warmup_steps: int, total_steps: int) -> float:
    """GPT-1's schedule as a multiple of the peak rate: linear warm-up, then linear decay to 0."""
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    remaining = max(1, total_steps - warmup_steps)
    return max(0.0, 1.0 - (step - warmup_steps) / remaining)


def total_steps(cfg: FinetuneConfig, n_train: int) -> int:
    """``max_steps`` when given, else ``epochs`` passes over ``n_train`` records."""
    if cfg.max_steps is not None:
        return cfg.max_steps
    return max(1, math.ceil(cfg.epochs * n_train / cfg.batch_size))


class RecordData(pl.LightningDataModule):
    """Shuffled training batches (the order fixed by the seed) and fixed validation batches."""

    def __init__(
        self,
        train: list[EncodedRecord],
        val: list[EncodedRecord],
        batch_size: int,
        eval_batch_size: int,
        seed: int,
    ):
        super().__init__()
        self.train, self.val = train, val
        self.batch_size, self.eval_batch_size, self.seed = batch_size, eval_batch_size, seed

    def train_dataloader(self) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(
            self.train,  # type: ignore[arg-type]
            batch_size=self.batch_size,
            shuffle=True,
            drop_last=len(self.train) >= self.batch_size,
            collate_fn=collate,
            generator=generator,
        )

    def val_dataloader(self) -> DataLoader:
        return DataLoader(
            self.val,  # type: ignore[arg-type]
            batch_size=self.eval_batch_size,
            shuffle=False,
            collate_fn=collate,
        )


class TaskFineTuning(pl.LightningModule):
    """Task cross-entropy plus ``lm_coef`` times the auxiliary LM loss."""

    def __init__(
        self,
        model: torch.nn.Module,
        head: TaskHead,
        cfg: FinetuneConfig,
        task: LabelledTask,
        tokenizer: object,
        val_records: Sequence[EncodedRecord],
        max_steps: int,
        log_sample=lambda step, prompt, text: None,
        n_train: int = 0,
    ):
        super().__init__()
        self.model, self.head, self.cfg = model, head, cfg
        self._task = task
        self._tokenizer = tokenizer
        self._val_records = list(val_records)
        self._max_steps = max_steps
        self._log_sample = log_sample
        self._n_train = n_train
        self._with_lm = cfg.lm_coef > 0 and not cfg.freeze_encoder
        self._val: list[torch.Tensor] = []
        if cfg.freeze_encoder:
            model.requires_grad_(False)

    def on_train_batch_start(self, batch: TaskBatch, batch_idx: int) -> None:
        if self.cfg.freeze_encoder:
            self.model.eval()  # fixed features: no dropout inside the frozen encoder

    def training_step(self, batch: TaskBatch, batch_idx: int) -> torch.Tensor:
        logits, aux = task_forward(self.model, self.head, batch, self._with_lm)
        task_loss = F.cross_entropy(logits.float(), batch.labels)
        loss = task_loss if aux is None else task_loss + self.cfg.lm_coef * aux
        if (self.global_step + 1) % self.trainer.log_every_n_steps == 0:
            size = len(batch.labels)
            self.log("train/loss", loss, prog_bar=True, batch_size=size)
            self.log("train/task_loss", task_loss, batch_size=size)
            if aux is not None:
                self.log("train/lm_loss", aux, batch_size=size)
            self.log("lr", self.optimizers().param_groups[0]["lr"], batch_size=size)
        return loss

    def on_train_batch_end(self, outputs, batch: TaskBatch, batch_idx: int) -> None:
        # Ask Lightning to stop at the last step so that it validates there as well.
        if self.global_step >= self._max_steps:
            self.trainer.should_stop = True

    def validation_step(self, batch: TaskBatch, batch_idx: int) -> None:
        logits, _ = task_forward(self.model, self.head, batch, with_lm=False)
        logits = logits.float()
        loss = F.cross_entropy(logits, batch.labels, reduction="sum").detach()
        correct = (logits.argmax(-1) == batch.labels).sum().float()
        count = torch.tensor(float(len(batch.labels)), device=loss.device)
        self._val.append(torch.stack([loss, correct, count]))

    def on_validation_epoch_end(self) -> None:
        if not self._val:
            return
        loss, correct, n = torch.stack(self._val).sum(0)
        self._val.clear()
        self.log("val/loss", loss / n, prog_bar=True)
        self.log("val/accuracy", correct / n, prog_bar=True)
        # The number of labelled training records: the x axis of a learning curve (Compare tab).
        self.log(TRAIN_RECORDS_METRIC, float(self._n_train))
        if not self.trainer.sanity_checking:
            self._store_samples()

    def _store_samples(self) -> None:
        records = self._val_records[: self.cfg.samples]
        if not records:
            return
        score = score_records(self.model, self.head, records, len(records), self.device)
        labels = self._task.labels
        for i, record in enumerate(records):
            prompt = self._tokenizer.decode(record.sequences[0])  # type: ignore[attr-defined]
            if len(record.sequences) > 1 and self._task.task_type == "multiple_choice":
                prompt += f"  (+{len(record.sequences) - 1} more choices)"
            predicted, truth = score.predictions[i], record.label
            verdict = "right" if predicted == truth else "wrong"
            text = (
                f"  => predicted {labels[predicted] if predicted < len(labels) else predicted} "
                f"(p={score.probabilities[i]:.2f}), true {labels[truth]}: {verdict}"
            )
            self._log_sample(self.global_step, prompt, text)

    def configure_optimizers(self):  # type: ignore[override]
        groups = head_groups(self.head, self.cfg.weight_decay)
        if not self.cfg.freeze_encoder:
            groups = encoder_groups(self.model, self.cfg.weight_decay) + groups
        optimizer = torch.optim.AdamW(groups, lr=self.cfg.lr)
        warmup, total = self.cfg.warmup_steps, self._max_steps
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: lr_factor(step, warmup, total)
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def _split_decay(params: Sequence[torch.nn.Parameter], weight_decay: float) -> list[dict]:
    decay = [p for p in params if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in params if p.requires_grad and p.dim() < 2]
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def encoder_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """The model's own AdamW groups when it defines them, else matrices decayed, the rest not."""
    own = getattr(model, "optimizer_groups", None)
    if callable(own):
        return list(own(weight_decay))
    return _split_decay(list(model.parameters()), weight_decay)


def head_groups(head: TaskHead, weight_decay: float) -> list[dict]:
    return _split_decay(list(head.parameters()), weight_decay)


def task_tokens(cfg: FinetuneConfig, tokenizer: object) -> TaskTokens:
    """The markers the run uses (special tokens, or their text stand-ins)."""
    return TaskTokens.from_tokenizer(tokenizer, cfg.markers(), cfg.use_special_tokens)


def build_head(cfg: FinetuneConfig, model: torch.nn.Module, task: LabelledTask) -> TaskHead:
    return TaskHead(model.hidden_size, task.task_type, len(task.labels), cfg.clf_dropout)


def build_finetune(ctx: StageContext) -> StageParts:
    cfg: FinetuneConfig = ctx.config  # type: ignore[assignment]
    task = check_task(ctx.dataset)
    model = ctx.model
    if cfg.lm_coef > 0 and not cfg.freeze_encoder and not is_causal_lm(model):
        raise ValueError(
            f"lm_coef={cfg.lm_coef} needs a causal LM for the auxiliary language-modelling "
            f"loss, but {type(model).__name__} is not one: set stage.lm_coef: 0 (or "
            "freeze_encoder: true)"
        )
    if not task.val:
        raise ValueError("the task has no validation records to measure fine-tuning on")
    tokens = task_tokens(cfg, ctx.tokenizer)
    encode = ctx.tokenizer.encode
    block = model.block_size
    train = encode_records(task.train, task.task_type, encode, tokens, block, "train")
    val = encode_records(task.val, task.task_type, encode, tokens, block, "val")
    if cfg.eval_records is not None:
        val = val[: cfg.eval_records]
    head = build_head(cfg, model, task)
    saved = ctx.parent_heads.get(HEAD_NAME) if cfg.reuse_parent_head else None
    if saved is not None and _same_shapes(head, saved):
        head.load_state_dict(saved)  # continue a parent's fine-tuning on the same task
    max_steps = total_steps(cfg, len(train))
    module = TaskFineTuning(
        model,
        head,
        cfg,
        task,
        ctx.tokenizer,
        val,
        max_steps,
        log_sample=ctx.log_sample,
        n_train=len(train),
    )
    data = RecordData(train, val, cfg.batch_size, cfg.eval_batch_size, ctx.run.seed)
    ctx.log_sample(
        0,
        f"{task.task_type} task {task.name!r}: markers {tokens.describe()}",
        ctx.tokenizer.decode(train[0].sequences[0]),
    )
    return StageParts(
        module=module,
        datamodule=data,
        max_steps=max_steps,
        checkpoint_every=cfg.eval_interval,
        heads={HEAD_NAME: head},
        trainer_kwargs={
            "val_check_interval": cfg.eval_interval,
            "check_val_every_n_epoch": None,
            "num_sanity_val_steps": 0,
            "gradient_clip_val": cfg.grad_clip or None,
        },
    )


def _same_shapes(head: TaskHead, state: dict[str, torch.Tensor]) -> bool:
    own = head.state_dict()
    return set(own) == set(state) and all(own[k].shape == state[k].shape for k in own)
