"""Transfer learning in NLP, three ways side by side, each against its own from-scratch twin,
over 3 seeds, with learning rates chosen on the validation split (CPU).

    python benchmarks/transfer_cpu.py --out bench-out/transfer_cpu.json
    python benchmarks/transfer_cpu.py --quick          # a smoke run of the same pipeline

Prints ``NAME: VALUE`` lines and writes them to a JSON file. The three ways read the same
1 MB synthetic corpus through the same word tokenizer, with the options of the shipped configs:

- way 1, word vectors: ``configs/transfer-word2vec.yaml`` (skip-gram) under an LSTM classifier
  that trains them further (``configs/transfer-word-vectors-finetune.yaml`` with
  ``freeze_embeddings: false``; Kim 2014's "non-static"); ``w2v_frozen`` keeps them fixed;
- way 2, an LSTM language model (``configs/transfer-lstm-pretrain.yaml``) fine-tuned whole,
  ULMFiT-like (``configs/transfer-lstm-finetune.yaml``); ``lstm_features`` trains only a head
  on its frozen states, ELMo-like (``configs/transfer-lstm-features.yaml``);
- way 3, a GPT (``configs/transfer-gpt-pretrain.yaml``) fine-tuned GPT-1-style with the auxiliary
  LM loss (``configs/transfer-gpt-finetune.yaml``).

**Matched compute.** Every way reads the same number of corpus tokens in pre-training: the two
language models ``max_steps x batch_size x block_size`` tokens; word2vec reads a token each time
it takes it as a centre word, and a centre word gives ``window + 1`` (centre, context) pairs on
average, so its steps are ``tokens x (window + 1) / batch_size`` (set in its config, checked
here). ``pretrain_tokens_*`` print what each read.

**Each cell** (task, labels, way, pre-trained or scratch) is fine-tuned with 3 seeds (the seed sets
the head's initialisation, dropout, batch order and, with few labels, which labelled records are
drawn: ``subset_seed``) and reports its **test** accuracy (500 held-out records), mean and
standard deviation over the seeds. In the headline cells (sentiment, 100 labels) every learning
rate of the way's grid (:data:`LR_GRID`) is tried, pre-trained and scratch separately, and the
rate with the best mean **validation** accuracy is kept; the other cells use their config's rate.
The scratch twin is the same architecture, vocabulary and fine-tuning from random weights.

Keys: ``<task>_<labels>_<way>_<pre|scratch>`` (mean test accuracy), ``..._std``, ``..._lr``;
``gain_at_100_<way>`` (pre-trained minus scratch, sentiment, 100 labels); ``order_at_100``;
``gpt1_entailment_acc`` (the pre-trained GPT fine-tuned on all ``world-entailment`` labels);
``*_seconds`` wall times and ``cpu_seconds`` (this process and its workers). Fine-tuning cells
run in ``--jobs`` worker processes (default 2, one per core), each with torch on one thread.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"

PRETRAIN_CONFIGS = {
    "word2vec": "transfer-word2vec.yaml",
    "lstm": "transfer-lstm-pretrain.yaml",
    "gpt": "transfer-gpt-pretrain.yaml",
}
FINETUNE_CONFIGS = {
    "w2v": "transfer-word-vectors-finetune.yaml",
    "w2v_frozen": "transfer-word-vectors-finetune.yaml",
    "lstm": "transfer-lstm-finetune.yaml",
    "lstm_newline": "transfer-lstm-finetune.yaml",
    "lstm_features": "transfer-lstm-features.yaml",
    "gpt": "transfer-gpt-finetune.yaml",
}
PARENT = {"w2v": "word2vec", "w2v_frozen": "word2vec", "lstm": "lstm", "lstm_newline": "lstm",
          "lstm_features": "lstm", "gpt": "gpt"}  # fmt: skip
LR_GRID = {"w2v": (3e-3, 1e-2), "lstm": (1e-3, 3e-3), "gpt": (3e-4, 1e-3)}
"""Peak fine-tuning learning rates tried per way in the headline cells (sentiment, 100 labels;
pre-trained and scratch choose separately). Other cells use their config's rate."""
NEWLINE_MARKERS = {"start_text": "\n\n", "delim_text": "\n", "extract_text": "\n"}
"""The former stand-ins for GPT-1's markers (``lstm_newline``: the head reads the LM's state at a
newline instead of where it predicts the review's stars)."""
WAYS = ("w2v", "lstm", "gpt")
HISTORY = ("w2v", "lstm", "gpt")
"""History's order: word vectors < contextual LSTM states < a fine-tuned Transformer."""
FEW = 100
ENTAILMENT = "world-entailment"
ENTAILMENT_MARKERS = NEWLINE_MARKERS
"""GPT-1's transformation for a premise and a hypothesis, in text the corpus has (the configs'
markers are the sentiment task's)."""

# Set in each worker process (forked after pre-training).
_SHARED: dict[str, Any] = {}


def report(results: dict, name: str, value: float | str) -> None:
    results[name] = value
    shown = f"{value:.4f}" if isinstance(value, float) else value
    print(f"{name}: {shown}", flush=True)


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((CONFIGS / name).read_text())


def _quiet() -> None:
    for name in ("pytorch_lightning", "lightning_fabric", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)
    _quiet()


# ---------------------------------------------------------------------------------------------
# Models, data and training in this process (the stages' own factories, a plain pl.Trainer)
# ---------------------------------------------------------------------------------------------


def build_model(block: dict[str, Any], vocab_size: int):
    from workbench_gpt.model import GPT, GPTConfig
    from workbench_transfer.lstm_lm import LSTMLanguageModel, LSTMLMConfig
    from workbench_transfer.word_vector_lstm import WordVectorLSTM, WordVectorLSTMConfig

    options = {k: v for k, v in block.items() if k != "name"}
    if block["name"] == "gpt":
        return GPT(GPTConfig(**options), vocab_size=vocab_size)
    if block["name"] == "lstm-lm":
        return LSTMLanguageModel(LSTMLMConfig(**options), vocab_size)
    if block["name"] == "word-vector-lstm":
        return WordVectorLSTM(WordVectorLSTMConfig(**options), vocab_size)
    raise ValueError(f"unknown architecture {block['name']!r}")


def stage_context(config, model, tokenizer, dataset, seed: int, run_dir: Path):
    from workbench.specs import RunInfo, StageContext

    info = RunInfo(id=1, name="bench", seed=seed, run_dir=run_dir, home=run_dir)
    return StageContext(config=config, run=info, model=model, tokenizer=tokenizer, dataset=dataset)


def fit(parts) -> Any:
    import pytorch_lightning as pl

    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=parts.max_steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=50,
        **parts.trainer_kwargs,
    )
    trainer.fit(parts.module, datamodule=parts.datamodule)
    return trainer


def pretrain_tokens(way: str, config: dict[str, Any]) -> int:
    stage = config["stage"]
    if way == "word2vec":
        return round(stage["max_steps"] * stage["batch_size"] / (stage.get("window", 5) + 1))
    return stage["max_steps"] * stage["batch_size"] * config["architecture"]["block_size"]


def pretrain_job(job: tuple[str, dict[str, Any]]) -> tuple[str, dict, float, float]:
    """Pre-train one way; returns (way, state_dict, validation loss, seconds)."""
    import pytorch_lightning as pl

    _one_thread()
    from workbench_gpt.pretrain import PretrainConfig, build_pretrain
    from workbench_transfer.word2vec import Word2VecConfig, build_word2vec

    way, config = job
    started = time.perf_counter()
    corpus, tokenizer = _SHARED["corpus"], _SHARED["tokenizer"]
    pl.seed_everything(config["seed"], verbose=False)
    model = build_model(config["architecture"], tokenizer.vocab_size)
    stage = {k: v for k, v in config["stage"].items() if k != "name"}
    stage["eval_interval"] = stage["max_steps"]  # validate once, at the end
    run_dir = _SHARED["run_dir"] / f"pretrain-{way}"
    if way == "word2vec":
        parts = build_word2vec(
            stage_context(
                Word2VecConfig(**stage), model, tokenizer, corpus, config["seed"], run_dir
            )
        )
    else:
        stage["sample_tokens"] = 0
        parts = build_pretrain(
            stage_context(
                PretrainConfig(**stage), model, tokenizer, corpus, config["seed"], run_dir
            )
        )
    trainer = fit(parts)
    loss = float(trainer.callback_metrics.get("val/loss", float("nan")))
    return way, model.state_dict(), loss, time.perf_counter() - started


@dataclass(frozen=True)
class Cell:
    task: str
    labels: int | None  # None: all
    way: str
    init: str  # "pre" or "scratch"

    @property
    def key(self) -> str:
        labels = "all" if self.labels is None else str(self.labels)
        return f"{self.task.replace('-', '_')}_{labels}_{self.way}_{self.init}"


def _memoised_corpus() -> None:
    """Generate the corpus once per benchmark: every task view of it reads this one (the views
    call ``generate_corpus`` with the same options and seed, which would give the same bytes)."""
    from workbench_synthetic import views

    original = views.generate_corpus
    made = _SHARED.setdefault("corpora", {})

    def generate(config, seed):
        key = (config.model_dump_json(), seed)
        if key not in made:
            made[key] = original(config, seed)
        return made[key]

    views.generate_corpus = generate


def load_task(task: str, labels: int | None, seed: int, dataset: dict[str, Any]):
    from workbench.specs import DatasetContext
    from workbench_synthetic.views import SyntheticTaskConfig, load_synthetic_task

    options = {k: v for k, v in dataset.items() if k != "name"}
    options.update(task=task, train_limit=labels, subset_seed=seed if labels else None)
    ctx = DatasetContext(cache_dir=_SHARED["run_dir"], seed=options.get("seed") or 0)
    return load_synthetic_task(SyntheticTaskConfig(**options), ctx)


def finetune_job(job: tuple[Cell, float, int, int]) -> tuple[Cell, float, int, float, float, float]:
    """Fine-tune one cell at one learning rate and seed; returns the validation and test
    accuracy and the seconds taken."""
    import pytorch_lightning as pl
    import torch

    _one_thread()
    from workbench_gpt1.batching import encode_records
    from workbench_gpt1.config import FinetuneConfig
    from workbench_gpt1.finetune import build_finetune, task_tokens
    from workbench_gpt1.scoring import score_records

    cell, lr, seed, steps = job
    started = time.perf_counter()
    config = _SHARED["finetune_configs"][cell.way]
    tokenizer = _SHARED["tokenizer"]
    task = load_task(cell.task, cell.labels, seed, config["dataset"])
    pl.seed_everything(seed, verbose=False)
    model = build_model(config["architecture"], tokenizer.vocab_size)
    if cell.init == "pre":
        state = _SHARED["states"][PARENT[cell.way]]
        own = model.state_dict()
        model.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
    stage = {k: v for k, v in config["stage"].items() if k != "name"}
    stage.update(max_steps=steps, lr=lr, eval_interval=steps, samples=0)
    if cell.task != "sentiment":
        stage.update(ENTAILMENT_MARKERS)
    if cell.way == "lstm_newline":
        stage.update(NEWLINE_MARKERS)
    cfg = FinetuneConfig(**stage)
    parts = build_finetune(
        stage_context(cfg, model, tokenizer, task, seed, _SHARED["run_dir"] / "finetune")
    )
    fit(parts)
    tokens = task_tokens(cfg, tokenizer)
    head = parts.heads["classifier"]

    def accuracy(records) -> float:
        encoded = encode_records(
            records, task.task_type, tokenizer.encode, tokens, model.block_size, "bench"
        )
        with torch.no_grad():
            return score_records(model, head, encoded, 128).accuracy

    return (cell, lr, seed, accuracy(task.val), accuracy(task.test),
            time.perf_counter() - started)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------------------


def cells() -> list[Cell]:
    out = []
    for labels in (FEW, None):
        for way in WAYS:
            for init in ("pre", "scratch"):
                out.append(Cell("sentiment", labels, way, init))
    out += [Cell("sentiment", FEW, way, "pre") for way in ("w2v_frozen", "lstm_features",
                                                           "lstm_newline")]  # fmt: skip
    for labels in (FEW, None):
        for init in ("pre", "scratch"):
            out.append(Cell(ENTAILMENT, labels, "gpt", init))
    return out


def steps_for(cell: Cell, args: argparse.Namespace) -> int:
    return args.few_steps if cell.labels is not None else args.all_steps


def lrs_for(cell: Cell, configs: dict[str, dict[str, Any]], quick: bool) -> tuple[float, ...]:
    """The way's grid in the headline cells (sentiment, ``FEW`` labels), else the config's rate."""
    if cell.task == "sentiment" and cell.labels == FEW and cell.way in LR_GRID and not quick:
        return LR_GRID[cell.way]
    return (float(configs[cell.way]["stage"]["lr"]),)


def summarise(results: dict, runs: list[tuple], seeds: int) -> None:
    by_cell: dict[Cell, dict[float, list[tuple[int, float, float]]]] = {}
    for cell, lr, seed, val, test, _ in runs:
        by_cell.setdefault(cell, {}).setdefault(lr, []).append((seed, val, test))
    for cell, by_lr in by_cell.items():
        best_lr = max(by_lr, key=lambda lr: (statistics.mean(v for _, v, _ in by_lr[lr]), -lr))
        tests = [t for _, _, t in sorted(by_lr[best_lr])]
        report(results, cell.key, statistics.mean(tests))
        results[f"{cell.key}_std"] = statistics.stdev(tests) if len(tests) > 1 else 0.0
        results[f"{cell.key}_lr"] = best_lr
        results[f"{cell.key}_seeds"] = tests
        print(
            f"  {cell.key}: {statistics.mean(tests):.3f} ± {results[f'{cell.key}_std']:.3f} "
            f"(lr {best_lr:g}; val by lr: "
            + ", ".join(
                f"{lr:g}={statistics.mean(v for _, v, _ in r):.3f}"
                for lr, r in sorted(by_lr.items())
            )  # fmt: skip
            + ")",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out" / "transfer_cpu.json")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (one per core)")
    parser.add_argument("--few-steps", type=int, default=150, help="fine-tuning steps, 100 labels")
    parser.add_argument("--all-steps", type=int, default=300, help="fine-tuning steps, all labels")
    parser.add_argument("--quick", action="store_true", help="a few steps of everything")
    args = parser.parse_args(argv)

    os.environ["OMP_NUM_THREADS"] = "1"
    _one_thread()
    from workbench_synthetic.config import SyntheticConfig
    from workbench_synthetic.corpus import generate_corpus
    from workbench_transfer.tokenizer import WordConfig, WordTokenizer

    results: dict[str, Any] = {"seeds": args.seeds, "jobs": args.jobs,
                               "load_before": os.getloadavg()[0]}  # fmt: skip
    started = time.perf_counter()
    pretrain_configs = {way: load(name) for way, name in PRETRAIN_CONFIGS.items()}
    finetune_configs = {way: load(name) for way, name in FINETUNE_CONFIGS.items()}
    finetune_configs["w2v"]["architecture"]["freeze_embeddings"] = False
    finetune_configs["w2v_frozen"]["architecture"]["freeze_embeddings"] = True
    if args.quick:
        args.seeds, args.few_steps, args.all_steps = 2, 5, 5
        for config in pretrain_configs.values():
            config["stage"]["max_steps"] = max(1, config["stage"]["max_steps"] // 200)
    lines = {way: pretrain_tokens(way, c) for way, c in pretrain_configs.items()}
    for way, tokens in lines.items():
        report(results, f"pretrain_tokens_{way}", float(tokens))
    corpora = {json.dumps(c["dataset"], sort_keys=True) for c in pretrain_configs.values()}
    corpora |= {
        json.dumps({k: v for k, v in c["dataset"].items() if k not in ("name", "task")}
                   | {"name": "synthetic"}, sort_keys=True)
        for c in finetune_configs.values()
    }  # fmt: skip
    if len(corpora) != 1:
        raise SystemExit(f"the configs name different corpora: {sorted(corpora)}")
    dataset = {k: v for k, v in pretrain_configs["lstm"]["dataset"].items() if k != "name"}
    corpus_config = SyntheticConfig(**dataset)
    corpus = generate_corpus(corpus_config, dataset["seed"])
    _SHARED["corpora"] = {(corpus_config.model_dump_json(), dataset["seed"]): corpus}
    _memoised_corpus()
    tokenizer = WordTokenizer(WordConfig(**{k: v for k, v in pretrain_configs["lstm"][
        "tokenizer"].items() if k != "name"}))  # fmt: skip
    tokenizer.fit(corpus.texts())
    report(results, "vocab_size", float(tokenizer.vocab_size))

    with tempfile.TemporaryDirectory() as tmp:
        _SHARED.update(corpus=corpus, tokenizer=tokenizer, run_dir=Path(tmp),
                       finetune_configs=finetune_configs)  # fmt: skip
        context = multiprocessing.get_context("fork")
        t0 = time.perf_counter()
        # The two language models first (the longest jobs), word2vec beside them.
        jobs = [(way, pretrain_configs[way]) for way in ("gpt", "lstm", "word2vec")]
        states: dict[str, dict] = {}
        with context.Pool(args.jobs) as pool:
            for way, state, loss, seconds in pool.imap_unordered(pretrain_job, jobs):
                states[way] = state
                report(results, f"pretrain_{way}_val_loss", loss)
                report(results, f"pretrain_{way}_seconds", seconds)
        report(results, "pretrain_seconds", time.perf_counter() - t0)
        _SHARED["states"] = states

        t0 = time.perf_counter()
        todo = [
            (cell, lr, seed, steps_for(cell, args))
            for cell in cells()
            for lr in lrs_for(cell, finetune_configs, args.quick)
            for seed in range(args.seeds)
        ]
        runs = []
        with context.Pool(args.jobs) as pool:
            for run in pool.imap_unordered(finetune_job, todo, chunksize=1):
                runs.append(run)
                cell, lr, seed, val, test, seconds = run
                print(f"  [{len(runs)}/{len(todo)}] {cell.key} lr={lr:g} seed={seed}: "
                      f"val {val:.3f} test {test:.3f} ({seconds:.0f} s)", flush=True)  # fmt: skip
        report(results, "finetune_seconds", time.perf_counter() - t0)
        results["runs"] = [
            {"cell": c.key, "lr": lr, "seed": s, "val": v, "test": t, "seconds": sec}
            for c, lr, s, v, t, sec in runs
        ]
        summarise(results, runs, args.seeds)

    gains = {}
    for way in WAYS:
        pre, scratch = f"sentiment_{FEW}_{way}_pre", f"sentiment_{FEW}_{way}_scratch"
        per_seed = [p - s for p, s in zip(results[f"{pre}_seeds"], results[f"{scratch}_seeds"],
                                          strict=True)]  # fmt: skip
        gains[way] = statistics.mean(per_seed)
        report(results, f"gain_at_100_{'word2vec' if way == 'w2v' else way}", gains[way])
        name = "word2vec" if way == "w2v" else way
        results[f"gain_at_100_{name}_std"] = (
            statistics.stdev(per_seed) if len(per_seed) > 1 else 0.0
        )
    order = sorted(WAYS, key=lambda way: results[f"sentiment_{FEW}_{way}_pre"])
    report(results, "order_at_100", " < ".join(order))
    report(results, "order_matches_history", "yes" if tuple(order) == HISTORY else "no")
    report(results, "gpt1_entailment_acc", results[f"{ENTAILMENT.replace('-', '_')}_all_gpt_pre"])
    report(results, "gpt1_entailment_chance", 1.0 / 3.0)
    report(results, "total_seconds", time.perf_counter() - started)
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    report(results, "cpu_seconds", cpu)
    results["load_after"] = os.getloadavg()[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
