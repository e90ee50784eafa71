"""RLHF on a CPU: reward model, PPO and DPO on a small GPT, judged by the labeller's rule.

    python benchmarks/rlhf_cpu.py --out bench-out/rlhf_cpu.json

Prints ``NAME: VALUE`` lines (at least ``rm_acc``, ``rm_acc_false``, ``ppo_gold_win``, ``ppo_kl``,
``dpo_gold_win``, ``dpo_kl``, and the factual shares ``ppo_share_factual`` / ``lm_share_factual``)
and writes them to a JSON file. Steps, in one fresh home:

1. pre-train the LM (``configs/rlhf-lm.yaml``, ``--lm-config`` for another; ``--pretrain-steps``
   shortens it); ``--home H --lm-run NAME`` reuses a finished one instead; how well it knows the
   world (``lm_fact_top1``: the share of held-out questions whose true answer it finds likeliest
   among up to 16 candidates; ``lm_fact_pairwise``);
2. ``workbench pairs generate`` two answers of the LM to each of ``--label-prompts`` training
   prompts, the ``factual-polite`` annotator labels them (InstructGPT's labellers), and
   ``configs/rlhf-reward.yaml`` trains the reward model on those labels beside the rule-written
   pairs; its accuracy on the held-out rule-written pairs (``preference-accuracy``, overall and
   per flaw);
3. ``configs/rlhf-sft.yaml``: supervised fine-tuning of the LM on the labeller's demonstrations
   (InstructGPT's step 1; ``win-rate`` of it against the LM: ``sft_*``), then
   ``configs/rlhf-ppo.yaml`` from the SFT model against the reward model (``--ppo-from lm``: from
   the LM, as before 2026-11-30); ``win-rate`` of the result against the LM on the held-out
   prompts: gold win rate (the ``factual-polite`` rule), proxy win rate (the reward model), KL to
   the LM per answer, the factual share of both; the first and last points of its
   over-optimisation curve and the sentinel's warnings;
4. ``configs/rlhf-dpo.yaml`` from the LM; ``win-rate`` of the result against the LM (every
   ``win-rate`` judges the same held-out prompts with the same sampling seeds);
5. with ``--loop``, one turn of InstructGPT's loop: ``workbench pairs generate --from-run`` the
   PPO run (its highest-proxy answers against the LM's), the ``factual-polite`` annotator labels
   them, the reward model is trained again on the old pairs plus these labels
   (``labels_annotator``), PPO runs again against it, and ``win-rate`` judges it (``loop_*``).

``--seed S`` sets the seed of the reward, PPO and DPO runs (the LM is the same) and suffixes their
names with ``-sS``; ``--seeds 1337 1`` repeats steps 2-5 for each and adds the mean and the spread
(half the range) of each figure (``mean_NAME``, ``spread_NAME``). Every run uses ``torch`` with
``--threads`` threads (default 2).
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
REWARD, SFT, PPO, DPO = "rlhf-reward", "rlhf-sft", "rlhf-ppo", "rlhf-dpo"
JUDGE = "factual-polite"


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


def label_pairs(store, pair_ids: list[int], name: str) -> dict[str, int]:
    """Label ``pair_ids`` with the ``factual-polite`` rule under annotator ``name`` (what
    ``workbench label --annotator factual-polite --name NAME`` does, but only these pairs, so
    seeds sharing a home do not label each other's)."""
    from collections import Counter

    from workbench.operations.annotators import ensure_simulated_annotator
    from workbench.operations.pairs import world_for_source
    from workbench.paths import resolve_home
    from workbench.registry import load_registry

    registry = load_registry()
    spec = registry.annotator(JUDGE)
    options = spec.config()
    ensure_simulated_annotator(store, name, spec, options)
    annotator = spec.factory(options)
    paths = resolve_home(os.environ["WORKBENCH_HOME"])
    worlds: dict[str, object] = {}
    rows = []
    for pair_id in pair_ids:
        pair = store.get_pair(pair_id)
        if pair.source not in worlds:
            worlds[pair.source] = world_for_source(pair.source, registry, paths)
        choice = annotator.label(
            pair.prompt, pair.completion_a, pair.completion_b, pair.properties, worlds[pair.source]
        )
        rows.append((pair_id, choice))
    store.label_many(name, rows)
    return dict(Counter(choice for _, choice in rows))


def pairs_from_lm(lm: str, count: int, seed: int) -> list[int]:
    """``workbench pairs generate LM --count N --seed S``: two answers of the LM to each of the
    first ``count`` training prompts; the ids of the stored pairs."""
    from workbench.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            ["pairs", "generate", lm, "--count", str(count), "--max-tokens", "64",
             "--seed", str(seed), "--json"]
        )  # fmt: skip
    if code != 0:
        raise SystemExit(f"pairs generate {lm} failed")
    return json.loads(out.getvalue())["pair_ids"]


def pairs_from_run(run_name: str, pool: int, count: int) -> list[int]:
    """``workbench pairs generate --from-run RUN``: the ids of the stored pairs."""
    from workbench.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            ["pairs", "generate", "--from-run", run_name, "--pool", str(pool),
             "--count", str(count), "--max-tokens", "64", "--json"]
        )  # fmt: skip
    if code != 0:
        raise SystemExit(f"pairs generate --from-run {run_name} failed")
    return json.loads(out.getvalue())["pair_ids"]


def lm_fact_knowledge(lm: str, reward_config: Path, max_alternatives: int = 15) -> dict:
    """How well the LM knows the world: for each held-out question prompt of the RLHF configs
    (``Q: Where does X live?\nA:``), the log-probability of the true answer sentence
    (`` X lives in T.``) against the same sentence with each of up to ``max_alternatives`` other
    objects. ``top1``: share of questions whose true answer is the likeliest; ``pairwise``: share
    of (true, other) pairs ranked right."""
    import random

    import torch
    import yaml

    import workbench
    from workbench.specs import DatasetContext
    from workbench_rlhf.sequences import encode_completion, pad_batch, token_logprobs
    from workbench_synthetic.facts import render_fact, templates_for
    from workbench_synthetic.views import SyntheticPromptsConfig, load_synthetic_prompts
    from workbench_synthetic.world import Fact, as_world

    model, tokenizer = workbench.load(lm)
    block = dict(yaml.safe_load(reward_config.read_text())["dataset"])
    from workbench_rlhf.synthetic_pairs import PAIR_OPTIONS

    for key in ("name", *PAIR_OPTIONS):
        block.pop(key, None)
    prompts = load_synthetic_prompts(
        SyntheticPromptsConfig(**block), DatasetContext(cache_dir=None, seed=0)
    )
    world = as_world(prompts.extras["world"])
    properties = prompts.properties[len(prompts.train) :]
    seen = set(prompts.train)
    rng = random.Random(0)
    top1, pairwise = [], []
    for prompt, props in zip(prompts.val, properties, strict=True):
        if props["kind"] != "question" or prompt in seen:
            continue
        seen.add(prompt)
        fact = Fact(props["relation"], props["entity"], props["answer"])
        template = templates_for(world, fact)[0]
        others = world.alternatives(fact)
        rng.shuffle(others)
        rows = [
            encode_completion(
                tokenizer,
                prompt,
                " " + render_fact(Fact(fact.relation, fact.subject, obj), template),
                model.block_size,
            )
            for obj in [fact.object, *others[:max_alternatives]]
        ]
        batch = pad_batch(rows)
        with torch.no_grad():
            logits, _ = model(batch.ids)
        scores = (token_logprobs(logits, batch.ids) * batch.completion_mask).sum(dim=-1)
        top1.append(float(scores[0] > scores[1:].max()))
        pairwise.append(float((scores[0] > scores[1:]).float().mean()))
    return {"top1": mean(top1), "pairwise": mean(pairwise), "questions": float(len(top1))}


def report_win_rate(results: dict, prefix: str, won: dict) -> None:
    report(results, f"{prefix}_gold_win", won["gold/win_rate"])
    report(results, f"{prefix}_gold_win_se", won["gold/win_rate_se"])
    report(results, f"{prefix}_proxy_win", won["proxy/win_rate"])
    report(results, f"{prefix}_kl", won["kl"])
    report(results, f"{prefix}_gold_reward", won["gold/mean"])
    report(results, f"{prefix}_proxy_reward", won["proxy/mean"])
    for key in ("share_factual", "share_answers_question", "share_polite", "share_rude",
                "share_complete_sentence"):  # fmt: skip
        report(results, f"{prefix}_{key}", won[key])


def rlhf_chain(args, store, lm: str, seed: int | None, results: dict) -> None:
    """Steps 2-5 for one seed."""
    suffix = "" if seed is None else f"-s{seed}"
    reward, sft, ppo, dpo = REWARD + suffix, SFT + suffix, PPO + suffix, DPO + suffix
    common = [*args.overrides, f"init_from={lm}"]
    if seed is not None:
        common.append(f"seed={seed}")

    # InstructGPT's step 2: the labeller compares pairs of the LM's own answers (the rule
    # stands in for people); the reward model trains on these labels beside the rule-written pairs.
    labeller = f"{JUDGE}{suffix}"
    started = time.monotonic()
    pair_ids = pairs_from_lm(lm, args.label_prompts, 1337 if seed is None else seed)
    choices = label_pairs(store, pair_ids, labeller)
    report(results, "lm_pairs", float(len(pair_ids)))
    for choice in ("a", "b", "tie", "both_bad"):
        report(results, f"lm_labels_{choice}", float(choices.get(choice, 0)))
    report(results, "label_seconds", time.monotonic() - started)
    labels = [f"dataset.labels_annotator={labeller}"]
    steps = [] if args.reward_steps is None else [f"stage.max_steps={args.reward_steps}"]
    report(
        results,
        "rm_seconds",
        run(CONFIGS / "rlhf-reward.yaml", [*common, *steps, *labels, f"name={reward}"]),
    )
    accuracy = evaluate(store, reward, "preference-accuracy", {})
    report(results, "rm_acc", accuracy["accuracy"])
    report(results, "rm_acc_false", accuracy["accuracy/false"])
    for flaw in ("rude", "off-topic", "truncated", "fragment", "unresponsive"):
        if f"accuracy/{flaw}" in accuracy:  # a flaw left out of rejected_kinds has no pairs
            report(results, f"rm_acc_{flaw.replace('-', '_')}", accuracy[f"accuracy/{flaw}"])
    report(results, "rm_pairs", accuracy["pairs"])

    judged = {
        "reward_run": reward,
        "reference_run": lm,
        "max_prompts": args.eval_prompts,
        "samples_per_prompt": args.samples_per_prompt,
    }
    # InstructGPT's step 1 (run here, once the reward model can score its answers too): SFT on
    # the labeller's demonstrations; PPO starts from it.
    start = lm
    if args.ppo_from == "sft":
        sft_steps = [] if args.sft_steps is None else [f"stage.max_steps={args.sft_steps}"]
        report(
            results,
            "sft_seconds",
            run(CONFIGS / "rlhf-sft.yaml", [*common, *sft_steps, f"name={sft}"]),
        )
        report_win_rate(results, "sft", evaluate(store, sft, "win-rate", judged))
        start = sft
    ppo_steps = [] if args.ppo_rollouts is None else [f"stage.rollouts={args.ppo_rollouts}"]
    ppo_steps.append(f"init_from={start}")
    ppo_run = [*common, *ppo_steps, f"stage.reward_run={reward}", f"name={ppo}"]
    report(results, "ppo_seconds", run(CONFIGS / "rlhf-ppo.yaml", ppo_run))
    ppo_id = store.find_run(ppo).id
    won = evaluate(store, ppo, "win-rate", judged)
    report_win_rate(results, "ppo", won)
    report(results, "lm_gold_reward", won["gold/reference_mean"])
    report(results, "lm_proxy_reward", won["proxy/reference_mean"])
    for key in ("share_factual", "share_answers_question", "share_polite", "share_rude",
                "share_complete_sentence"):  # fmt: skip
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
    warnings = [m.value for m in store.metrics(ppo_id, "sentinel/warning")]
    report(results, "ppo_sentinel_warnings", float(sum(warnings)))
    report(results, "ppo_final_kl_coef", store.metrics(ppo_id, "train/kl_coef")[-1].value)

    dpo_steps = [] if args.dpo_steps is None else [f"stage.max_steps={args.dpo_steps}"]
    report(
        results, "dpo_seconds", run(CONFIGS / "rlhf-dpo.yaml", [*common, *dpo_steps, f"name={dpo}"])
    )
    won = evaluate(store, dpo, "win-rate", judged)
    report_win_rate(results, "dpo", won)

    if args.loop:
        instructgpt_loop(args, store, lm, seed, results, reward, ppo, common, ppo_steps)


def instructgpt_loop(args, store, lm, seed, results, reward, ppo, common, ppo_steps) -> None:
    """Step 5: label the PPO run's highest-proxy answers, retrain the reward model on old + new
    labels, PPO again; judged like the first PPO run."""
    suffix = "" if seed is None else f"-s{seed}"
    reward2, ppo2 = f"{REWARD}-loop{suffix}", f"{PPO}-loop{suffix}"
    started = time.monotonic()
    pair_ids = pairs_from_run(ppo, args.loop_pool, args.loop_pairs)
    report(results, "loop_pairs", float(len(pair_ids)))
    # Under the same annotator as the LM's pairs: the second reward model trains on both.
    choices = label_pairs(store, pair_ids, f"{JUDGE}{suffix}")
    for choice in ("a", "b", "tie", "both_bad"):
        report(results, f"loop_labels_{choice}", float(choices.get(choice, 0)))
    report(results, "loop_label_seconds", time.monotonic() - started)
    labels = [
        f"dataset.labels_annotator={JUDGE}{suffix}",
        f"dataset.labels_repeat={args.loop_repeat}",
    ]
    steps = [] if args.reward_steps is None else [f"stage.max_steps={args.reward_steps}"]
    report(
        results,
        "loop_rm_seconds",
        run(CONFIGS / "rlhf-reward.yaml", [*common, *steps, *labels, f"name={reward2}"]),
    )
    accuracy = evaluate(store, reward2, "preference-accuracy", {})
    report(results, "loop_rm_acc", accuracy["accuracy"])
    report(results, "loop_rm_acc_false", accuracy["accuracy/false"])
    ppo_run = [*common, *ppo_steps, f"stage.reward_run={reward2}", f"name={ppo2}"]
    report(results, "loop_ppo_seconds", run(CONFIGS / "rlhf-ppo.yaml", ppo_run))
    judged = {
        "reward_run": reward2,
        "reference_run": lm,
        "max_prompts": args.eval_prompts,
        "samples_per_prompt": args.samples_per_prompt,
    }
    report_win_rate(results, "loop_ppo", evaluate(store, ppo2, "win-rate", judged))
    # The first PPO run judged by the new reward model too: did the retraining teach it where
    # the first policy fooled the old one?
    first = evaluate(store, ppo, "win-rate", judged)
    report(results, "loop_ppo1_proxy_win_new_rm", first["proxy/win_rate"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="workbench home (default: a temporary one)")
    parser.add_argument("--lm-run", help="reuse this finished pre-training run of --home")
    parser.add_argument(
        "--lm-config", type=Path, default=CONFIGS / "rlhf-lm.yaml", help="the LM's config"
    )
    parser.add_argument("--pretrain-steps", type=int, help="default: the LM config's")
    parser.add_argument("--reward-steps", type=int, help="default: the config's")
    parser.add_argument("--ppo-rollouts", type=int, help="default: the config's")
    parser.add_argument("--dpo-steps", type=int, help="default: the config's")
    parser.add_argument("--sft-steps", type=int, help="default: the config's")
    parser.add_argument(
        "--ppo-from",
        choices=("sft", "lm"),
        default="sft",
        help="PPO's starting policy (and the loop's): the SFT model (InstructGPT) or the LM",
    )
    parser.add_argument("--eval-prompts", type=int, default=100, help="held-out prompts judged")
    parser.add_argument(
        "--label-prompts",
        type=int,
        default=1200,
        help="training prompts whose pair of LM answers the labeller compares (step 2)",
    )
    parser.add_argument("--samples-per-prompt", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds of the RLHF runs")
    parser.add_argument("--loop", action="store_true", help="step 5: one InstructGPT iteration")
    parser.add_argument("--loop-pool", type=int, default=400, help="prompts sampled for step 5")
    parser.add_argument("--loop-pairs", type=int, default=200, help="pairs labelled in step 5")
    parser.add_argument(
        "--loop-repeat", type=int, default=4, help="times each new label is added to training"
    )
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
    import yaml

    lm = args.lm_run or yaml.safe_load(args.lm_config.read_text())["name"]
    if args.lm_run is None:
        pretrain = list(args.overrides)
        if args.pretrain_steps is not None:
            steps = args.pretrain_steps
            pretrain += [f"stage.max_steps={steps}", f"stage.eval_interval={min(250, steps)}"]
        report(results, "lm_seconds", run(args.lm_config, pretrain))
    store = open_store(resolve_home(home))
    report(results, "lm_val_loss", store.metrics(store.find_run(lm).id, "val/loss")[-1].value)
    knowledge = lm_fact_knowledge(lm, CONFIGS / "rlhf-reward.yaml")
    report(results, "lm_fact_top1", knowledge["top1"])
    report(results, "lm_fact_pairwise", knowledge["pairwise"])
    report(results, "lm_fact_questions", knowledge["questions"])

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
            values = [r[key] for r in per_seed]
            report(results, f"mean_{key}", mean(values))
            report(results, f"spread_{key}", (max(values) - min(values)) / 2)

    report(results, "wall_seconds", time.monotonic() - started)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
