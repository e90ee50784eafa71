"""RLHF on a CPU: reward model, PPO and DPO on the quickstart LM, through the real CLI.

    python benchmarks/rlhf_cpu.py --out bench-out/rlhf_cpu.json

Prints ``NAME: VALUE`` lines and writes them to a JSON file. Steps, in one fresh home:

1. pre-train the quickstart LM (``configs/quickstart.yaml``; ``--pretrain-steps`` shortens it);
   ``--home H --lm-run NAME`` reuses a finished one instead;
2. ``configs/rlhf-reward.yaml``: the reward model; its accuracy on the held-out pairs
   (``preference-accuracy``, overall and per flaw);
3. ``reward-score`` of the LM on held-out prompts: mean reward, KL to itself (0), the rule-based
   shares (factual, answers, polite, rude);
4. ``configs/rlhf-ppo.yaml`` from the LM against the reward model; the reward and KL of its first
   and last rollouts, and ``reward-score`` of the result (KL measured against the LM);
5. ``configs/rlhf-dpo.yaml`` from the LM; ``reward-score`` of the result.

Every run uses ``torch`` with ``--threads`` threads (default 2).
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

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


def report(results: dict, name: str, value: float | str) -> None:
    results[name] = value
    shown = f"{value:.4f}" if isinstance(value, float) else value
    print(f"{name}: {shown}", flush=True)


def run(config: Path, overrides: list[str]) -> None:
    from workbench.cli import main

    args = ["run", str(config)]
    for item in overrides:
        args += ["--set", item]
    code = main(args)
    if code != 0:
        raise SystemExit(f"run {config.name} failed (exit {code})")


def evaluate(store, run_name: str, evaluation: str, options: dict) -> dict:
    from workbench.cli import main

    args = ["evaluate", run_name, evaluation]
    for key, value in options.items():
        args += ["--set", f"{key}={value}"]
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(args)
    if code != 0:
        raise SystemExit(f"evaluation {evaluation} of {run_name} failed")
    return store.evaluations(store.find_run(run_name).id)[-1].metrics


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="workbench home (default: a temporary one)")
    parser.add_argument("--lm-run", help="reuse this finished pre-training run of --home")
    parser.add_argument(
        "--pretrain-steps",
        type=int,
        default=1500,
        help="quickstart steps (1500 = the quickstart config)",
    )
    parser.add_argument("--reward-steps", type=int, default=200)
    parser.add_argument("--ppo-rollouts", type=int, default=40)
    parser.add_argument("--dpo-steps", type=int, default=200)
    parser.add_argument("--eval-prompts", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="applied to every run, e.g. --set architecture.n_layer=2 for a quicker, smaller LM",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ.pop("WORKBENCH_PLUGINS", None)
    tmp = tempfile.TemporaryDirectory() if args.home is None else None
    home = Path(args.home or tmp.name)
    os.environ["WORKBENCH_HOME"] = str(home)

    from workbench.paths import resolve_home
    from workbench.store import open_store

    results: dict = {}
    started = time.monotonic()
    lm = args.lm_run or "quickstart-synthetic-gpt"
    if args.lm_run is None:
        steps = args.pretrain_steps
        every = f"stage.eval_interval={steps}"
        run(CONFIGS / "quickstart.yaml", [*args.overrides, f"stage.max_steps={steps}", every])
    store = open_store(resolve_home(home))
    report(results, "lm_val_loss", store.metrics(store.find_run(lm).id, "val/loss")[-1].value)
    common = [*args.overrides, f"init_from={lm}"]

    every = f"stage.eval_interval={min(50, args.reward_steps)}"
    run(CONFIGS / "rlhf-reward.yaml", [*common, f"stage.max_steps={args.reward_steps}", every])
    accuracy = evaluate(store, "quickstart-rlhf-reward", "preference-accuracy", {})
    for key in ("accuracy", "accuracy/false", "accuracy/rude", "accuracy/off-topic",
                "accuracy/truncated", "margin"):  # fmt: skip
        report(results, f"reward_model_{key.replace('/', '_')}", accuracy[key])

    score = {
        "reward_run": "quickstart-rlhf-reward",
        "reference_run": lm,
        "max_prompts": args.eval_prompts,
    }
    before = evaluate(store, lm, "reward-score", {**score, "split": "val"})
    keys = ("reward/mean", "kl", "share_factual", "share_answers_question", "share_polite",
            "share_rude", "mean_words")  # fmt: skip
    for key in keys:
        report(results, f"lm_{key.replace('/', '_')}", before[key])

    run(CONFIGS / "rlhf-ppo.yaml", [*common, f"stage.rollouts={args.ppo_rollouts}"])
    ppo_id = store.find_run("quickstart-rlhf-ppo").id
    rewards = [m.value for m in store.metrics(ppo_id, "train/reward/mean")]
    kls = [m.value for m in store.metrics(ppo_id, "train/kl")]
    report(results, "ppo_train_reward_first5", mean(rewards[:5]))
    report(results, "ppo_train_reward_last5", mean(rewards[-5:]))
    report(results, "ppo_train_kl_first5", mean(kls[:5]))
    report(results, "ppo_train_kl_last5", mean(kls[-5:]))
    after = evaluate(store, "quickstart-rlhf-ppo", "reward-score", {**score, "split": "val"})
    for key in keys:
        report(results, f"ppo_{key.replace('/', '_')}", after[key])

    every = f"stage.eval_interval={min(50, args.dpo_steps)}"
    run(CONFIGS / "rlhf-dpo.yaml", [*common, f"stage.max_steps={args.dpo_steps}", every])
    dpo_id = store.find_run("quickstart-rlhf-dpo").id
    report(results, "dpo_val_accuracy", store.metrics(dpo_id, "val/rewards/accuracy")[-1].value)
    dpo = evaluate(store, "quickstart-rlhf-dpo", "reward-score", {**score, "split": "val"})
    for key in keys:
        report(results, f"dpo_{key.replace('/', '_')}", dpo[key])

    report(results, "wall_seconds", time.monotonic() - started)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
