"""The ``pretrain`` stage: unsupervised causal-LM pre-training (GPT-1's first half).

Random windows of ``block_size`` tokens are drawn from the training split (as nanoGPT does);
AdamW with decay / no-decay groups, linear warm-up then cosine decay, gradient clipping and
accumulation; validation loss on a fixed set of windows; a sample generation stored at every
validation.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from workbench import content_cache
from workbench.paths import Paths
from workbench.schedules import warmup_cosine
from workbench.specs import StageContext, StageParts
from workbench_gpt.specs import PRETRAIN_SPEC, PretrainConfig

__all__ = ["PRETRAIN_SPEC", "CausalLMPretraining", "PretrainConfig", "build_pretrain"]


def lr_at(step: int, cfg: PretrainConfig) -> float:
    """Linear warm-up to ``lr``, cosine decay to ``min_lr`` at ``lr_decay_steps``, then flat."""
    min_lr = cfg.min_lr if cfg.min_lr is not None else cfg.lr / 10
    decay_steps = cfg.lr_decay_steps or cfg.max_steps
    return cfg.lr * warmup_cosine(step, cfg.warmup_steps, decay_steps, min_lr / cfg.lr)


class RandomWindows(IterableDataset):
    """Endless batches of random ``(x, y)`` windows, ``y`` shifted by one token.

    Every process draws the same global batch of ``batch_size * world`` windows from ``seed`` and
    keeps its own slice, so a run on N devices with batch B sees exactly the windows of a run on
    one device with batch N*B. DataLoader workers each yield every ``num_workers``-th batch, which
    the DataLoader interleaves back into the same sequence. ``skip`` batches are drawn and dropped
    first, so a resumed run continues the stream instead of repeating its beginning.
    """

    def __init__(
        self,
        ids: torch.Tensor,
        block_size: int,
        batch_size: int,
        seed: int,
        rank: int = 0,
        world: int = 1,
        skip: int = 0,
    ):
        if ids.numel() <= block_size:
            raise ValueError(
                f"the split has {ids.numel()} tokens, fewer than block_size + 1 = {block_size + 1}"
            )
        self.ids, self.block_size, self.batch_size, self.seed = ids, block_size, batch_size, seed
        self.rank, self.world, self.skip = rank, world, skip

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        gen = torch.Generator().manual_seed(self.seed)
        span = self.ids.numel() - self.block_size
        offsets = torch.arange(self.block_size)
        mine = slice(self.rank * self.batch_size, (self.rank + 1) * self.batch_size)
        for _ in range(self.skip):
            torch.randint(span, (self.batch_size * self.world,), generator=gen)
        for number in itertools.count():
            starts = torch.randint(span, (self.batch_size * self.world,), generator=gen)[mine]
            if number % workers != worker:
                continue
            index = starts[:, None] + offsets
            yield self.ids[index], self.ids[index + 1]


class FixedWindows(IterableDataset):
    """A fixed list of validation batches, the same at every validation."""

    def __init__(
        self, ids: torch.Tensor, block_size: int, batch_size: int, n_batches: int, seed: int
    ):
        windows = RandomWindows(ids, block_size, batch_size, seed)
        batches = iter(windows)
        self.batches = [next(batches) for _ in range(n_batches)]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


class TokenWindowData(pl.LightningDataModule):
    """Train/val token windows from an already-encoded corpus."""

    def __init__(
        self,
        train_ids: torch.Tensor,
        val_ids: torch.Tensor,
        block_size: int,
        batch_size: int,
        eval_batches: int,
        seed: int,
        num_workers: int = 0,
    ):
        super().__init__()
        self.train_ids, self.block_size, self.batch_size, self.seed = (
            train_ids,
            block_size,
            batch_size,
            seed,
        )
        self.num_workers = num_workers
        self.val_set = FixedWindows(val_ids, block_size, batch_size, eval_batches, seed + 1)

    def _loader_options(self) -> dict:
        on_gpu = self.trainer is not None and self.trainer.strategy.root_device.type == "cuda"
        return {
            "batch_size": None,
            "num_workers": self.num_workers,
            "pin_memory": on_gpu,
            "persistent_workers": self.num_workers > 0,
        }

    def train_dataloader(self) -> DataLoader:
        rank, world, skip = 0, 1, 0
        if self.trainer is not None:
            rank, world = self.trainer.global_rank, self.trainer.world_size
            # On resume the loops are restored before the dataloaders are built.
            skip = self.trainer.global_step * self.trainer.accumulate_grad_batches
        windows = RandomWindows(
            self.train_ids, self.block_size, self.batch_size, self.seed, rank, world, skip
        )
        return DataLoader(windows, **self._loader_options())

    def val_dataloader(self) -> DataLoader:
        return DataLoader(
            self.val_set,
            **{**self._loader_options(), "num_workers": 0, "persistent_workers": False},
        )


class CausalLMPretraining(pl.LightningModule):
    """Next-token prediction on a causal LM."""

    def __init__(self, model: torch.nn.Module, cfg: PretrainConfig, ctx: StageContext):
        super().__init__()
        self.model = model
        self.cfg = cfg
        self._tokenizer = ctx.tokenizer
        self._log_sample = ctx.log_sample
        self._tokens_per_step = cfg.batch_size * cfg.grad_accum * model.block_size

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        x, y = batch
        _, loss = self.model(x, y)
        # self.log costs a fraction of a millisecond; only log on steps Lightning will write out.
        if (self.global_step + 1) % self.trainer.log_every_n_steps == 0:
            self.log("train/loss", loss, prog_bar=True, sync_dist=True)
            self.log("lr", self.optimizers().param_groups[0]["lr"])
            self.log("tokens", float((self.global_step + 1) * self._tokens_per_step))
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        _, loss = self.model(x, y)
        self.log("val/loss", loss, prog_bar=True, sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking or self.cfg.sample_tokens == 0:
            return
        prompt_ids = self._tokenizer.encode(self.cfg.sample_prompt) or [0]
        idx = torch.tensor([prompt_ids[-self.model.block_size :]], device=self.device)
        gen = torch.Generator(device=self.device).manual_seed(self.global_step)
        new = self.model.generate(
            idx,
            self.cfg.sample_tokens,
            temperature=self.cfg.sample_temperature,
            top_k=200,
            generator=gen,
        )[0]
        self._log_sample(self.global_step, self.cfg.sample_prompt, self._tokenizer.decode(new))

    def configure_optimizers(self):  # type: ignore[override]
        groups = self.model.optimizer_groups(self.cfg.weight_decay)
        device = self.device.type
        fused = device == "cuda" or (device == "cpu" and self.cfg.fused_adamw)
        optimizer = torch.optim.AdamW(
            groups, lr=self.cfg.lr, betas=(self.cfg.beta1, self.cfg.beta2), fused=fused
        )
        base = self.cfg.lr
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: lr_at(step, self.cfg) / base
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def build_pretrain(ctx: StageContext) -> StageParts:
    cfg: PretrainConfig = ctx.config  # type: ignore[assignment]
    corpus = ctx.dataset
    block_size = ctx.model.block_size
    # Encoded once per tokenizer and text, then read from the home's cache by content hash.
    cache_dir = Paths(ctx.run.home).cache
    fingerprint = content_cache.tokenizer_fingerprint(ctx.tokenizer)
    train_ids = content_cache.encode(ctx.tokenizer, corpus.train, cache_dir, fingerprint)
    val_ids = content_cache.encode(
        ctx.tokenizer, corpus.val or corpus.train, cache_dir, fingerprint
    )
    if cfg.sample_tokens:
        try:  # now, not at the first validation after minutes of training
            ctx.tokenizer.encode(cfg.sample_prompt)
        except ValueError as exc:
            raise ValueError(f"stage.sample_prompt {cfg.sample_prompt!r}: {exc}") from None
    data = TokenWindowData(
        train_ids,
        val_ids,
        block_size,
        cfg.batch_size,
        cfg.eval_batches,
        ctx.run.seed,
        cfg.num_workers,
    )
    module = CausalLMPretraining(ctx.model, cfg, ctx)
    return StageParts(
        module=module,
        datamodule=data,
        max_steps=cfg.max_steps,
        checkpoint_every=cfg.checkpoint_every or cfg.eval_interval,
        trainer_kwargs={
            "val_check_interval": cfg.eval_interval * cfg.grad_accum,
            "check_val_every_n_epoch": None,
            "limit_val_batches": cfg.eval_batches,
            "num_sanity_val_steps": 0,
            "gradient_clip_val": cfg.grad_clip or None,
            "accumulate_grad_batches": cfg.grad_accum,
        },
    )
