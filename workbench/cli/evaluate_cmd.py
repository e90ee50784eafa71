"""``workbench evaluate RUN EVALUATION``: run a registered evaluation on a finished run's model.

The run's tokenizer, model weights and dataset are rebuilt from its stored config; the
evaluation's options come from ``--set key=value`` and are validated by its own Config. The
result is stored with the run (``workbench show RUN`` lists it) and printed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbench.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    Context,
    UserError,
    open_context,
    plugin_and_options,
    print_json,
)
from workbench.registry import UnknownPluginError
from workbench.store import RunRecord


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "evaluate",
        parents=[common],
        help="run an evaluation on a finished run",
        description="Rebuild RUN's model, tokenizer and dataset, run EVALUATION on them, store "
        "the metrics with the run and print them.",
    )
    p.add_argument("run", help="run id or name")
    p.add_argument("evaluation", help="evaluation name (see `workbench plugins`)")
    p.add_argument(
        "--set",
        dest="options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option of the evaluation, e.g. --set split=val (repeatable)",
    )
    p.add_argument(
        "--dataset",
        metavar="YAML",
        help="evaluate on another dataset instead of the run's own, given as a dataset block, "
        "e.g. --dataset '{name: text-file, path: other.txt}'",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_evaluate)


def require_protocol(ctx: Context, run: RunRecord, protocol: str, what: str) -> None:
    """Refuse (exit 2) a run whose architecture does not implement ``protocol``."""
    from workbench.operations.evaluations import protocol_problem

    problem = protocol_problem(ctx.registry, run, protocol, what)
    if problem is not None:
        raise UserError(problem)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from workbench.operations.datasets import build_dataset_block, parse_dataset_block
    from workbench.operations.evaluations import evaluate_and_store
    from workbench.runner import build

    ctx = open_context(args.home)
    run = ctx.store.find_run(args.run)
    spec, options = plugin_and_options(
        ctx, "evaluations", args.evaluation, args.options, "evaluation"
    )
    require_protocol(ctx, run, spec.requires, f"evaluation {spec.name!r}")

    loaded = build.load_run(run.config, ctx.paths.run_dir(run.id), ctx.registry)
    config = options.model_dump(mode="json")
    if args.dataset:
        # Only the dataset block is validated: an evaluation may score a run on data of another
        # kind than its stage trained on (a DPO run on prompts, say).
        block = parse_dataset_block(args.dataset)
        try:
            built = build_dataset_block(block, run.seed, ctx.registry, ctx.paths)
        except UnknownPluginError as exc:
            raise UserError(f"--dataset: {exc}") from None
        dataset = built.dataset
        config["dataset"] = built.block
    else:
        dataset = build.build_dataset(loaded.resolved, ctx.registry, ctx.paths)

    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, desc=spec.name, unit="item", file=sys.stderr, leave=False)
        bar.total = total
        bar.update(done - bar.n)

    outcome = evaluate_and_store(
        spec,
        options,
        run,
        loaded,
        lambda: dataset,
        store=ctx.store,
        paths=ctx.paths,
        registry=ctx.registry,
        stored_config=config,
        progress=progress,
    )
    if bar is not None:
        bar.close()
    if outcome.error is not None:
        print(f"error: evaluation {spec.name!r} failed: {outcome.error}", file=sys.stderr)
        # A ValueError is the evaluation refusing its input (e.g. an empty split).
        return EXIT_BAD_INPUT if isinstance(outcome.error, ValueError) else EXIT_FAILED
    metrics = outcome.metrics
    if args.json:
        print_json(
            {
                "id": outcome.evaluation_id,
                "run": run.id,
                "evaluation": spec.name,
                "config": config,
                "metrics": metrics,
            }
        )
        return EXIT_OK
    print(f"evaluation {outcome.evaluation_id} of run {run.id} ({run.name}): {spec.name}")
    width = max((len(key) for key in metrics), default=0)
    for key, value in metrics.items():
        print(f"  {key:<{width}}  {value:.4f}")
    return EXIT_OK
