"""Preference labelling from the command line: ``pairs generate``, ``label``, ``labels export``
and ``labels stats``.

``pairs generate RUN`` samples two different completions per prompt from a finished causal-LM
run and stores prompts, completions and comparison pairs. ``label --annotator NAME`` lets a
simulated annotator plugin label every pair it has not labelled yet. ``labels export`` writes
labels that name a winner as TRL-format JSONL, and ``labels stats`` prints progress, per-annotator
counts and the agreement between annotators. People label in the dashboard's Label tab.

The work the dashboard shares lives in :mod:`workbench.operations` (:mod:`~.pairs`,
:mod:`~.labels`); the commands here check their flags, call it and print.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.cli.common import (
    EXIT_OK,
    Context,
    UserError,
    open_context,
    plugin_and_options,
    print_json,
    print_table,
)
from workbench.files import atomic_write
from workbench.store import KIND_FILTERS, PREFERENCE_CHOICES, RunRecord, StoreError


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "pairs",
        parents=[common],
        help="comparison pairs for preference labelling",
        description="Make comparison pairs (two completions of one prompt) for labelling.",
    )
    pairs_sub = p.add_subparsers(dest="pairs_command", metavar="COMMAND", required=True)
    g = pairs_sub.add_parser(
        "generate",
        parents=[common],
        help="sample two different completions per prompt from a run's model",
        description="Load RUN's causal LM, take prompts from a dataset of kind 'prompts' (default: "
        "the registered one built on the same corpus options as RUN's dataset, such as "
        "synthetic-prompts for a synthetic run, with RUN's options, so the world matches), "
        "sample two different completions per prompt (each ends at a newline) and store "
        "prompts, completions and comparison pairs.",
    )
    g.add_argument("run", nargs="?", help="run id or name (a finished causal-LM run)")
    g.add_argument(
        "--from-run",
        metavar="RUN",
        help="instead of two samples of RUN: the policy run RUN's answers the reward model scores "
        "highest (of --pool prompts), each paired with its reference's answer to the same "
        "prompt, for labelling where the policy may be hacking the reward",
    )
    g.add_argument(
        "--reference", metavar="RUN", help="with --from-run: the reference (default: its parent)"
    )
    g.add_argument(
        "--reward-run",
        metavar="RUN",
        help="with --from-run: the reward model (default: the run's stage.reward_run)",
    )
    g.add_argument(
        "--pool", type=int, default=200, help="with --from-run: prompts sampled (default 200)"
    )
    g.add_argument(
        "--dataset",
        metavar="YAML",
        help="the prompts, as a dataset block of kind 'prompts', e.g. "
        "'{name: synthetic-prompts, n_preference_prompts: 50}'",
    )
    g.add_argument("--count", type=int, default=100, help="prompts to use (default 100)")
    g.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (> 0)")
    g.add_argument("--top-k", type=int, default=None, help="sample from the k likeliest tokens")
    g.add_argument("--max-tokens", type=int, default=48, help="longest completion in tokens")
    g.add_argument("--seed", type=int, default=None, help="sampling seed (default: the run's)")
    g.add_argument(
        "--allow-empty",
        action="store_true",
        help="keep pairs with an empty completion (by default such a sample is drawn again)",
    )
    g.add_argument("--json", action="store_true", help="print JSON")
    g.set_defaults(handler=cmd_pairs_generate)

    p = sub.add_parser(
        "label",
        parents=[common],
        help="label every unlabelled pair with a simulated annotator",
        description="Let a simulated annotator plugin (see `workbench plugins`) label every "
        "comparison pair it has not labelled yet. Its labels are stored under an annotator of "
        "kind 'simulated', kept apart from human labels.",
    )
    p.add_argument("--annotator", required=True, help="simulated annotator plugin name")
    p.add_argument(
        "--set",
        dest="options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option of the annotator, e.g. --set seed=3 (repeatable)",
    )
    p.add_argument(
        "--name",
        help="store the labels under this annotator name (default: the plugin's name); use one "
        "name per set of options",
    )
    p.add_argument("--limit", type=int, default=None, help="label at most this many pairs")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_label)

    p = sub.add_parser(
        "labels",
        parents=[common],
        help="export preference labels, or show labelling progress and agreement",
    )
    labels_sub = p.add_subparsers(dest="labels_command", metavar="COMMAND", required=True)
    e = labels_sub.add_parser(
        "export",
        parents=[common],
        help="write labels as TRL-format JSONL (prompt, chosen, rejected)",
        description="Write the labels that name a winner as JSON lines {prompt, chosen, "
        "rejected}; ties and 'both bad' are left out. Human labels by default; simulated ones "
        "with --kind simulated or --annotator NAME; both only with --kind all.",
    )
    which = e.add_mutually_exclusive_group()
    which.add_argument("--annotator", help="only this annotator's labels")
    which.add_argument(
        "--kind", choices=KIND_FILTERS, default=None, help="only this kind (default: human)"
    )
    e.add_argument("-o", "--output", help="file to write (default: standard output)")
    e.set_defaults(handler=cmd_labels_export)

    s = labels_sub.add_parser(
        "stats",
        parents=[common],
        help="progress, labels per annotator, and agreement between annotators",
    )
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(handler=cmd_labels_stats)


# -- pairs generate ---------------------------------------------------------------------------


def _finished_run(ctx: Context, ref: str) -> RunRecord:
    run = ctx.store.find_run(ref)
    if run.status != "succeeded":
        raise UserError(f"run {run.id} ({run.name}) is {run.status}; use a finished run")
    return run


def _pairs_from_run(args: argparse.Namespace) -> int:
    """``pairs generate --from-run RUN``: the policy's highest-proxy answers against the
    reference's, picked by the reward run's stage (:func:`workbench.operations.pairs.policy_pairs`)."""
    from workbench.operations import pairs

    if args.pool < 1:
        raise UserError(f"--pool must be at least 1, got {args.pool}")
    ctx = open_context(args.home)
    run = _finished_run(ctx, args.from_run)
    reference_ref = args.reference or run.config.get("init_from")
    if reference_ref is None:
        raise UserError(f"run {run.id} has no parent (init_from); name one with --reference")
    reward_ref = args.reward_run or (run.config.get("stage") or {}).get("reward_run")
    if reward_ref is None:
        raise UserError(f"run {run.id} names no reward_run; name one with --reward-run")
    reference, reward_run = (
        _finished_run(ctx, str(reference_ref)),
        _finished_run(ctx, str(reward_ref)),
    )
    pairs.proxy_pairs_picker(ctx.registry, reward_run)  # refuse before loading anything

    block = pairs.prompts_block(run, ctx.registry, args.dataset)
    prompts = pairs.load_prompts(block, run.seed, ctx.registry, ctx.paths, args.pool)
    seed = run.seed if args.seed is None else args.seed
    sampling = pairs.Sampling(args.temperature, None, args.max_tokens, seed)
    stored = pairs.policy_pairs(
        ctx.store,
        ctx.registry,
        ctx.paths,
        (run, reference, reward_run),
        reward_ref,
        prompts,
        sampling,
        args.count,
    )
    summary = {
        "run": run.id,
        "reference": reference.id,
        "reward_run": reward_run.id,
        "pool": stored.pool,
        "pairs": len(stored.pair_ids),
        "pair_ids": stored.pair_ids,
        "proxy": stored.proxy,
    }
    if args.json:
        print_json(summary)
        return EXIT_OK
    print(
        f"stored {len(stored.pair_ids)} comparison pair(s): run {run.id} ({run.name})'s "
        f"highest-proxy answers of {stored.pool} prompts against run {reference.id} "
        f"({reference.name})"
    )
    return EXIT_OK


def cmd_pairs_generate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from workbench.cli.evaluate_cmd import require_protocol
    from workbench.operations import pairs
    from workbench.protocols import CAUSAL_LM
    from workbench.runner import build

    if args.count < 1:
        raise UserError(f"--count must be at least 1, got {args.count}")
    if (args.run is None) == (args.from_run is None):
        raise UserError("name one run: RUN (two samples per prompt) or --from-run RUN")
    if args.from_run is not None:
        return _pairs_from_run(args)
    if args.temperature <= 0:
        raise UserError(
            f"--temperature must be above 0 (got {args.temperature}): greedy decoding gives the "
            "same completion twice"
        )
    if args.max_tokens < 1:
        raise UserError(f"--max-tokens must be at least 1, got {args.max_tokens}")
    ctx = open_context(args.home)
    run = ctx.store.find_run(args.run)
    if run.status != "succeeded":
        raise UserError(f"run {run.id} ({run.name}) is {run.status}; generate from a finished run")
    require_protocol(ctx, run, CAUSAL_LM, "pairs generate")
    run_dir = ctx.paths.run_dir(run.id)
    if not (run_dir / build.MODEL_FILE).is_file():
        raise UserError(f"run {run.id} has no saved model in {run_dir}")

    block = pairs.prompts_block(run, ctx.registry, args.dataset)
    prompts = pairs.load_prompts(block, run.seed, ctx.registry, ctx.paths, args.count)
    loaded = build.load_run(run.config, run_dir, ctx.registry)
    seed = run.seed if args.seed is None else args.seed
    stored = pairs.sample_pairs(
        ctx.store,
        ctx.registry,
        ctx.paths,
        run,
        loaded,
        prompts,
        pairs.Sampling(args.temperature, args.top_k, args.max_tokens, seed),
        allow_empty=args.allow_empty,
        progress=lambda texts: tqdm(texts, desc="sampling", unit="prompt", file=sys.stderr),
    )
    summary = {
        "run": run.id,
        "source": json.loads(stored.source),
        "prompts": stored.prompts,
        "pairs": len(stored.pair_ids),
        "skipped": stored.skipped,
        "pair_ids": stored.pair_ids,
    }
    if args.json:
        print_json(summary)
        return EXIT_OK
    print(f"stored {len(stored.pair_ids)} comparison pair(s) from run {run.id} ({run.name})")
    if stored.skipped:
        print(
            f"  {stored.skipped} prompt(s) skipped: {pairs.DISTINCT_ATTEMPTS} tries gave two "
            "equal completions or an empty one (raise --temperature, or --allow-empty)"
        )
    return EXIT_OK


# -- label ------------------------------------------------------------------------------------


def cmd_label(args: argparse.Namespace) -> int:
    from workbench.operations.annotators import ensure_simulated_annotator
    from workbench.operations.pairs import world_for_source

    ctx = open_context(args.home)
    spec, options = plugin_and_options(ctx, "annotators", args.annotator, args.options, "annotator")
    name = args.name or spec.name
    if ctx.store.count_pairs() == 0:
        raise UserError("there are no comparison pairs yet: run `workbench pairs generate RUN`")
    try:
        ensure_simulated_annotator(ctx.store, name, spec, options)
    except StoreError as exc:
        raise UserError(f"{exc} (pass --name OTHER)") from None
    annotator = spec.factory(options)
    pairs = ctx.store.unlabelled_pairs(name, limit=args.limit)
    worlds: dict[str, Any] = {}
    rows: list[tuple[int, str]] = []
    for pair in pairs:
        if pair.source not in worlds:
            worlds[pair.source] = world_for_source(pair.source, ctx.registry, ctx.paths)
        choice = annotator.label(
            pair.prompt,
            pair.completion_a,
            pair.completion_b,
            pair.properties,
            worlds[pair.source],
        )
        if choice not in PREFERENCE_CHOICES:
            raise UserError(
                f"annotator {spec.name!r} answered {choice!r} for pair {pair.id}; expected one "
                f"of {', '.join(PREFERENCE_CHOICES)}"
            )
        rows.append((pair.id, choice))
    ctx.store.label_many(name, rows)
    counts = Counter(choice for _, choice in rows)
    progress = ctx.store.progress(name)
    if args.json:
        print_json(
            {
                "annotator": name,
                "plugin": spec.name,
                "labelled": len(rows),
                "choices": {c: counts.get(c, 0) for c in PREFERENCE_CHOICES},
                "progress": {"labelled": progress.labelled, "total": progress.total},
            }
        )
        return EXIT_OK
    shown = ", ".join(f"{c} {counts.get(c, 0)}" for c in PREFERENCE_CHOICES)
    print(f"{name} labelled {len(rows)} pair(s): {shown}")
    print(f"  progress {progress.labelled}/{progress.total}")
    return EXIT_OK


# -- labels export / stats --------------------------------------------------------------------


def cmd_labels_export(args: argparse.Namespace) -> int:
    from workbench.operations.labels import trl_export

    ctx = open_context(args.home)
    exported = trl_export(ctx.store, args.annotator, args.kind)
    text, written, dropped = exported.text, exported.written, exported.dropped
    which = f"annotator {args.annotator}" if args.annotator else f"kind {args.kind or 'human'}"
    if args.output:
        path = Path(args.output).expanduser()
        atomic_write(path, text, fsync=True)
        where = str(path)
    else:
        sys.stdout.write(text)
        where = "standard output"
    note = f"wrote {written} preference pair(s) ({which}) to {where}"
    if dropped:
        note += f"; {dropped} tie / both-bad label(s) left out"
    if not written:
        note += "; nothing matched (label pairs, or choose another --kind or --annotator)"
    print(note, file=sys.stderr)
    return EXIT_OK


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def cmd_labels_stats(args: argparse.Namespace) -> int:
    ctx = open_context(args.home)
    total = ctx.store.count_pairs()
    stats = ctx.store.annotator_stats()
    agreements = ctx.store.agreements()
    if args.json:
        print_json(
            {
                "pairs": total,
                "annotators": [
                    {
                        "name": s.name,
                        "kind": s.kind,
                        "plugin": s.plugin,
                        "labelled": s.labelled,
                        "remaining": total - s.labelled,
                        "choices": s.choices,
                    }
                    for s in stats
                ],
                "agreement": [
                    {
                        "annotator_a": a.annotator_a,
                        "annotator_b": a.annotator_b,
                        "both_labelled": a.overlap,
                        "agreed": a.agreed,
                        "share": a.share,
                        "kappa": a.kappa,
                    }
                    for a in agreements
                ],
            }
        )
        return EXIT_OK
    print(f"comparison pairs: {total}")
    if stats:
        print()
        rows: list[Sequence[Any]] = [
            [
                s.name,
                s.kind,
                s.plugin or "",
                f"{s.labelled}/{total}",
                *(s.choices[c] for c in PREFERENCE_CHOICES),
            ]
            for s in stats
        ]
        print_table(["annotator", "kind", "plugin", "labelled", *PREFERENCE_CHOICES], rows)
    if agreements:
        print()
        print_table(
            ["annotator A", "annotator B", "both labelled", "agree", "kappa"],
            [
                [a.annotator_a, a.annotator_b, a.overlap, _fmt(a.share), _fmt(a.kappa)]
                for a in agreements
            ],
        )
    elif len(stats) > 1:
        print("\nno two annotators have labelled the same pair yet")
    return EXIT_OK
