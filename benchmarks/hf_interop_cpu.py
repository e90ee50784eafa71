"""Hugging Face interop figures on a CPU, through the real CLI (needs ``pip install -e '.[hf]'``).

    python benchmarks/hf_interop_cpu.py --out bench-out/hf_interop_cpu.json

Prints ``NAME: VALUE`` lines and writes them to a JSON file. In one fresh home:

1. pre-train a small char GPT on one prompt task as text (``prompt-task-text``, ``first-letter``;
   ``--steps``), so that it answers some prompts right;
2. ``workbench export --format hf``; load the folder with ``AutoModelForCausalLM`` and
   ``AutoTokenizer``: whether the token ids equal the workbench tokenizer's, the largest
   absolute logits difference from the workbench model, and how many greedy tokens agree;
3. the ``few-shot`` evaluation and the ``lm-eval`` evaluation (lm-evaluation-harness on the
   export) on the same items and prompts: accuracy at k = 0 and k = 1 of each.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import yaml


def report(results: dict, name: str, value: float | int | str) -> None:
    results[name] = value
    shown = f"{value:.6g}" if isinstance(value, float) else value
    print(f"{name}: {shown}", flush=True)


def run_config(steps: int) -> dict:
    return {
        "name": "hf-bench",
        "seed": 3,
        "stage": {"name": "pretrain", "max_steps": steps, "batch_size": 16, "lr": 3e-3,
                  "warmup_steps": 10, "eval_interval": steps, "eval_batches": 2,
                  "sample_tokens": 10},
        "architecture": {"name": "gpt", "preset": "gpt-nano", "block_size": 64},
        "tokenizer": {"name": "char"},
        "dataset": {"name": "prompt-task-text", "task": "first-letter", "size_chars": 20_000,
                    "seed": 3},
        "trainer": {"accelerator": "cpu", "devices": 1, "log_every_n_steps": 50},
    }  # fmt: skip


def export_parity(home: Path, out: Path, results: dict) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from workbench.paths import resolve_home
    from workbench.registry import load_registry
    from workbench.runner.build import load_run
    from workbench.store import open_store

    paths = resolve_home(home)
    run = open_store(paths).find_run("hf-bench")
    loaded = load_run(run.config, paths.run_dir(run.id), load_registry())
    model = AutoModelForCausalLM.from_pretrained(str(out), local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    text = "Give the first letter:\nabc -> a\n\nGive the first letter:\nqrs -> q\n"
    ids = loaded.tokenizer.encode(text)
    report(results, "hf_token_ids_equal", int(tokenizer(text)["input_ids"] == ids))
    idx = torch.tensor([ids[: loaded.model.block_size]])
    with torch.no_grad():
        difference = (loaded.model(idx)[0] - model(idx).logits).abs().max().item()
    report(results, "hf_max_abs_logits_difference", difference)
    prompt = idx[:, :16]
    budget = loaded.model.block_size - prompt.size(1)
    ours = loaded.model.generate(prompt, budget, temperature=0.0)[0]
    theirs = model.generate(
        prompt, max_new_tokens=budget, min_new_tokens=budget, do_sample=False, pad_token_id=0
    )[0, prompt.size(1) :].tolist()
    matched = next(
        (i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b), len(ours)
    )
    report(results, "hf_greedy_match_tokens", matched)
    report(results, "hf_greedy_tokens", budget)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-out/hf_interop_cpu.json"))
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--limit", type=int, default=40, help="held-out items evaluated")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    from workbench.cli import main as workbench

    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="hf-bench-") as tmp:
        root = Path(tmp)
        os.environ["WORKBENCH_HOME"] = str(root / "home")
        config = root / "run.yaml"
        config.write_text(yaml.safe_dump(run_config(args.steps)))
        assert workbench(["run", str(config)]) == 0
        out = root / "export"
        assert workbench(["export", "hf-bench", "--format", "hf", "-o", str(out)]) == 0
        export_parity(root / "home", out, results)
        common = ["--set", f"limit={args.limit}", "--set", "shots=[0, 1]", "--json"]
        for name, extra in (
            ("few_shot", ["--set", "seeds=1", "--set", "tasks=[first-letter]"]),
            ("lm_eval", ["--set", "prompt_tasks=[first-letter]"]),
        ):
            evaluation = name.replace("_", "-")
            capture = root / f"{name}.json"
            with open(capture, "w") as handle:
                import contextlib

                with contextlib.redirect_stdout(handle):
                    assert workbench(["evaluate", "hf-bench", evaluation, *common, *extra]) == 0
            metrics = json.loads(capture.read_text())["metrics"]
            for k in (0, 1):
                report(results, f"{name}_acc_k{k}", metrics[f"acc/k={k}"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
