"""Few-shot prompting on a CPU: accuracy against k for two GPT sizes, and the fine-tuned line.

    python benchmarks/prompting_cpu.py --threads 2 --out bench-out/prompting_cpu.json

Prints ``NAME: VALUE`` lines and writes them to a JSON file. Takes about 8 minutes on 2 threads.

1. A prompt-heavy synthetic corpus (``prompt_fraction`` 0.95, the eight string tasks, up to 8
   demonstrations per document, about half the documents with an instruction line), so that
   in-context learning can emerge in minutes (DESIGN.md section 4: every k up to the largest
   evaluated appears in training, and a typical 8-shot document fits the 192-character context).
2. Two character-level GPTs (``small``, ``large``) pre-trained on it with a plain PyTorch loop
   (the ``pretrain`` stage's windows, schedule and optimizer groups), each for a fixed time.
3. The ``few-shot`` evaluation (through the registry, exactly as ``workbench evaluate`` runs it)
   on each, without the instruction line (so k=0 cannot know the task: the demonstrations must
   carry it) and with it.
4. The larger model fine-tuned on one task's demonstration items (the ``prompt-task-text``
   dataset, zero-shot documents with the instruction) and evaluated at k=0: the fine-tuned line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
STRING_TASKS = [
    "reverse", "sort", "uppercase", "shift", "first-letter", "last-letter", "double-letters",
    "count-items",
]  # fmt: skip
SIZES = {
    "small": {"n_layer": 2, "n_head": 2, "n_embd": 64, "block_size": 192},
    "large": {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 192},
}


def report(results: dict, name: str, value: float | str) -> None:
    results[name] = value
    shown = f"{value:.4f}" if isinstance(value, float) else value
    print(f"{name}: {shown}", flush=True)


def train(model, ids: torch.Tensor, seconds: float, *, lr: float, batch_size: int, seed: int,
          max_steps: int = 100_000) -> int:  # fmt: skip
    """Train for ``seconds`` of wall time (cosine schedule over the steps that fit); return steps."""
    from workbench_gpt.pretrain import PretrainConfig, RandomWindows, lr_at

    optimizer = torch.optim.AdamW(model.optimizer_groups(0.1), lr=lr, betas=(0.9, 0.99))
    batches = iter(RandomWindows(ids, model.block_size, batch_size, seed))
    model.train()
    # Time a few steps first to size the schedule to the budget.
    start, step, planned = time.perf_counter(), 0, max_steps
    cfg = PretrainConfig(max_steps=planned, lr=lr, min_lr=lr / 10, warmup_steps=50)
    while step < planned:
        if step == 20:
            per_step = (time.perf_counter() - start) / 20
            planned = min(max_steps, max(40, int(seconds / per_step)))
            cfg = PretrainConfig(max_steps=planned, lr=lr, min_lr=lr / 10, warmup_steps=50)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg)
        x, y = next(batches)
        _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
    model.eval()
    return step


def few_shot(registry, model, tokenizer, dataset, **options) -> dict[str, float]:
    from workbench.specs import EvaluationContext, RunInfo

    spec = registry.evaluation("few-shot")
    info = RunInfo(id=0, name="bench", seed=0, run_dir=Path("."), home=Path("."))
    ctx = EvaluationContext(
        config=spec.config(**options), run=info, model=model, tokenizer=tokenizer, dataset=dataset
    )
    return spec.factory(ctx)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--small-seconds", type=float, default=90)
    parser.add_argument("--large-seconds", type=float, default=300)
    parser.add_argument("--finetune-seconds", type=float, default=40)
    parser.add_argument("--limit", type=int, default=15, help="held-out items per task")
    parser.add_argument("--batch-size", type=int, default=16, help="training sequences per step")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--task", default="first-letter", help="the task the fine-tuned line is for"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out" / "prompting_cpu.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    from workbench.registry import load_registry
    from workbench.specs import DatasetContext, ModelContext

    results: dict = {}
    began = time.perf_counter()
    registry = load_registry()
    corpus_options = {
        "size_chars": 2_000_000,
        "prompt_fraction": 0.95,
        "prompt_tasks": STRING_TASKS,
        "max_shots": 8,
        "seed": 0,
    }
    data_ctx = DatasetContext(cache_dir=ROOT / "bench-out", seed=0)
    synthetic = registry.dataset("synthetic")
    corpus = synthetic.factory(synthetic.config(**corpus_options), data_ctx)
    tokenizer = registry.tokenizer("char").factory(registry.tokenizer("char").config())
    tokenizer.fit(corpus.texts())
    ids = torch.tensor(tokenizer.encode(corpus.train), dtype=torch.long)
    report(results, "corpus_chars", float(len(corpus.train)))
    shots = [0, 1, 2, 4, 8]
    evaluation = {"tasks": STRING_TASKS, "shots": shots, "seeds": args.seeds, "limit": args.limit}

    arch = registry.architecture("gpt")
    models = {}
    for size, shape in SIZES.items():
        model = arch.factory(arch.config(**shape), ModelContext(tokenizer.vocab_size))
        seconds = args.small_seconds if size == "small" else args.large_seconds
        start = time.perf_counter()
        steps = train(model, ids, seconds, lr=3e-3, batch_size=args.batch_size, seed=1)
        report(results, f"{size}_params", float(model.num_parameters()))
        report(results, f"{size}_train_steps", float(steps))
        report(results, f"{size}_train_seconds", time.perf_counter() - start)
        for label, instruction in (("no_instruction", False), ("instruction", True)):
            start = time.perf_counter()
            m = few_shot(registry, model, tokenizer, corpus, instruction=instruction, **evaluation)
            for k in shots:
                report(results, f"{size}_{label}_acc_k{k}", m[f"acc/k={k}"])
                report(results, f"{size}_{label}_acc_std_k{k}", m[f"acc_std/k={k}"])
                report(results, f"{size}_{label}_{args.task}_acc_k{k}", m[f"acc/{args.task}/k={k}"])
            if size == "large" and not instruction:
                for task in STRING_TASKS:
                    for k in (0, 4):
                        report(results, f"large_{label}_{task}_acc_k{k}", m[f"acc/{task}/k={k}"])
            report(results, f"{size}_{label}_eval_seconds", time.perf_counter() - start)
        models[size] = model

    # The fine-tuned line: the larger model, further trained on one task's demonstration items.
    task_data = registry.dataset("prompt-task-text")
    task_corpus = task_data.factory(
        task_data.config(**corpus_options, task=args.task, instruction=True), data_ctx
    )
    tuned = arch.factory(arch.config(**SIZES["large"]), ModelContext(tokenizer.vocab_size))
    tuned.load_state_dict(models["large"].state_dict())
    task_ids = torch.tensor(tokenizer.encode(task_corpus.train), dtype=torch.long)
    start = time.perf_counter()
    steps = train(
        tuned, task_ids, args.finetune_seconds, lr=1e-3, batch_size=args.batch_size, seed=2
    )
    report(results, "finetune_train_steps", float(steps))
    report(results, "finetune_train_seconds", time.perf_counter() - start)
    m = few_shot(registry, tuned, tokenizer, task_corpus, tasks=[args.task], shots=[0], seeds=1,
                 limit=args.limit, instruction=True)  # fmt: skip
    report(results, f"finetuned_{args.task}_acc_k0", m["acc/k=0"])
    report(results, "total_seconds", time.perf_counter() - began)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
