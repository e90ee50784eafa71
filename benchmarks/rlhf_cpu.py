"""RLHF on a CPU: reward model, PPO and DPO on the quickstart LM, judged by the labeller's rule.

    python benchmarks/rlhf_cpu.py --out bench-out/rlhf_cpu.json

Prints ``NAME: VALUE`` lines (at least ``rm_acc``, ``rm_acc_false``, ``ppo_gold_win``, ``ppo_kl``,
``dpo_gold_win``, ``dpo_kl``) and writes them to a JSON file. Steps, in one fresh home:

1. pre-train the quickstart LM (``configs/quickstart.yaml``; ``--pretrain-steps`` shortens it);
   ``--home H --lm-run NAME`` reuses a finished one instead;
2. ``configs/rlhf-reward.yaml``: the reward model; its accuracy on the held-out pairs
   (``preference-accuracy``, overall and per flaw);
3. ``configs/rlhf-ppo.yaml`` from the LM against the reward model; ``win-rate`` of the result
   against the LM on the held-out prompts: gold win rate (the ``factual-polite`` rule), proxy win
   rate (the reward model), KL to the LM per answer, the factual share of both; the first and
   last points of its over-optimisation curve;
4. ``configs/rlhf-dpo.yaml`` from the LM; ``win-rate`` of the result against the LM.

``--seed S`` sets the seed of the reward, PPO and DPO runs (the LM is the same) and suffixes their
names with ``-sS``; ``--seeds 1337 1`` repeats steps 2-4 for each and adds the mean of each figure
(``mean_NAME``). Every run uses ``torch`` with ``--threads`` threads (default 2).
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
REWARD, PPO, DPO = "quickstart-rlhf-reward", "quickstart-rlhf-ppo", "quickstart-rlhf-dpo"


def report(results: dict, name: str, value: float | str) -> None:
    results[name] = value
    shown = f"{value:.4f}" if isinstance(value, float) else value
    print(f"{name}: {shown}", flush=True)


def run(config: Path, overrides: list[str]) -> float:
    """Run a config through the CLI; its wall time in seconds."""
    from workbench.cli import main

    args = ["run", str(config)]
    for item in overrides:
        args += ["--set", item]
    started = time.monotonic()
    code = main(args)
    if code != 0:
        raise SystemExit(f"run {config.name} failed (exit {code})")
    return time.monotonic() - started


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


def rlhf_chain(args, store, lm: str, seed: int | None, results: dict) -> None:
    """Steps 2-4 for one seed."""
    suffix = "" if seed is None else f"-s{seed}"
    reward, ppo, dpo = REWARD + suffix, PPO + suffix, DPO + suffix
    common = [*args.overrides, f"init_from={lm}"]
    if seed is not None:
        common.append(f"seed={seed}")

    steps = [] if args.reward_steps is None else [f"stage.max_steps={args.reward_steps}"]
    report(
        results,
        "rm_seconds",
        run(CONFIGS / "rlhf-reward.yaml", [*common, *steps, f"name={reward}"]),
    )
    accuracy = evaluate(store, reward, "preference-accuracy", {})
    report(results, "rm_acc", accuracy["accuracy"])
    report(results, "rm_acc_false", accuracy["accuracy/false"])
    for flaw in ("rude", "off-topic", "truncated"):
        report(results, f"rm_acc_{flaw.replace('-', '_')}", accuracy[f"accuracy/{flaw}"])
    report(results, "rm_pairs", accuracy["pairs"])

    judged = {
        "reward_run": reward,
        "reference_run": lm,
        "max_prompts": args.eval_prompts,
        "samples_per_prompt": args.samples_per_prompt,
    }
    ppo_steps = [] if args.ppo_rollouts is None else [f"stage.rollouts={args.ppo_rollouts}"]
    ppo_run = [*common, *ppo_steps, f"stage.reward_run={reward}", f"name={ppo}"]
    report(results, "ppo_seconds", run(CONFIGS / "rlhf-ppo.yaml", ppo_run))
    ppo_id = store.find_run(ppo).id
    won = evaluate(store, ppo, "win-rate", judged)
    report(results, "ppo_gold_win", won["gold/win_rate"])
    report(results, "ppo_gold_win_se", won["gold/win_rate_se"])
    report(results, "ppo_proxy_win", won["proxy/win_rate"])
    report(results, "ppo_kl", won["kl"])
    report(results, "ppo_gold_reward", won["gold/mean"])
    report(results, "ppo_proxy_reward", won["proxy/mean"])
    report(results, "lm_gold_reward", won["gold/reference_mean"])
    report(results, "lm_proxy_reward", won["proxy/reference_mean"])
    for key in ("share_factual", "share_answers_question", "share_polite", "share_rude"):
        report(results, f"ppo_{key}", won[key])
        report(results, f"lm_{key}", won[f"reference/{key}"])
    curve = {
        name: [m.value for m in store.metrics(ppo_id, f"curve/{name}")]
        for name in ("kl", "proxy", "gold", "gold_win")
    }
    if curve["kl"]:
        for name, values in curve.items():
            report(results, f"ppo_curve_{name}_first", values[0])
            report(results, f"ppo_curve_{name}_last", values[-1])
        report(results, "ppo_curve_points", float(len(curve["kl"])))
    report(results, "ppo_final_kl_coef", store.metrics(ppo_id, "train/kl_coef")[-1].value)

    dpo_steps = [] if args.dpo_steps is None else [f"stage.max_steps={args.dpo_steps}"]
    report(
        results, "dpo_seconds", run(CONFIGS / "rlhf-dpo.yaml", [*common, *dpo_steps, f"name={dpo}"])
    )
    won = evaluate(store, dpo, "win-rate", judged)
    report(results, "dpo_gold_win", won["gold/win_rate"])
    report(results, "dpo_gold_win_se", won["gold/win_rate_se"])
    report(results, "dpo_proxy_win", won["proxy/win_rate"])
    report(results, "dpo_kl", won["kl"])
    report(results, "dpo_gold_reward", won["gold/mean"])
    for key in ("share_factual", "share_answers_question", "share_polite", "share_rude"):
        report(results, f"dpo_{key}", won[key])


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
    parser.add_argument("--reward-steps", type=int, help="default: the config's")
    parser.add_argument("--ppo-rollouts", type=int, help="default: the config's")
    parser.add_argument("--dpo-steps", type=int, help="default: the config's")
    parser.add_argument("--eval-prompts", type=int, default=100, help="held-out prompts judged")
    parser.add_argument("--samples-per-prompt", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds of the RLHF runs")
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
        every = f"stage.eval_interval={min(250, steps)}"
        pretrain = [*args.overrides, f"stage.max_steps={steps}", every]
        report(results, "lm_seconds", run(CONFIGS / "quickstart.yaml", pretrain))
    store = open_store(resolve_home(home))
    report(results, "lm_val_loss", store.metrics(store.find_run(lm).id, "val/loss")[-1].value)

    seeds = args.seeds or [None]
    per_seed: list[dict] = []
    for seed in seeds:
        if seed is not None:
            print(f"# seed {seed}", flush=True)
        per_seed.append({})
        rlhf_chain(args, store, lm, seed, per_seed[-1])
        results.update(
            {f"{k}{'' if seed is None else f'_s{seed}'}": v for k, v in per_seed[-1].items()}
        )
    if len(per_seed) > 1:
        for key in per_seed[0]:
            report(results, f"mean_{key}", mean([r[key] for r in per_seed]))

    report(results, "wall_seconds", time.monotonic() - started)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
