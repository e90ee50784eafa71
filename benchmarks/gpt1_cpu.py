"""GPT-1 fine-tuning benchmark (CPU, one thread): does pre-training help, and does the auxiliary
LM loss?

    python benchmarks/gpt1_cpu.py [--out bench-out/gpt1_cpu.json]

One small character GPT (with the ``<start>``, ``<delim>``, ``<extract>`` special tokens) is
pre-trained on the synthetic corpus, then fine-tuned on two of the corpus's labelled tasks
(``sentiment``, ``entailment``) three ways, with identical fine-tuning options and seeds:

- ``pretrained``: from the pre-trained weights, with the auxiliary LM loss (lm_coef 0.5);
- ``scratch``: the same architecture from a fresh initialisation, with the auxiliary LM loss;
- ``pretrained_no_lm``: from the pre-trained weights, lm_coef 0.

Prints ``NAME: VALUE`` lines (test-split accuracy of each, the chance level, the pre-training val
loss, wall seconds) and writes them to a JSON file. Uses the stages' own factories and a plain
``pl.Trainer`` in this process (no store, no worker processes) so that the whole comparison fits
in about six minutes on one thread.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

from workbench.specs import DatasetContext, RunInfo, StageContext
from workbench_gpt.model import GPT, GPTConfig
from workbench_gpt.pretrain import PretrainConfig, build_pretrain
from workbench_gpt1.batching import encode_records
from workbench_gpt1.config import FinetuneConfig
from workbench_gpt1.finetune import build_finetune, task_tokens
from workbench_gpt1.scoring import score_records
from workbench_gpt1.transforms import SPECIAL_TOKENS
from workbench_synthetic.config import SyntheticConfig
from workbench_synthetic.corpus import generate_corpus
from workbench_synthetic.views import SyntheticTaskConfig, load_synthetic_task
from workbench_text.tokenizers import CharConfig, CharTokenizer

SEED = 1337
# Mostly world text (biographies, places, stories, reviews with stars, dialogues): what the
# tasks are about. The few-shot prompt documents serve the GPT-3 experiments, not these.
SYNTHETIC = {
    "size_chars": 400_000,
    "prompt_fraction": 0.1,
    "task_train_size": 2000,
    "task_eval_size": 300,
    "seed": SEED,
}
MODEL = {"n_layer": 3, "n_head": 4, "n_embd": 96, "block_size": 128, "dropout": 0.0}
PRETRAIN = {"max_steps": 700, "batch_size": 16, "lr": 2e-3, "warmup_steps": 50}
FINETUNE = {"max_steps": 250, "batch_size": 16, "lr": 1e-3, "warmup_steps": 20, "samples": 0}
TASKS = ("sentiment", "entailment")


def report(results: dict, name: str, value: float | str) -> None:
    results[name] = value
    shown = f"{value:.4f}" if isinstance(value, float) else value
    print(f"{name}: {shown}", flush=True)


def fit(parts, max_steps: int) -> pl.Trainer:
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=max_steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=50,
        **parts.trainer_kwargs,
    )
    trainer.fit(parts.module, datamodule=parts.datamodule)
    return trainer


def context(config, model, tokenizer, dataset, run_dir: Path) -> StageContext:
    info = RunInfo(id=1, name="bench", seed=SEED, run_dir=run_dir, home=run_dir)
    return StageContext(config=config, run=info, model=model, tokenizer=tokenizer, dataset=dataset)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench-out/gpt1_cpu.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    results: dict = {}
    started = time.perf_counter()
    run_dir = Path("bench-out/gpt1_cpu")

    corpus = generate_corpus(SyntheticConfig(**SYNTHETIC), SEED)
    tokenizer = CharTokenizer(CharConfig(special_tokens=list(SPECIAL_TOKENS)))
    tokenizer.fit(corpus.texts())
    pl.seed_everything(SEED, verbose=False)
    pretrained = GPT(GPTConfig(**MODEL), vocab_size=tokenizer.vocab_size)
    scratch_init = copy.deepcopy(pretrained.state_dict())
    report(results, "params_M", sum(p.numel() for p in pretrained.parameters()) / 1e6)

    t0 = time.perf_counter()
    cfg = PretrainConfig(**PRETRAIN, eval_interval=PRETRAIN["max_steps"], sample_tokens=0)
    parts = build_pretrain(context(cfg, pretrained, tokenizer, corpus, run_dir))
    trainer = fit(parts, parts.max_steps)
    report(results, "pretrain_val_loss", float(trainer.callback_metrics["val/loss"]))
    report(results, "pretrain_seconds", time.perf_counter() - t0)
    pretrained_state = copy.deepcopy(pretrained.state_dict())

    variants = {
        "pretrained": (pretrained_state, 0.5),
        "scratch": (scratch_init, 0.5),
        "pretrained_no_lm": (pretrained_state, 0.0),
    }
    for task_name in TASKS:
        dataset_ctx = DatasetContext(cache_dir=run_dir, seed=SEED)
        task = load_synthetic_task(SyntheticTaskConfig(**SYNTHETIC, task=task_name), dataset_ctx)
        report(results, f"{task_name}_chance", 1.0 / len(task.labels))
        for variant, (state, lm_coef) in variants.items():
            t0 = time.perf_counter()
            model = GPT(GPTConfig(**MODEL), vocab_size=tokenizer.vocab_size)
            model.load_state_dict(state)
            cfg = FinetuneConfig(**FINETUNE, lm_coef=lm_coef, eval_interval=10_000)
            pl.seed_everything(SEED, verbose=False)
            parts = build_finetune(context(cfg, model, tokenizer, task, run_dir))
            fit(parts, parts.max_steps)
            test = encode_records(
                task.test,
                task.task_type,
                tokenizer.encode,
                task_tokens(cfg, tokenizer),
                model.block_size,
                "test",
            )
            score = score_records(model, parts.heads["classifier"], test, 64)
            report(results, f"{task_name}_{variant}_test_accuracy", score.accuracy)
            report(results, f"{task_name}_{variant}_seconds", time.perf_counter() - t0)

    report(results, "total_seconds", time.perf_counter() - started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
