"""The ``seq2seq`` stage: teacher-forced training of an encoder-decoder on ``(source, target)``
pairs, as in "Attention Is All You Need" (section 5).

* Token-based batches of similar-length pairs (:mod:`workbench_transformer.batching`).
* Cross-entropy with label smoothing ``epsilon`` (default 0.1, the paper's), padding ignored.
* Adam with beta2 = 0.98 and eps = 1e-9, and the warm-up schedule
  ``lr = factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)``.
* Validation: the unsmoothed per-token loss (``val/loss``) and its perplexity (``val/ppl``) on
  the whole validation split; exact match and BLEU of decoded outputs (greedy or beam) on its
  first ``eval_examples`` pairs; a few decoded examples stored as samples.

``train/loss`` is the objective being minimised (smoothed when ``label_smoothing > 0``);
``train/nll`` is the plain cross-entropy of the same batch, comparable with ``val/loss``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from workbench.data import Pair
from workbench.protocols import Seq2SeqTokenIds
from workbench.specs import StageContext, StageParts
from workbench_transformer.batching import Batch, EncodedPair, FixedBatches, TokenBatches
from workbench_transformer.inference import decode_texts, encode_source
from workbench_transformer.metrics import corpus_bleu, exact_match
from workbench_transformer.schedule import noam_lr
from workbench_transformer.specs import SEQ2SEQ_SPEC, Seq2SeqConfig

__all__ = ["SEQ2SEQ_SPEC", "Seq2SeqConfig", "Seq2SeqTraining", "build_seq2seq", "encode_pairs"]


def encode_pairs(
    pairs: Sequence[Pair], tokenizer: Any, ids: Seq2SeqTokenIds, max_len: int, split: str
) -> list[EncodedPair]:
    """Token ids of every pair; errors name the split and pair that does not fit the model."""
    encoded = []
    for index, (source, target) in enumerate(pairs):
        pair = EncodedPair(encode_source(tokenizer, ids, source), tokenizer.encode(target))
        if len(pair.source) > max_len or len(pair.target) + 1 > max_len:
            raise ValueError(
                f"{split} pair {index}: {len(pair.source)} source / {len(pair.target) + 1} target "
                f"positions (with <eos> / <bos>) exceed the model's max_len ({max_len}); raise "
                "architecture.max_len"
            )
        encoded.append(pair)
    return encoded


def schedule_width(model: torch.nn.Module) -> int:
    """The ``d_model`` of the warm-up schedule: the model's ``config.d_model``."""
    d_model = getattr(getattr(model, "config", None), "d_model", None)
    if not isinstance(d_model, int) or d_model < 1:
        raise ValueError(
            f"the warm-up schedule needs the model width: {type(model).__name__} has no "
            "config.d_model"
        )
    return d_model


class Seq2SeqData(pl.LightningDataModule):
    """Endless token-based training batches and fixed validation batches."""

    def __init__(self, train: TokenBatches, val: FixedBatches) -> None:
        super().__init__()
        self.train_set, self.val_set = train, val

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, batch_size=None)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=None)


class Seq2SeqTraining(pl.LightningModule):
    """Teacher-forced training of a :class:`workbench.protocols.Seq2SeqModel`."""

    def __init__(
        self,
        model: torch.nn.Module,
        cfg: Seq2SeqConfig,
        ctx: StageContext,
        ids: Seq2SeqTokenIds,
        eval_pairs: Sequence[Pair],
    ) -> None:
        super().__init__()
        self.model = model
        self.cfg = cfg
        self.ids = ids
        self._tokenizer = ctx.tokenizer
        self._log_sample = ctx.log_sample
        self._eval_pairs = list(eval_pairs)
        self._d_model = schedule_width(model)
        self._val_nll = 0.0
        self._val_tokens = 0
        self._tokens_seen = 0

    def _logits(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        src, tgt_in, tgt_out = batch
        pad = self.ids.pad
        logits = self.model(src, tgt_in, src_pad=src == pad, tgt_pad=tgt_in == pad)
        return logits.reshape(-1, logits.size(-1)).float(), tgt_out.reshape(-1)

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        logits, target = self._logits(batch)
        pad = self.ids.pad
        loss = F.cross_entropy(
            logits, target, ignore_index=pad, label_smoothing=self.cfg.label_smoothing
        )
        with torch.no_grad():
            nll = F.cross_entropy(logits, target, ignore_index=pad)
        self._tokens_seen += int((target != pad).sum())
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/nll", nll)
        self.log("lr", self.optimizers().param_groups[0]["lr"])
        self.log("tokens", float(self._tokens_seen))
        return loss

    def on_validation_epoch_start(self) -> None:
        self._val_nll, self._val_tokens = 0.0, 0

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        logits, target = self._logits(batch)
        nll = F.cross_entropy(logits, target, ignore_index=self.ids.pad, reduction="sum")
        self._val_nll += float(nll)
        self._val_tokens += int((target != self.ids.pad).sum())

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        loss = self._val_nll / max(1, self._val_tokens)
        self.log("val/loss", loss, prog_bar=True)
        self.log("val/ppl", math.exp(min(loss, 50.0)))
        sources = [source for source, _ in self._eval_pairs]
        references = [target for _, target in self._eval_pairs]
        beam = self.cfg.beam_size if self.cfg.eval_decoding == "beam" else 1
        outputs = decode_texts(
            self.model,
            self._tokenizer,
            self.ids,
            sources,
            beam_size=beam,
            length_penalty=self.cfg.length_penalty,
            batch_size=self.cfg.decode_batch_size,
            max_len_ratio=self.cfg.max_len_ratio,
            max_len_extra=self.cfg.max_len_extra,
            device=self.device,
        )
        self.log("val/exact_match", exact_match(outputs, references))
        self.log("val/bleu", corpus_bleu(outputs, references, self.cfg.bleu_tokenize))
        for source, output in list(zip(sources, outputs, strict=True))[: self.cfg.sample_count]:
            self._log_sample(self.global_step, source, output)

    def configure_optimizers(self):  # type: ignore[override]
        cfg = self.cfg
        optimizer = torch.optim.AdamW(
            self.model.parameters(),
            lr=1.0,  # the schedule below gives the actual rate
            betas=(cfg.beta1, cfg.beta2),
            eps=cfg.adam_eps,
            weight_decay=cfg.weight_decay,
        )
        d_model, warmup, factor = self._d_model, cfg.warmup_steps, cfg.lr_factor
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: noam_lr(step + 1, d_model, warmup, factor)
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def build_seq2seq(ctx: StageContext) -> StageParts:
    """Stage factory: encode the pairs, build the batches and the LightningModule."""
    cfg: Seq2SeqConfig = ctx.config  # type: ignore[assignment]
    ids = Seq2SeqTokenIds.from_tokenizer(ctx.tokenizer)
    dataset = ctx.dataset
    if not dataset.val:
        raise ValueError("the dataset has no validation pairs; seq2seq validates on them")
    max_len = ctx.model.max_len
    train = encode_pairs(dataset.train, ctx.tokenizer, ids, max_len, "train")
    val = encode_pairs(dataset.val, ctx.tokenizer, ids, max_len, "val")
    data = Seq2SeqData(
        TokenBatches(train, ids, cfg.max_tokens, ctx.run.seed),
        FixedBatches(val, ids, cfg.max_tokens),
    )
    module = Seq2SeqTraining(ctx.model, cfg, ctx, ids, dataset.val[: cfg.eval_examples])
    return StageParts(
        module=module,
        datamodule=data,
        max_steps=cfg.max_steps,
        checkpoint_every=cfg.checkpoint_every or cfg.eval_interval,
        trainer_kwargs={
            "val_check_interval": cfg.eval_interval,
            "check_val_every_n_epoch": None,
            "num_sanity_val_steps": 0,
            "gradient_clip_val": cfg.grad_clip or None,
        },
    )
