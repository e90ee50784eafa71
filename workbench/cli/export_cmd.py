"""``workbench export RUN --format FORMAT -o DIR``: write a finished run in another library's format.

Formats are plugins (``register_exporters``); the built-in ``hf`` format (plugin ``hf``) writes a
Hugging Face ``transformers`` model folder. An exporter refuses a run it has no mapping for with a
message naming what cannot be mapped (exit 2).
"""

from __future__ import annotations

import argparse

from workbench.cli.common import EXIT_OK, UserError, open_context, plugin_and_options


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "export",
        parents=[common],
        help="write a finished run's model and tokenizer in another format (e.g. Hugging Face)",
        description="Rebuild RUN's model, tokenizer and heads and write them to DIR in FORMAT "
        "(`workbench plugins` lists the formats; `hf` is a transformers model folder).",
    )
    p.add_argument("run", help="run id or name")
    p.add_argument("--format", required=True, metavar="FORMAT", help="export format, e.g. hf")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write into")
    p.add_argument(
        "--set",
        dest="options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option of the export format (repeatable)",
    )
    p.add_argument("--force", action="store_true", help="write into DIR even when it is not empty")
    p.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from workbench.runner import build
    from workbench.specs import ExportContext, RunInfo

    ctx = open_context(args.home)
    run = ctx.store.find_run(args.run)
    spec, options = plugin_and_options(ctx, "exporters", args.format, args.options, "export")
    out_dir = Path(args.output).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"-o {out_dir}: exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not args.force:
        raise UserError(f"-o {out_dir}: the folder is not empty (use --force to write into it)")
    if run.status != "succeeded":
        raise UserError(f"run {run.id} has status {run.status!r}; only a finished run exports")
    run_dir = ctx.paths.run_dir(run.id)
    loaded = build.load_run(run.config, run_dir, ctx.registry)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    info = RunInfo(id=run.id, name=run.name, seed=run.seed, run_dir=run_dir, home=ctx.paths.home)
    try:
        written = spec.factory(
            ExportContext(
                config=options,
                run=info,
                run_config=loaded.resolved.to_dict(),
                model=loaded.model,
                tokenizer=loaded.tokenizer,
                heads=loaded.heads,
                out_dir=out_dir,
            )
        )
    except BaseException:
        # A refused export leaves no empty folder behind.
        if created and not any(out_dir.iterdir()):
            out_dir.rmdir()
        raise
    for path in written:
        print(path)
    print(f"run {run.id} exported as {spec.name} to {out_dir}")
    return EXIT_OK
