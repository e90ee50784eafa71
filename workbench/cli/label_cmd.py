"""Preference labelling from the command line: ``pairs generate``, ``label``, ``labels export``
and ``labels stats``.

``pairs generate RUN`` samples two different completions per prompt from a finished causal-LM
run and stores prompts, completions and comparison pairs. ``label --annotator NAME`` lets a
simulated annotator plugin label every pair it has not labelled yet. ``labels export`` writes
labels that name a winner as TRL-format JSONL, and ``labels stats`` prints progress, per-annotator
counts and the agreement between annotators. People label in the dashboard's Label tab.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from workbench.cli.common import (
    EXIT_OK,
    Context,
    UserError,
    open_context,
    print_json,
    print_table,
)
from workbench.config import apply_overrides, validate_options
from workbench.files import atomic_write
from workbench.paths import Paths
from workbench.registry import Registry, UnknownPluginError
from workbench.store import KIND_FILTERS, PREFERENCE_CHOICES, RunRecord, StoreError

PROMPTS_KIND = "prompts"
"""The dataset kind ``pairs generate`` takes its prompts from."""
STOP = "\n"
DISTINCT_ATTEMPTS = 5
"""Samples of a pair drawn again when both completions come out the same, before giving up."""


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


def prompts_block(run: RunRecord, registry: Registry, dataset_yaml: str | None) -> dict[str, Any]:
    """The prompts dataset block: ``--dataset`` as given, or else :func:`default_prompts_block`."""
    if dataset_yaml:
        block = apply_overrides({}, [f"dataset={dataset_yaml}"])["dataset"]
        if not isinstance(block, dict) or not isinstance(block.get("name"), str):
            raise UserError(
                "--dataset must be a mapping with a name, e.g. '{name: synthetic-prompts}'"
            )
        return block
    return default_prompts_block(run, registry)


def default_prompts_block(run: RunRecord, registry: Registry) -> dict[str, Any]:
    """A registered dataset of kind ``prompts``, chosen by what it is rather than by its name.

    One built on the same corpus options as RUN's dataset (its options model shares a base with
    that dataset's: ``synthetic-prompts`` and ``synthetic``, ``synthetic-task`` or
    ``synthetic-preferences`` all extend the synthetic corpus's) comes first, with the options of
    RUN's dataset it accepts, so that the world is the one RUN read; otherwise the first one
    registered (built-in plugins register first), with its defaults.
    """
    candidates = [
        spec for spec in registry.specs["datasets"].values() if spec.dataset_kind == PROMPTS_KIND
    ]
    if not candidates:
        raise UserError(
            f"no dataset of kind {PROMPTS_KIND!r} is registered (is the text plugin disabled? see "
            "`workbench plugins`); name one with --dataset"
        )
    run_dataset = dict(run.config.get("dataset") or {})
    run_spec = registry.specs["datasets"].get(str(run_dataset.pop("name", "")))
    for spec in candidates:
        if run_spec is not None and _same_corpus(spec.config, run_spec.config):
            fields = spec.config.model_fields
            return {"name": spec.name, **{k: v for k, v in run_dataset.items() if k in fields}}
    return {"name": candidates[0].name}


def _same_corpus(a: type[BaseModel], b: type[BaseModel]) -> bool:
    """Whether two datasets' options models extend one options model that has fields (the same
    corpus options, so the same values name the same generated data)."""
    shared = set(a.__mro__) & set(b.__mro__)
    return any(issubclass(c, BaseModel) and c.model_fields for c in shared)


def load_prompts(
    block: dict[str, Any], seed: int, registry: Registry, paths: Paths
) -> tuple[Any, str]:
    """The prompt set a dataset block gives, and the ``source`` string recorded with each prompt
    (the block with every option resolved, and the seed: enough to load it again)."""
    from workbench.specs import DatasetContext

    try:
        spec = registry.dataset(block["name"])
    except UnknownPluginError as exc:
        raise UserError(str(exc)) from None
    if spec.dataset_kind != "prompts":
        raise UserError(
            f"dataset {spec.name!r} is of kind {spec.dataset_kind!r}; pairs need a dataset of "
            "kind 'prompts' (e.g. synthetic-prompts)"
        )
    options = validate_options(spec, {k: v for k, v in block.items() if k != "name"}, "dataset")
    dataset = spec.factory(
        options, DatasetContext(cache_dir=paths.cache, seed=seed, home=paths.home)
    )
    resolved = {"name": spec.name, **options.model_dump(mode="json")}
    source = json.dumps({"dataset": resolved, "seed": seed}, sort_keys=True)
    return dataset, source


def world_for_source(source: str, registry: Registry, paths: Paths) -> Any:
    """The synthetic world behind a prompt's ``source`` (as :func:`load_prompts` writes it), or
    None when the source names no dataset whose extras hold a world."""
    from workbench.specs import DatasetContext

    try:
        recorded = json.loads(source)
        block = dict(recorded["dataset"])
        seed = int(recorded["seed"])
        spec = registry.dataset(block.pop("name"))
    except (ValueError, TypeError, KeyError, UnknownPluginError):
        return None
    options = validate_options(spec, block, "dataset")
    dataset = spec.factory(
        options, DatasetContext(cache_dir=paths.cache, seed=seed, home=paths.home)
    )
    return (getattr(dataset, "extras", None) or {}).get("world")


def _finished_run(ctx: Context, ref: str) -> RunRecord:
    run = ctx.store.find_run(ref)
    if run.status != "succeeded":
        raise UserError(f"run {run.id} ({run.name}) is {run.status}; use a finished run")
    return run


def proxy_pairs_picker(registry: Registry, reward_run: RunRecord) -> Callable[..., Any]:
    """The ``proxy_pairs`` of the stage that trained ``reward_run``, else of the first registered
    stage that offers one (see :class:`workbench.specs.StageSpec`)."""
    stages = registry.specs["stages"]
    own = stages.get(str((reward_run.config.get("stage") or {}).get("name", "")))
    for spec in (own, *stages.values()):
        if spec is not None and spec.proxy_pairs is not None:
            return spec.proxy_pairs
    raise UserError(
        "--from-run needs a stage that picks proxy pairs (the rlhf plugin's reward-model); "
        "see `workbench plugins`"
    )


def _pairs_from_run(args: argparse.Namespace) -> int:
    """``pairs generate --from-run RUN``: the policy's highest-proxy answers against the
    reference's, picked by the reward run's stage (its ``proxy_pairs``)."""
    from workbench.runner import build
    from workbench.specs import ProxyPairsContext

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
    pick = proxy_pairs_picker(ctx.registry, reward_run)

    block = prompts_block(run, ctx.registry, args.dataset)
    prompts, source = load_prompts(block, run.seed, ctx.registry, ctx.paths)
    texts = [*prompts.train, *prompts.val][: args.pool]
    properties = list(prompts.properties) or [{} for _ in texts]

    def load(record: RunRecord) -> Any:
        return build.load_run(record.config, ctx.paths.run_dir(record.id), ctx.registry)

    policy, ref_model = load(run), load(reference)
    seed = run.seed if args.seed is None else args.seed
    try:
        picked = pick(
            ProxyPairsContext(
                policy=policy,
                reference=ref_model,
                reward=load(reward_run),
                reward_ref=reward_ref,
                prompts=texts,
                count=args.count,
                seed=seed,
                max_new_tokens=args.max_tokens,
                temperature=args.temperature,
            )
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    generation = {
        "temperature": args.temperature,
        "top_k": None,
        "max_new_tokens": args.max_tokens,
        "stop": STOP,
        "seed": seed,
    }
    prompt_ids = ctx.store.add_prompts(
        (texts[p.index], source, properties[p.index]) for p in picked
    )
    policy_ids = ctx.store.add_completions(
        [
            (pid, p.policy, {**generation, "step": run.step, "proxy": p.proxy})
            for pid, p in zip(prompt_ids, picked, strict=True)
        ],
        run_id=run.id,
    )
    reference_ids = ctx.store.add_completions(
        [
            (pid, p.reference, {**generation, "step": reference.step, "proxy": p.reference_proxy})
            for pid, p in zip(prompt_ids, picked, strict=True)
        ],
        run_id=reference.id,
    )
    pair_ids = ctx.store.add_pairs(zip(policy_ids, reference_ids, strict=True))
    summary = {
        "run": run.id,
        "reference": reference.id,
        "reward_run": reward_run.id,
        "pool": len(texts),
        "pairs": len(pair_ids),
        "pair_ids": pair_ids,
        "proxy": [p.proxy for p in picked],
    }
    if args.json:
        print_json(summary)
        return EXIT_OK
    print(
        f"stored {len(pair_ids)} comparison pair(s): run {run.id} ({run.name})'s highest-proxy "
        f"answers of {len(texts)} prompts against run {reference.id} ({reference.name})"
    )
    return EXIT_OK


def _sampler(loaded: Any, args: argparse.Namespace, seed: int) -> Callable[[str], list[str]]:
    """``sample(prompt) -> [text, text]``: two completions, each cut at the first newline."""
    import torch

    model, tokenizer = loaded.model, loaded.tokenizer
    block = int(getattr(model, "block_size", 0)) or None
    generator = torch.Generator().manual_seed(seed)
    try:
        stop_ids = [list(tokenizer.encode(STOP))]
    except (KeyError, ValueError):
        stop_ids = []  # no newline in the vocabulary: cut the decoded text instead

    def sample(prompt: str) -> list[str]:
        try:
            context = list(tokenizer.encode(prompt))
        except (KeyError, ValueError) as exc:
            raise UserError(
                f"prompt {prompt!r} cannot be encoded by the run's tokenizer ({exc}); generate "
                "from a run trained on the prompts' corpus"
            ) from None
        if block:
            context = context[-block:]
        idx = torch.tensor([context, context], dtype=torch.long)
        with torch.no_grad():
            rows = model.generate(
                idx,
                args.max_tokens,
                temperature=args.temperature,
                top_k=args.top_k,
                stop_sequences=stop_ids or None,
                generator=generator,
            )
        return [tokenizer.decode(row).split(STOP, 1)[0] for row in rows]

    return sample


def cmd_pairs_generate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from workbench.cli.evaluate_cmd import require_protocol
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

    block = prompts_block(run, ctx.registry, args.dataset)
    prompts, source = load_prompts(block, run.seed, ctx.registry, ctx.paths)
    texts = [*prompts.train, *prompts.val][: args.count]
    properties = list(prompts.properties) or [{} for _ in texts]

    loaded = build.load_run(run.config, run_dir, ctx.registry)
    seed = run.seed if args.seed is None else args.seed
    sample = _sampler(loaded, args, seed)
    generation = {
        "temperature": args.temperature,
        "top_k": args.top_k,
        "max_new_tokens": args.max_tokens,
        "stop": STOP,
        "seed": seed,
        "step": run.step,
    }
    kept: list[tuple[int, list[str]]] = []
    skipped = 0
    for index, prompt in enumerate(tqdm(texts, desc="sampling", unit="prompt", file=sys.stderr)):
        for _ in range(DISTINCT_ATTEMPTS):
            first, second = sample(prompt)
            empty = not (first.strip() and second.strip())
            if first != second and (args.allow_empty or not empty):
                kept.append((index, [first, second]))
                break
        else:
            skipped += 1

    prompt_ids = ctx.store.add_prompts(
        (texts[index], source, properties[index]) for index, _ in kept
    )
    completion_ids = ctx.store.add_completions(
        [
            (prompt_id, text, generation)
            for prompt_id, (_, pair) in zip(prompt_ids, kept, strict=True)
            for text in pair
        ],
        run_id=run.id,
    )
    pair_ids = ctx.store.add_pairs(
        (completion_ids[i], completion_ids[i + 1]) for i in range(0, len(completion_ids), 2)
    )
    summary = {
        "run": run.id,
        "source": json.loads(source),
        "prompts": len(texts),
        "pairs": len(pair_ids),
        "skipped": skipped,
        "pair_ids": pair_ids,
    }
    if args.json:
        print_json(summary)
        return EXIT_OK
    print(f"stored {len(pair_ids)} comparison pair(s) from run {run.id} ({run.name})")
    if skipped:
        print(
            f"  {skipped} prompt(s) skipped: {DISTINCT_ATTEMPTS} tries gave two equal "
            "completions or an empty one (raise --temperature, or --allow-empty)"
        )
    return EXIT_OK


# -- label ------------------------------------------------------------------------------------


def cmd_label(args: argparse.Namespace) -> int:
    ctx = open_context(args.home)
    try:
        spec = ctx.registry.annotator(args.annotator)
    except UnknownPluginError as exc:
        raise UserError(str(exc)) from None
    options = validate_options(spec, apply_overrides({}, args.options), "annotator")
    name = args.name or spec.name
    if ctx.store.count_pairs() == 0:
        raise UserError("there are no comparison pairs yet: run `workbench pairs generate RUN`")
    try:
        ctx.store.ensure_annotator(
            name, "simulated", plugin=spec.name, config=options.model_dump(mode="json")
        )
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


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` durably, so a reader never sees half a file."""
    atomic_write(path, text, fsync=True)


def export_jsonl(ctx: Context, annotator: str | None, kind: str | None) -> tuple[str, int, int]:
    """The JSONL text of the matching labels, how many lines, and how many labels were left out
    for naming no winner."""
    examples = ctx.store.preference_examples(annotator=annotator, kind=kind)
    if annotator is not None:
        matching = len(ctx.store.labels(annotator=annotator))
    else:
        wanted = kind or "human"
        matching = sum(s.labelled for s in ctx.store.annotator_stats() if wanted in ("all", s.kind))
    text = "".join(json.dumps(e.trl(), ensure_ascii=False) + "\n" for e in examples)
    return text, len(examples), matching - len(examples)


def cmd_labels_export(args: argparse.Namespace) -> int:
    ctx = open_context(args.home)
    text, written, dropped = export_jsonl(ctx, args.annotator, args.kind)
    which = f"annotator {args.annotator}" if args.annotator else f"kind {args.kind or 'human'}"
    if args.output:
        path = Path(args.output).expanduser()
        write_atomic(path, text)
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
