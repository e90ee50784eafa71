"""Transfer learning in NLP, three ways side by side, with few and with many labels (CPU).

    python benchmarks/transfer_cpu.py --out bench-out/transfer_cpu.json
    python benchmarks/transfer_cpu.py --quick          # a smoke run of the same pipeline

Prints ``NAME: VALUE`` lines and writes them to a JSON file. One labelled task of the synthetic
corpus (``sentiment`` and ``entailment`` by default) is solved from the same word tokenizer and
the same 1 MB corpus in these ways, each with ``--few`` training labels and with all of them
(2000), and scored on the task's 500 held-out test records (``task-accuracy``):

- ``w2v_frozen``: way 1, word2vec vectors (``configs/transfer-word2vec.yaml``) frozen under an
  LSTM classifier trained from scratch (``configs/transfer-word-vectors-finetune.yaml``);
  ``w2v_tuned``: the same vectors as the starting point, trained with the LSTM (Kim 2014's
  "non-static"); ``wv_scratch``: the same model, no word2vec (the baseline of way 1);
- ``lstm_features``: way 2, ELMo-like, a frozen pre-trained LSTM LM's states of both layers feed
  a linear head (``configs/transfer-lstm-features.yaml``); ``lstm_finetune``: ULMFiT-like, the
  LM fine-tuned whole (``configs/transfer-lstm-finetune.yaml``); ``lstm_scratch``: the same
  model from random weights;
- ``gpt_finetune``: way 3, a small GPT pre-trained with the same ``pretrain`` stage on the same
  word tokens and fine-tuned GPT-1 style (with the auxiliary LM loss); ``gpt_scratch``: from
  random weights.

Keys read ``<task>_<way>_<few|all>`` (test accuracy); ``*_seconds`` are wall times. Every run is
recorded and executed by the workbench's own worker code (``workbench.runner.worker.main``),
called in this process rather than in a child process, to save the ~10 s of imports per run on a
small machine; torch runs on ``--threads`` threads (default 1: on a small shared machine two
threads that wait on each other are slower than one).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"

GPT_ARCHITECTURE = {
    "name": "gpt",
    "n_layer": 2,
    "n_head": 2,
    "n_embd": 64,
    "block_size": 48,
    "dropout": 0.1,
}
"""Way 3's Transformer: about the LSTM's size, over the same word tokens."""


def report(results: dict, name: str, value: float | str) -> None:
    results[name] = value
    shown = f"{value:.4f}" if isinstance(value, float) else value
    print(f"{name}: {shown}", flush=True)


class Bench:
    """A temporary workbench home, and runs recorded and trained in it."""

    def __init__(self, home: Path) -> None:
        from workbench.paths import resolve_home
        from workbench.registry import load_registry
        from workbench.store import open_store

        self.paths = resolve_home(home).ensure()
        self.store = open_store(self.paths)
        self.registry = load_registry()
        self.tmp = home / "configs"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def run(self, config: Path, overrides: list[str], **replace: Any) -> int:
        """Record a run of ``config`` (``--set`` style ``overrides``; whole blocks in ``replace``),
        train it, and return its id."""
        from workbench.config import apply_overrides, load_config
        from workbench.runner import launcher, worker

        raw = apply_overrides(yaml.safe_load(config.read_text()), overrides)
        raw.update(replace)
        path = self.tmp / f"{raw['name']}.yaml"
        path.write_text(yaml.safe_dump(raw))
        run_id = launcher.create_run(self.store, self.registry, load_config(path, self.registry))
        with contextlib.redirect_stderr(io.StringIO()):
            code = worker.main(["--home", str(self.paths.home), "--run-id", str(run_id)])
        run = self.store.get_run(run_id)
        if code != 0 or run.status != "succeeded":
            raise RuntimeError(f"run {raw['name']} {run.status}: {run.error}")
        return run_id

    def test_accuracy(self, run_id: int) -> float:
        from workbench.cli import main

        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["evaluate", str(run_id), "task-accuracy", "--home", str(self.paths.home)])
        if code != 0:
            raise RuntimeError(f"task-accuracy of run {run_id} failed")
        return float(self.store.evaluations(run_id)[-1].metrics["accuracy"])


def pretrain(bench: Bench, results: dict, steps: dict[str, int]) -> None:
    started = time.perf_counter()
    # Validation (and its samples) once, at the end.
    w2v, lm = steps["word2vec"], steps["lm"]
    bench.run(
        CONFIGS / "transfer-word2vec.yaml", [f"stage.max_steps={w2v}", f"stage.eval_interval={w2v}"]
    )
    report(results, "pretrain_word2vec_seconds", time.perf_counter() - started)
    started = time.perf_counter()
    lm_steps = [f"stage.max_steps={lm}", f"stage.eval_interval={lm}"]
    bench.run(CONFIGS / "transfer-lstm-pretrain.yaml", lm_steps)
    report(results, "pretrain_lstm_seconds", time.perf_counter() - started)
    started = time.perf_counter()
    bench.run(
        CONFIGS / "transfer-lstm-pretrain.yaml",
        [*lm_steps, "name=transfer-gpt-pretrain", "stage.lr=2e-3"],
        architecture=GPT_ARCHITECTURE,
    )
    report(results, "pretrain_gpt_seconds", time.perf_counter() - started)
    lm_losses = {}
    for name in ("transfer-lstm-pretrain", "transfer-gpt-pretrain"):
        run = bench.store.find_run(name)
        lm_losses[name] = bench.store.metrics(run.id, "val/loss")[-1].value
    report(results, "pretrain_lstm_val_loss", lm_losses["transfer-lstm-pretrain"])
    report(results, "pretrain_gpt_val_loss", lm_losses["transfer-gpt-pretrain"])
    word2vec = bench.store.find_run("transfer-word2vec")
    from workbench.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        main(["evaluate", str(word2vec.id), "word-similarity", "--home", str(bench.paths.home)])
    similarity = bench.store.evaluations(word2vec.id)[-1].metrics
    for key in ("antonym_cosine", "category_cosine", "random_cosine", "category_precision"):
        report(results, f"word2vec_{key}", float(similarity[key]))


def ways(steps: int) -> dict[str, tuple[Path, list[str], dict[str, Any]]]:
    """Each way's config, overrides and replaced blocks (before the task and label count)."""
    wv = CONFIGS / "transfer-word-vectors-finetune.yaml"
    lstm = CONFIGS / "transfer-lstm-finetune.yaml"
    common = [f"stage.max_steps={steps}", f"stage.eval_interval={steps}"]
    gpt = [*common, "stage.lr=1e-3", "stage.lm_coef=0.5"]
    return {
        "w2v_frozen": (wv, common, {}),
        "w2v_tuned": (wv, [*common, "architecture.freeze_embeddings=false"], {}),
        "wv_scratch": (wv, [*common, "architecture.freeze_embeddings=false", "init_from=null"], {}),
        "lstm_features": (CONFIGS / "transfer-lstm-features.yaml", common, {}),
        "lstm_finetune": (lstm, common, {}),
        "lstm_scratch": (lstm, [*common, "init_from=null"], {}),
        "gpt_finetune": (
            lstm,
            [*gpt, "init_from=transfer-gpt-pretrain"],
            {"architecture": GPT_ARCHITECTURE},
        ),
        "gpt_scratch": (lstm, [*gpt, "init_from=null"], {"architecture": GPT_ARCHITECTURE}),
    }


def fine_tune(bench: Bench, results: dict, task: str, few: int, steps: int) -> None:
    for way, (config, overrides, replace) in ways(steps).items():
        for labels, limit in (("few", str(few)), ("all", "null")):
            started = time.perf_counter()
            run_id = bench.run(
                config,
                [
                    *overrides,
                    f"name={task}-{way}-{labels}",
                    f"dataset.task={task}",
                    f"dataset.train_limit={limit}",
                ],
                **replace,
            )
            report(results, f"{task}_{way}_{labels}", bench.test_accuracy(run_id))
            results[f"{task}_{way}_{labels}_seconds"] = time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out" / "transfer_cpu.json")
    parser.add_argument("--tasks", default="sentiment,entailment")
    parser.add_argument("--few", type=int, default=100, help="training labels in the few case")
    parser.add_argument("--word2vec-steps", type=int, default=2000)
    parser.add_argument("--lm-steps", type=int, default=1500)
    parser.add_argument("--finetune-steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a few steps of everything")
    args = parser.parse_args(argv)
    if args.quick:
        args.word2vec_steps, args.lm_steps, args.finetune_steps = 20, 20, 5

    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    results: dict[str, Any] = {"threads": args.threads, "load_before": os.getloadavg()[0]}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as home:
        os.environ["WORKBENCH_HOME"] = home
        bench = Bench(Path(home))
        pretrain(bench, results, {"word2vec": args.word2vec_steps, "lm": args.lm_steps})
        for task in args.tasks.split(","):
            fine_tune(bench, results, task, args.few, args.finetune_steps)
    report(results, "total_seconds", time.perf_counter() - started)
    results["load_after"] = os.getloadavg()[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
