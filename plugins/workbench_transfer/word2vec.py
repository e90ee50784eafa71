"""The ``word2vec`` stage: train a model's input embedding table with skip-gram and negative
sampling on a text corpus, and nothing else.

The model's ``embedding`` (an ``nn.Embedding``) is the table ``v`` of
:mod:`workbench_transfer.skipgram`; the context table ``u`` is the stage's own head
(``StageParts.heads["context"]``), saved beside the model and unused afterwards. Every other
parameter of the model is left as initialised. A child run (``init_from``) loads the trained
vectors by name, with its own options on top (e.g. ``freeze_embeddings: true``), and a
fine-tuning stage then trains the task model over them.

At each validation the SGNS loss on the validation text is logged, and the nearest neighbours of
a few probe words are stored as samples, so the vectors can be watched taking shape.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from workbench.specs import StageContext, StageParts
from workbench_transfer.neighbours import (
    describe_neighbours,
    nearest_neighbours,
    require_embedding,
    special_ids,
)
from workbench_transfer.skipgram import (
    ContextVectors,
    FixedSkipGramBatches,
    SkipGramBatch,
    SkipGramBatches,
    noise_distribution,
    subsample,
    token_counts,
)
from workbench_transfer.specs import WORD2VEC_SPEC, Word2VecConfig  # noqa: F401  (re-exported)


class SkipGramData(pl.LightningDataModule):
    """Skip-gram batches from the training text, fixed batches from the validation text."""

    def __init__(
        self,
        train_ids: torch.Tensor,
        val_ids: torch.Tensor,
        noise: torch.Tensor,
        cfg: Word2VecConfig,
        seed: int,
    ) -> None:
        super().__init__()
        self.train_ids, self.noise, self.cfg, self.seed = train_ids, noise, cfg, seed
        val = SkipGramBatches(val_ids, noise, cfg.window, cfg.negatives, cfg.batch_size, seed + 1)
        self.val_set = FixedSkipGramBatches(val, cfg.eval_batches)

    def train_dataloader(self) -> DataLoader:
        rank, world, skip = 0, 1, 0
        if self.trainer is not None:
            rank, world = self.trainer.global_rank, self.trainer.world_size
            skip = self.trainer.global_step  # on resume, continue the stream
        cfg = self.cfg
        batches = SkipGramBatches(
            self.train_ids,
            self.noise,
            cfg.window,
            cfg.negatives,
            cfg.batch_size,
            self.seed,
            rank,
            world,
            skip,
        )
        return DataLoader(batches, batch_size=None)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=None)


class SkipGramTraining(pl.LightningModule):
    """SGNS on the model's input embedding (``v``) and the stage's context vectors (``u``)."""

    def __init__(
        self, model: torch.nn.Module, head: ContextVectors, cfg: Word2VecConfig, ctx: StageContext
    ) -> None:
        super().__init__()
        self.model = model
        self.head = head
        self.cfg = cfg
        self.embedding = require_embedding(model)
        self._tokenizer = ctx.tokenizer
        self._log_sample = ctx.log_sample
        self._probes = _known_words(ctx.tokenizer, cfg.probe_words)

    def _loss(self, batch: SkipGramBatch) -> torch.Tensor:
        centers, contexts, negatives = batch
        return self.head(self.embedding(centers), contexts, negatives)

    def training_step(self, batch: SkipGramBatch, batch_idx: int) -> torch.Tensor:
        loss = self._loss(batch)
        if (self.global_step + 1) % self.trainer.log_every_n_steps == 0:
            self.log("train/loss", loss, prog_bar=True, sync_dist=True)
            self.log("lr", self.optimizers().param_groups[0]["lr"])
        return loss

    def validation_step(self, batch: SkipGramBatch, batch_idx: int) -> None:
        self.log("val/loss", self._loss(batch), prog_bar=True, sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking or not self._probes:
            return
        vectors = self.embedding.weight.detach().cpu()
        skip = special_ids(self._tokenizer)
        lines = [
            f"{word}: "
            + describe_neighbours(
                nearest_neighbours(vectors, self._tokenizer, word, self.cfg.neighbours, skip)
            )
            for word in self._probes
        ]
        self._log_sample(self.global_step, "nearest neighbours", "\n".join(lines))

    def configure_optimizers(self):  # type: ignore[override]
        cfg = self.cfg
        params = [self.embedding.weight, *self.head.parameters()]
        optimizer = torch.optim.Adam(params, lr=cfg.lr)
        end = min(cfg.min_lr, cfg.lr) / cfg.lr

        def factor(step: int) -> float:
            return 1.0 - (1.0 - end) * min(step, cfg.max_steps) / cfg.max_steps

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def _known_words(tokenizer, words: list[str]) -> list[str]:
    """The probe words that are single, non-special tokens of the tokenizer."""
    skip = set(special_ids(tokenizer))
    known = []
    for word in words:
        ids = tokenizer.encode(word)
        if len(ids) == 1 and ids[0] not in skip:
            known.append(word)
    return known


def _encode(tokenizer, text: str, drop: list[int]) -> torch.Tensor:
    """The corpus as ids, without ``<unk>``/``<pad>`` (word2vec ignores words outside its
    vocabulary)."""
    ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    if drop:
        ids = ids[~torch.isin(ids, torch.tensor(drop))]
    return ids


def build_word2vec(ctx: StageContext) -> StageParts:
    cfg: Word2VecConfig = ctx.config  # type: ignore[assignment]
    embedding = require_embedding(ctx.model)
    # The stage's whole job is this table, whatever the architecture's freeze option says (the
    # option is for the fine-tuning run that reads the vectors afterwards).
    embedding.weight.requires_grad_(True)
    for param in ctx.model.parameters():
        if param is not embedding.weight:
            param.requires_grad_(False)
    corpus = ctx.dataset
    drop = special_ids(ctx.tokenizer)
    train_ids = _encode(ctx.tokenizer, corpus.train, drop)
    val_ids = _encode(ctx.tokenizer, corpus.val or corpus.train, drop)
    vocab_size = embedding.num_embeddings
    counts = token_counts(train_ids, vocab_size)
    noise = noise_distribution(counts, cfg.noise_power)
    gen = torch.Generator().manual_seed(ctx.run.seed)
    train_ids = subsample(train_ids, counts, cfg.subsample, gen)
    val_ids = subsample(val_ids, counts, cfg.subsample, gen)
    head = ContextVectors(vocab_size, embedding.embedding_dim)
    data = SkipGramData(train_ids, val_ids, noise, cfg, ctx.run.seed)
    module = SkipGramTraining(ctx.model, head, cfg, ctx)
    return StageParts(
        module=module,
        datamodule=data,
        max_steps=cfg.max_steps,
        checkpoint_every=cfg.checkpoint_every or cfg.eval_interval,
        trainer_kwargs={
            "val_check_interval": cfg.eval_interval,
            "check_val_every_n_epoch": None,
            "limit_val_batches": cfg.eval_batches,
            "num_sanity_val_steps": 0,
        },
        heads={"context": head},
    )
