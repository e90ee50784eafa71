"""``workbench evaluate RUN EVALUATION``: run a registered evaluation on a finished run's model.

The run's tokenizer, model weights and dataset are rebuilt from its stored config; the
evaluation's options come from ``--set key=value`` and are validated by its own Config. The
result is stored with the run (``workbench show RUN`` lists it) and printed.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import Any

from workbench.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    Context,
    UserError,
    open_context,
    print_json,
)
from workbench.config import apply_overrides, validate_options
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
    if not protocol:
        return
    try:
        arch = ctx.registry.architecture(run.architecture)
    except UnknownPluginError as exc:
        raise UserError(f"run {run.id}: {exc}") from None
    if protocol not in arch.protocols:
        implemented = ", ".join(arch.protocols) or "none"
        raise UserError(
            f"{what} needs a {protocol!r} model; run {run.id}'s architecture {arch.name!r} "
            f"implements: {implemented}"
        )


def cmd_evaluate(args: argparse.Namespace) -> int:
    from workbench.runner import build
    from workbench.specs import DatasetContext, EvaluationContext, RunInfo

    ctx = open_context(args.home)
    run = ctx.store.find_run(args.run)
    try:
        spec = ctx.registry.evaluation(args.evaluation)
    except UnknownPluginError as exc:
        raise UserError(str(exc)) from None
    options = validate_options(spec, apply_overrides({}, args.options), "evaluation")
    require_protocol(ctx, run, spec.requires, f"evaluation {spec.name!r}")

    run_dir = ctx.paths.run_dir(run.id)
    loaded = build.load_run(run.config, run_dir, ctx.registry)
    resolved = loaded.resolved
    dataset_block: dict[str, Any] | None = None
    if args.dataset:
        # Only the dataset block is validated: an evaluation may score a run on data of another
        # kind than its stage trained on (a DPO run on prompts, say).
        block = apply_overrides({}, [f"dataset={args.dataset}"])["dataset"]
        if not isinstance(block, dict) or "name" not in block:
            raise UserError("--dataset must be a mapping with a name, e.g. '{name: synthetic}'")
        try:
            dataset_spec = ctx.registry.dataset(str(block["name"]))
        except UnknownPluginError as exc:
            raise UserError(f"--dataset: {exc}") from None
        dataset_options = validate_options(
            dataset_spec, {k: v for k, v in block.items() if k != "name"}, "dataset"
        )
        dataset = dataset_spec.factory(
            dataset_options,
            DatasetContext(cache_dir=ctx.paths.cache, seed=run.seed, home=ctx.paths.home),
        )
        dataset_block = {"name": dataset_spec.name, **dataset_options.model_dump(mode="json")}
    else:
        dataset = build.build_dataset(resolved, ctx.registry, ctx.paths)
    info = RunInfo(id=run.id, name=run.name, seed=run.seed, run_dir=run_dir, home=ctx.paths.home)

    def log_sample(step: int, prompt: str, text: str) -> None:
        # Evaluation samples are stored with the run, at the step the run ended.
        ctx.store.add_sample(run.id, step=run.step, prompt=prompt, text=text)

    items: list[dict[str, Any]] = []
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, desc=spec.name, unit="item", file=sys.stderr, leave=False)
        bar.total = total
        bar.update(done - bar.n)

    config = options.model_dump(mode="json")
    if dataset_block is not None:
        config["dataset"] = dataset_block
    try:
        metrics: dict[str, Any] = dict(
            spec.factory(
                EvaluationContext(
                    config=options,
                    run=info,
                    model=loaded.model,
                    tokenizer=loaded.tokenizer,
                    dataset=dataset,
                    log_sample=log_sample,
                    log_items=items.extend,
                    heads=loaded.heads,
                    run_config=loaded.resolved.to_dict(),
                    load_run=build.run_loader(ctx.store, ctx.paths, ctx.registry),
                    progress=progress,
                )
            )
        )
    except Exception as exc:
        if bar is not None:
            bar.close()
        ctx.store.add_evaluation(
            run.id,
            name=spec.name,
            config=config,
            metrics={},
            status="failed",
            error=traceback.format_exc(),
        )
        print(f"error: evaluation {spec.name!r} failed: {exc}", file=sys.stderr)
        # A ValueError is the evaluation refusing its input (e.g. an empty split).
        return EXIT_BAD_INPUT if isinstance(exc, ValueError) else EXIT_FAILED
    if bar is not None:
        bar.close()
    metrics = {key: float(value) for key, value in metrics.items()}
    evaluation_id = ctx.store.add_evaluation(
        run.id, name=spec.name, config=config, metrics=metrics, items=items
    )
    if args.json:
        print_json(
            {
                "id": evaluation_id,
                "run": run.id,
                "evaluation": spec.name,
                "config": config,
                "metrics": metrics,
            }
        )
        return EXIT_OK
    print(f"evaluation {evaluation_id} of run {run.id} ({run.name}): {spec.name}")
    width = max((len(key) for key in metrics), default=0)
    for key, value in metrics.items():
        print(f"  {key:<{width}}  {value:.4f}")
    return EXIT_OK
