"""Transformer (encoder-decoder) benchmarks on a CPU: the three targets of the Transformer issue.

    python benchmarks/transformer_cpu.py --out bench-out/transformer_cpu.json
    python benchmarks/transformer_cpu.py --quick          # a smoke run of the same pipeline

Prints ``NAME: VALUE`` lines and writes them to a JSON file. Every run goes through the real CLI
(``workbench run`` in its own worker process, then ``workbench evaluate``) in a temporary home.

- copy: ``configs/transformer-copy.yaml`` (``transformer-tiny``, sequences of 10 symbols, 10
  symbols + 3 special tokens). ``copy_exact_match`` is greedy exact match on the 500 held-out test
  sequences; ``copy_train_seconds`` the worker's whole run (data, model, training, validations);
  ``copy_seconds_to_100`` when validation exact match first reached 1.0. Target: 1.0 within 120 s.
- translation: ``configs/transformer-translation.yaml``; corpus BLEU (sacreBLEU) of greedy and
  beam (width 4, alpha 0.6) outputs on the 500 held-out test pairs. Targets: greedy BLEU >= 90
  within 600 s of training, beam >= greedy.
- ablation: the translation config twice, for ``--ablation-steps`` steps, with the same seed (so
  the same initialisation and data order) and label smoothing 0 and 0.1. ``ablation_bleu_delta``
  and ``ablation_ppl_delta`` are (epsilon 0.1) minus (epsilon 0): test BLEU (greedy) and
  validation perplexity (unsmoothed). The paper: smoothing hurts perplexity and helps BLEU.

Torch runs with ``--threads`` intra-op threads (default 1): on a small shared machine two threads
that wait on each other are several times slower than one once other work competes for the
cores. The load average before and after is recorded, because shared machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
COPY_CONFIG = ROOT / "configs" / "transformer-copy.yaml"
TRANSLATION_CONFIG = ROOT / "configs" / "transformer-translation.yaml"


def report(results: dict, name: str, value: float | str) -> None:
    results[name] = value
    shown = f"{value:.4f}" if isinstance(value, float) else value
    print(f"{name}: {shown}", flush=True)


class Bench:
    """Runs CLI commands against one temporary workbench home."""

    def __init__(self, home: str, threads: int, seed: int | None = None) -> None:
        self.home = home
        self.seed = seed
        self.env = dict(
            os.environ,
            WORKBENCH_HOME=home,
            OMP_NUM_THREADS=str(threads),
            MKL_NUM_THREADS=str(threads),
        )

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "workbench.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"workbench {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def train(self, config: Path, name: str, overrides: list[str]) -> Any:
        """Train a run to the end; return its record."""
        from workbench.paths import resolve_home
        from workbench.store import open_store

        sets = [f"name={name}", "trainer.accelerator=cpu", *overrides]
        if self.seed is not None:
            sets.append(f"seed={self.seed}")
        args = ["run", str(config)]
        for item in sets:
            args += ["--set", item]
        self.cli(*args)
        store = open_store(resolve_home(self.home))
        run = store.find_run(name)
        if run.status != "succeeded":
            raise RuntimeError(f"run {name} ended {run.status}: {run.error}")
        return run

    def evaluate(self, run_id: int, evaluation: str, *options: str) -> dict[str, float]:
        args = ["evaluate", str(run_id), evaluation, "--json"]
        for item in options:
            args += ["--set", item]
        return json.loads(self.cli(*args))["metrics"]

    def metrics(self, run_id: int, name: str) -> list[Any]:
        from workbench.paths import resolve_home
        from workbench.store import open_store

        return open_store(resolve_home(self.home)).metrics(run_id, name)


def seconds(run: Any) -> float:
    return (run.finished_at - run.started_at).total_seconds()


def first_reaching(bench: Bench, run: Any, metric: str, threshold: float) -> float:
    """Seconds from the run's start to the first validation where ``metric >= threshold``
    (-1 if never)."""
    for m in bench.metrics(run.id, metric):
        if m.value >= threshold:
            return m.wall_time - run.started_at.timestamp()
    return -1.0


def bench_copy(bench: Bench, results: dict, quick: bool) -> None:
    overrides = (
        ["stage.max_steps=60", "stage.eval_interval=30", "dataset.train_size=2000"] if quick else []
    )
    run = bench.train(COPY_CONFIG, "bench-copy", overrides)
    test = bench.evaluate(run.id, "exact-match", "split=test")
    report(results, "copy_exact_match", test["exact_match_greedy"])
    report(results, "copy_exact_match_beam", test["exact_match_beam"])
    report(results, "copy_val_exact_match", bench.metrics(run.id, "val/exact_match")[-1].value)
    report(results, "copy_train_seconds", seconds(run))
    report(results, "copy_seconds_to_100", first_reaching(bench, run, "val/exact_match", 1.0))
    report(results, "copy_steps", float(run.step))


def bench_translation(bench: Bench, results: dict, quick: bool) -> None:
    overrides = (
        ["stage.max_steps=60", "stage.eval_interval=30", "dataset.train_size=2000"] if quick else []
    )
    run = bench.train(TRANSLATION_CONFIG, "bench-translation", overrides)
    test = bench.evaluate(run.id, "bleu", "split=test", "decoding=both")
    report(results, "translation_bleu_greedy", test["bleu_greedy"])
    report(results, "translation_bleu_beam", test["bleu_beam"])
    report(results, "translation_beam_minus_greedy", test["bleu_beam"] - test["bleu_greedy"])
    em = bench.evaluate(run.id, "exact-match", "split=test", "decoding=greedy")
    report(results, "translation_exact_match_greedy", em["exact_match_greedy"])
    report(results, "translation_train_seconds", seconds(run))
    report(results, "translation_seconds_to_bleu90", first_reaching(bench, run, "val/bleu", 90.0))
    report(results, "translation_steps", float(run.step))


def bench_ablation(bench: Bench, results: dict, quick: bool, steps: int) -> None:
    outcome = {}
    for label, epsilon in (("eps0", 0.0), ("eps01", 0.1)):
        overrides = [
            f"stage.label_smoothing={epsilon}",
            f"stage.max_steps={steps}",
            f"stage.eval_interval={steps}",
        ]
        if quick:
            overrides.append("dataset.train_size=2000")
        run = bench.train(TRANSLATION_CONFIG, f"bench-ablation-{label}", overrides)
        bleu = bench.evaluate(run.id, "bleu", "split=test", "decoding=greedy")["bleu_greedy"]
        ppl = bench.metrics(run.id, "val/ppl")[-1].value
        outcome[label] = (bleu, ppl)
        report(results, f"ablation_bleu_{label}", bleu)
        report(results, f"ablation_ppl_{label}", ppl)
    report(results, "ablation_steps", float(steps))
    report(results, "ablation_bleu_delta", outcome["eps01"][0] - outcome["eps0"][0])
    report(results, "ablation_ppl_delta", outcome["eps01"][1] - outcome["eps0"][1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "bench-out" / "transformer_cpu.json"))
    parser.add_argument("--quick", action="store_true", help="a smoke run: few steps, small data")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument(
        "--ablation-steps", type=int, default=None, help="steps of each ablation run (default 500)"
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of every run (default: the configs' 1337)"
    )
    parser.add_argument(
        "--only",
        choices=("copy", "translation", "ablation"),
        action="append",
        help="run only these",
    )
    args = parser.parse_args()
    sections = args.only or ["copy", "translation", "ablation"]
    ablation_steps = args.ablation_steps or (30 if args.quick else 500)

    import torch

    results: dict[str, Any] = {}
    report(results, "machine", f"{os.cpu_count()} CPU cores, shared; torch {torch.__version__}")
    report(results, "threads", float(args.threads))
    report(results, "quick", "yes" if args.quick else "no")
    report(results, "seed", "config" if args.seed is None else str(args.seed))
    report(results, "load_average_before", float(os.getloadavg()[0]))
    start = time.perf_counter()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wb-transformer-bench-") as home:
        bench = Bench(home, args.threads, args.seed)
        for section in sections:
            if section == "copy":
                bench_copy(bench, results, args.quick)
            elif section == "translation":
                bench_translation(bench, results, args.quick)
            else:
                bench_ablation(bench, results, args.quick, ablation_steps)
            out.write_text(json.dumps(results, indent=2) + "\n")
    report(results, "load_average_after", float(os.getloadavg()[0]))
    report(results, "total_seconds", time.perf_counter() - start)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
