"""GPT pre-training benchmarks (CPU): loss parity with nanoGPT, framework overhead, KV-cache speed.

    python benchmarks/pretrain_cpu.py --data ../shared/data/tinyshakespeare.txt --out bench-out/pretrain_cpu.json

Prints ``NAME: VALUE`` lines and writes them to a JSON file.

- parity: ``configs/shakespeare-char-cpu.yaml`` trained through the real CLI (its own worker
  process); the val loss stored at step 2000 (nanoGPT reaches 1.886 on these machines).
- overhead: median training-step time of the workbench's Lightning stage (with the store logger,
  checkpoint callback and every per-step metric) over a plain PyTorch loop with the same model,
  data sampling and optimizer, in this one process, in alternating blocks so that load on a shared
  machine hits both alike (``overhead_ratio``); then the workbench with AdamW's fused CPU kernel,
  which the config sets and nanoGPT uses on CUDA only (``overhead_fused_ratio``).
- wholerun: the whole ``workbench run`` of that config (its own process, start-up included)
  against ``benchmarks/plain_loop.py`` (a plain PyTorch loop doing the same work, its own process)
  in alternating rounds, so that load on a shared machine hits both alike; ``startup_s`` is the
  workbench's time from the command's start to the first training step. Each round also runs the
  workbench with nanoGPT's AdamW (``fused_adamw: false``: ``wholerun_unfused_*``).
- kv_cache: greedy generation of 256 tokens at the nanoGPT GPU shape (6x384, block 256), with and
  without the KV cache; same outputs required.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"


def report(results: dict, name: str, value: float | str) -> None:
    results[name] = value
    shown = f"{value:.4f}" if isinstance(value, float) else value
    print(f"{name}: {shown}", flush=True)


# ---------------------------------------------------------------------------------------------
# Loss parity
# ---------------------------------------------------------------------------------------------


def bench_parity(data: Path, results: dict, steps: int) -> None:
    from workbench.paths import resolve_home
    from workbench.store import open_store

    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, WORKBENCH_HOME=home)
        cmd = [
            sys.executable,
            "-m",
            "workbench.cli",
            "run",
            str(ROOT / "configs" / "shakespeare-char-cpu.yaml"),
            "--set",
            f"dataset.path={data}",
        ]
        if steps != 2000:
            cmd += [
                "--set",
                f"stage.max_steps={steps}",
                "--set",
                f"stage.lr_decay_steps={steps}",
                "--set",
                f"stage.eval_interval={max(1, steps // 4)}",
            ]
        start = time.perf_counter()
        subprocess.run(
            cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wall = time.perf_counter() - start
        store = open_store(resolve_home(home))
        run = store.list_runs()[0]
        val = {m.step: m.value for m in store.metrics(run.id, "val/loss")}
    report(results, "parity_steps", steps)
    report(results, f"parity_val_loss_step{steps}", val[steps])
    report(results, "parity_best_val_loss", min(val.values()))
    report(results, "parity_wall_seconds", wall)
    report(results, "parity_device", run.device or "")


# ---------------------------------------------------------------------------------------------
# Whole run against a plain loop, each its own process
# ---------------------------------------------------------------------------------------------


def _workbench_run(data: Path, steps: int, *extra: str) -> tuple[float, float, float]:
    """(wall seconds, startup_s, last val loss) of one ``workbench run`` in a fresh home
    (``extra``: more ``--set`` overrides)."""
    from workbench.paths import resolve_home
    from workbench.store import open_store

    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, WORKBENCH_HOME=home)
        cmd = [sys.executable, "-m", "workbench.cli", "run"]
        cmd += [str(ROOT / "configs" / "shakespeare-char-cpu.yaml"), "--set"]
        cmd += [f"dataset.path={data}", "--set", f"stage.max_steps={steps}"]
        cmd += ["--set", f"stage.lr_decay_steps={steps}"]
        cmd += ["--set", f"stage.eval_interval={min(250, steps)}"]
        for item in extra:
            cmd += ["--set", item]
        start = time.perf_counter()
        subprocess.run(
            cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wall = time.perf_counter() - start
        store = open_store(resolve_home(home))
        run_id = store.list_runs()[0].id
        (startup,) = store.metrics(run_id, "startup_s")
        val = store.metrics(run_id, "val/loss")[-1].value
    return wall, startup.value, val


def _plain_run(data: Path, steps: int) -> tuple[float, float]:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "plain_loop.py"), "--data", str(data)]
    start = time.perf_counter()
    cmd += ["--steps", str(steps), "--eval-interval", str(min(250, steps))]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    lines = dict(line.split(": ", 1) for line in out.stdout.splitlines() if ": " in line)
    return wall, float(lines["plain_val_loss"])


def bench_wholerun(data: Path, results: dict, steps: int, pairs: int) -> None:
    """Alternating rounds of the plain loop, the workbench run of the config (AdamW's fused CPU
    kernel, as the config sets) and the same run with nanoGPT's AdamW (``fused_adamw: false``),
    each its own process."""
    ours, plain, same_kernel, startups = [], [], [], []
    for _ in range(pairs):
        wall, val_plain = _plain_run(data, steps)
        plain.append(wall)
        wall, startup, val_ours = _workbench_run(data, steps)
        ours.append(wall)
        startups.append(startup)
        wall, _, val_same = _workbench_run(data, steps, "stage.fused_adamw=false")
        same_kernel.append(wall)
    ratios = [a / b for a, b in zip(ours, plain, strict=True)]
    same_ratios = [a / b for a, b in zip(same_kernel, plain, strict=True)]
    report(results, "wholerun_pairs", pairs)
    report(results, "wholerun_steps", steps)
    report(results, "startup_s", statistics.median(startups))
    report(results, "wholerun_workbench_wall_s", statistics.median(ours))
    report(results, "wholerun_plain_wall_s", statistics.median(plain))
    report(results, "wholerun_ratio", statistics.median(ratios))
    report(results, "wholerun_ratio_range", f"{min(ratios):.3f}-{max(ratios):.3f}")
    report(results, "wholerun_val_loss_workbench", val_ours)
    report(results, "wholerun_val_loss_plain", val_plain)
    report(results, "wholerun_unfused_wall_s", statistics.median(same_kernel))
    report(results, "wholerun_unfused_ratio", statistics.median(same_ratios))
    report(
        results, "wholerun_unfused_ratio_range", f"{min(same_ratios):.3f}-{max(same_ratios):.3f}"
    )
    report(results, "wholerun_val_loss_unfused", val_same)


# ---------------------------------------------------------------------------------------------
# Framework overhead
# ---------------------------------------------------------------------------------------------


def _setup(text: str):
    from workbench_gpt.architecture import PRESETS
    from workbench_gpt.model import GPT, GPTConfig
    from workbench_text.tokenizers import CharTokenizer

    tok = CharTokenizer()
    tok.fit([text])
    ids = torch.tensor(tok.encode(text), dtype=torch.long)
    config = GPTConfig(**PRESETS["nanogpt-cpu"])
    return tok, ids, config, lambda: GPT(config, tok.vocab_size)


def _plain_step_times(model, ids, cfg, steps: int, seed: int) -> list[float]:
    """A nanoGPT-style loop: random windows, AdamW groups, clip, the same LR schedule."""
    from workbench_gpt.pretrain import RandomWindows, lr_at

    optimizer = torch.optim.AdamW(
        model.optimizer_groups(cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2)
    )
    batches = iter(RandomWindows(ids, model.block_size, cfg.batch_size, seed))
    model.train()
    times, last = [], time.perf_counter()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg)
        x, y = next(batches)
        _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        float(loss)  # the workbench logs the loss every step; read it here too
        now = time.perf_counter()
        times.append(now - last)
        last = now
    return times


def _workbench_step_times(model, tok, text, cfg, steps: int, seed: int, home: Path) -> list[float]:
    import pytorch_lightning as pl

    from workbench.config import TrainerOptions
    from workbench.data import TextCorpus
    from workbench.paths import resolve_home
    from workbench.runner.worker import make_trainer
    from workbench.specs import RunInfo, StageContext
    from workbench.store import open_store
    from workbench_gpt.pretrain import build_pretrain

    class StepClock(pl.Callback):
        def __init__(self) -> None:
            self.times: list[float] = []
            self.last: float | None = None

        def on_train_batch_end(self, *args) -> None:
            now = time.perf_counter()
            if self.last is not None:
                self.times.append(now - self.last)
            self.last = now

    paths = resolve_home(home).ensure()
    store = open_store(paths)
    run_id = store.create_run(
        name="overhead",
        stage="pretrain",
        architecture="gpt",
        dataset="-",
        tokenizer="char",
        config={},
        seed=seed,
        plugin_versions={},
        package_versions={},
        status="running",
    )
    run_dir = paths.run_dir(run_id)
    cut = int(len(text) * 0.9)
    ctx = StageContext(
        config=cfg,
        run=RunInfo(run_id, "overhead", seed, run_dir, paths.home),
        model=model,
        tokenizer=tok,
        dataset=TextCorpus(text[:cut], text[cut:]),
    )
    parts = build_pretrain(ctx)
    clock = StepClock()
    trainer, _ = make_trainer(
        TrainerOptions(accelerator="cpu"),
        parts,
        store=store,
        run_id=run_id,
        run_dir=run_dir,
        progress=False,
        extra_callbacks=[clock],
        home=paths.home,
        run_name="overhead",
        config={},
    )
    trainer.fit(parts.module, datamodule=parts.datamodule)
    return clock.times


def bench_overhead(data: Path, results: dict, steps: int, rounds: int) -> None:
    import logging
    import warnings

    from workbench_gpt.pretrain import PretrainConfig

    for name in ("pytorch_lightning", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    text = data.read_text(encoding="utf-8")
    tok, ids, _, new_model = _setup(text)
    # Validation and checkpoints off so both sides time training steps only.
    cfg = PretrainConfig(
        max_steps=steps,
        batch_size=12,
        lr=1e-3,
        min_lr=1e-4,
        warmup_steps=100,
        eval_interval=10**6,
        checkpoint_every=10**6,
        sample_tokens=0,
    )
    fused = cfg.model_copy(update={"fused_adamw": True})
    plain: list[float] = []
    wb: list[float] = []
    wb_fused: list[float] = []
    with tempfile.TemporaryDirectory() as home:
        for r in range(rounds):
            torch.manual_seed(r)
            plain += _plain_step_times(new_model(), ids, cfg, steps, seed=r)[10:]
            torch.manual_seed(r)
            wb += _workbench_step_times(new_model(), tok, text, cfg, steps, r, Path(home))[10:]
            torch.manual_seed(r)
            wb_fused += _workbench_step_times(new_model(), tok, text, fused, steps, r, Path(home))[
                10:
            ]
    plain_ms = statistics.median(plain) * 1e3
    wb_ms = statistics.median(wb) * 1e3
    fused_ms = statistics.median(wb_fused) * 1e3
    # The same AdamW on both sides (the framework's own cost), then the workbench with the fused
    # CPU kernel that configs/shakespeare-char-cpu.yaml sets (nanoGPT fuses on CUDA only).
    report(results, "overhead_plain_step_ms", plain_ms)
    report(results, "overhead_workbench_step_ms", wb_ms)
    report(results, "overhead_ratio", wb_ms / plain_ms)
    report(results, "overhead_workbench_fused_step_ms", fused_ms)
    report(results, "overhead_fused_ratio", fused_ms / plain_ms)


# ---------------------------------------------------------------------------------------------
# KV cache
# ---------------------------------------------------------------------------------------------


def bench_kv_cache(results: dict, new_tokens: int, repeats: int) -> None:
    """Both with one thread (decoding one token is a memory-bound matrix-vector product that a
    second thread barely helps) and with all threads (which speed up the recomputation)."""
    from workbench_gpt.architecture import PRESETS
    from workbench_gpt.model import GPT, GPTConfig

    torch.manual_seed(0)
    model = GPT(GPTConfig(**{**PRESETS["nanogpt-gpu"], "dropout": 0.0}), vocab_size=65).eval()
    prompt = torch.zeros(1, 1, dtype=torch.long)
    all_threads = torch.get_num_threads()
    for threads in sorted({1, all_threads}):
        torch.set_num_threads(threads)
        timings: dict[bool, list[float]] = {True: [], False: []}
        outputs: dict[bool, list[int]] = {}
        for _ in range(repeats):
            for use_cache in (True, False):
                start = time.perf_counter()
                out = model.generate(prompt, new_tokens, temperature=0, use_cache=use_cache)[0]
                timings[use_cache].append(time.perf_counter() - start)
                outputs[use_cache] = out
        cached, full = min(timings[True]), min(timings[False])
        tag = f"threads{threads}"
        report(results, f"kv_cache_seconds_{tag}", cached)
        report(results, f"kv_nocache_seconds_{tag}", full)
        report(results, f"kv_cache_speedup_{tag}", full / cached)
        report(results, f"kv_cache_same_output_{tag}", str(outputs[True] == outputs[False]).lower())
    torch.set_num_threads(all_threads)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="tinyshakespeare.txt")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out" / "pretrain_cpu.json")
    parser.add_argument(
        "--only", choices=["parity", "overhead", "kv_cache", "wholerun"], action="append"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run with few steps")
    parser.add_argument("--pairs", type=int, default=3, help="wholerun: alternating pairs")
    args = parser.parse_args()
    if not args.data.is_file():
        parser.error(f"--data {args.data} not found")
    parts = args.only or ["parity", "overhead", "kv_cache", "wholerun"]
    results: dict = {
        "machine": f"{os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    }
    print(f"machine: {results['machine']}")
    if "kv_cache" in parts:
        bench_kv_cache(results, 32 if args.quick else 256, 1 if args.quick else 3)
    if "overhead" in parts:
        bench_overhead(args.data, results, 30 if args.quick else 150, 1 if args.quick else 4)
    if "parity" in parts:
        bench_parity(args.data, results, 20 if args.quick else 2000)
    if "wholerun" in parts:
        bench_wholerun(
            args.data, results, 20 if args.quick else 2000, 1 if args.quick else args.pairs
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
