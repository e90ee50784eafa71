"""GPU benchmark of GPT pre-training: throughput and MFU at the GPT-2-small shape, and time to
val loss 1.47 on Shakespeare characters at the nanoGPT GPU shape.

    python benchmarks/gpu_pretrain.py --data .data/tinyshakespeare.txt --out bench-out/gpu_pretrain.json

Imports only torch, pytorch-lightning and the workbench's model and stage code (which need the
small pure-Python packages pydantic and pluggy: carry their wheels to a machine without them).
Prints ``NAME: VALUE`` lines and writes them to a JSON file. ``--device cpu --quick`` is a smoke
run that checks the script itself on a machine without a GPU (its figures mean nothing).

- throughput: 12 layers, 12 heads, 768 wide, block 1024, vocab 50304, random tokens, bf16-mixed,
  ``torch.compile``; tokens/s over the steps after warm-up, and MFU against the device's dense
  bf16 peak (989 TFLOP/s on H100 SXM and H200).
- time_to_loss: nanoGPT's GPU Shakespeare config (6x384, block 256, batch 64, dropout 0.2, lr 1e-3
  cosine to 1e-4, warm-up 100, beta2 0.99), bf16 + compile, validating every ``--eval-every``
  steps; the wall time from the start (compilation included) to the first val loss <= 1.47, and
  the best val loss.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, IterableDataset

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

from workbench.devices import mfu, peak_bf16_flops  # noqa: E402
from workbench_gpt.model import GPT, GPTConfig  # noqa: E402
from workbench_gpt.pretrain import (  # noqa: E402
    CausalLMPretraining,
    PretrainConfig,
    TokenWindowData,
)


def report(results: dict, name: str, value) -> None:
    results[name] = value
    print(f"{name}: {value:.4f}" if isinstance(value, float) else f"{name}: {value}", flush=True)


class CharCodec:
    """Character ids for the benchmark (the workbench's tokenizer plugins need more packages)."""

    def __init__(self, text: str):
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def encode(self, text: str) -> list[int]:
        return [self.index[c] for c in text]

    def decode(self, ids) -> str:
        return "".join(self.chars[i] for i in ids)


def _context(tokenizer) -> SimpleNamespace:
    return SimpleNamespace(tokenizer=tokenizer, log_sample=lambda *a: None)


class RandomTokens(IterableDataset):
    def __init__(self, vocab: int, block: int, batch: int):
        self.vocab, self.block, self.batch = vocab, block, batch

    def __iter__(self):
        while True:
            x = torch.randint(self.vocab, (self.batch, self.block + 1))
            yield x[:, :-1], x[:, 1:]


class Clock(pl.Callback):
    """Wall time of each optimizer step (synchronised), and val losses with their times."""

    def __init__(self, target: float | None = None):
        self.start = time.perf_counter()
        self.step_times: list[float] = []
        self.last: float | None = None
        self.target = target
        self.reached_at: float | None = None
        self.val_losses: list[float] = []

    def on_train_batch_end(self, trainer, module, *args) -> None:
        if module.device.type == "cuda":
            torch.cuda.synchronize()
        now = time.perf_counter()
        if self.last is not None:
            self.step_times.append(now - self.last)
        self.last = now

    def on_validation_end(self, trainer, module) -> None:
        loss = trainer.callback_metrics.get("val/loss")
        if loss is None:
            return
        self.val_losses.append(float(loss))
        if self.target is not None and float(loss) <= self.target and self.reached_at is None:
            self.reached_at = time.perf_counter() - self.start
            trainer.should_stop = True
        self.last = None  # do not count validation as a training step


def _trainer(args, max_steps: int, callbacks, **extra) -> pl.Trainer:
    return pl.Trainer(
        accelerator=args.device,
        devices=1,
        precision=args.precision,
        max_steps=max_steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=callbacks,
        log_every_n_steps=50,
        **extra,
    )


def bench_throughput(args, results: dict) -> None:
    shape = dict(n_layer=12, n_head=12, n_embd=768, block_size=1024, dropout=0.0)
    if args.quick:
        shape = dict(n_layer=2, n_head=2, n_embd=64, block_size=64, dropout=0.0)
    model = GPT(GPTConfig(**shape), vocab_size=50304)
    if args.compile:
        model.compile()
    cfg = PretrainConfig(
        max_steps=args.steps,
        batch_size=args.batch_size,
        lr=6e-4,
        warmup_steps=10,
        eval_interval=10**9,
        sample_tokens=0,
        grad_clip=1.0,
    )
    module = CausalLMPretraining(model, cfg, _context(CharCodec("ab")))
    data = DataLoader(
        RandomTokens(50304, shape["block_size"], args.batch_size),
        batch_size=None,
        pin_memory=args.device == "cuda",
    )
    clock = Clock()
    _trainer(args, args.steps, [clock], limit_val_batches=0).fit(module, train_dataloaders=data)
    measured = clock.step_times[args.warmup :]
    seconds = sorted(measured)[len(measured) // 2]
    tokens_per_s = args.batch_size * shape["block_size"] / seconds
    name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    report(results, "device", name)
    report(results, "gpt2_small_batch", args.batch_size)
    report(results, "gpt2_small_step_ms", seconds * 1e3)
    report(results, "gpt2_small_tokens_per_s", tokens_per_s)
    peak = peak_bf16_flops(name)
    if peak:
        report(results, "gpt2_small_mfu", mfu(model.flops_per_token(), tokens_per_s, peak))


def bench_time_to_loss(args, results: dict) -> None:
    text = Path(args.data).read_text(encoding="utf-8")
    codec = CharCodec(text)
    ids = torch.tensor(codec.encode(text), dtype=torch.long)
    cut = int(len(ids) * 0.9)
    shape = dict(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.2)
    batch, steps = 64, 5000
    if args.quick:
        shape, batch, steps = (
            dict(n_layer=2, n_head=2, n_embd=64, block_size=64, dropout=0.2),
            8,
            40,
        )
    model = GPT(GPTConfig(**shape), vocab_size=len(codec.chars))
    if args.compile:
        model.compile()
    cfg = PretrainConfig(
        max_steps=steps,
        batch_size=batch,
        lr=1e-3,
        min_lr=1e-4,
        warmup_steps=100,
        beta2=0.99,
        weight_decay=0.1,
        eval_interval=args.eval_every,
        eval_batches=args.eval_batches,
        sample_tokens=0,
        num_workers=2,
    )
    module = CausalLMPretraining(model, cfg, _context(codec))
    data = TokenWindowData(
        ids[:cut], ids[cut:], shape["block_size"], batch, cfg.eval_batches, 1337, num_workers=2
    )
    clock = Clock(target=args.target_loss)
    trainer = _trainer(
        args,
        steps,
        [clock],
        val_check_interval=args.eval_every,
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        gradient_clip_val=1.0,
        limit_val_batches=cfg.eval_batches,
    )
    trainer.fit(module, datamodule=data)
    report(results, "shakespeare_best_val_loss", min(clock.val_losses))
    report(results, "shakespeare_steps", trainer.global_step)
    report(results, "shakespeare_wall_seconds", time.perf_counter() - clock.start)
    reached = clock.reached_at
    report(
        results, f"shakespeare_seconds_to_{args.target_loss}", reached if reached else "not reached"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT / ".data" / "tinyshakespeare.txt"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out" / "gpu_pretrain.json")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--precision", default="bf16-mixed")
    parser.add_argument("--no-compile", dest="compile", action="store_false")
    parser.add_argument("--batch-size", type=int, default=16, help="GPT-2-small sequences per step")
    parser.add_argument("--steps", type=int, default=60, help="GPT-2-small steps to time")
    parser.add_argument("--warmup", type=int, default=20, help="steps left out (compilation)")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--eval-batches", type=int, default=20)
    parser.add_argument("--target-loss", type=float, default=1.47)
    parser.add_argument("--only", choices=["throughput", "time_to_loss"], action="append")
    parser.add_argument("--quick", action="store_true", help="tiny shapes: checks the script runs")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.warmup, args.batch_size, args.eval_every = 8, 2, 4, 10
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("no CUDA device here; use --device cpu --quick to check the script")
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    if args.device == "cuda":
        torch.set_float32_matmul_precision("high")
    results: dict = {}
    parts = args.only or ["throughput", "time_to_loss"]
    if "throughput" in parts:
        bench_throughput(args, results)
    if "time_to_loss" in parts:
        bench_time_to_loss(args, results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
