"""``workbench report -o FILE.html``: every claim's panel, from the stored runs, in one offline
HTML file (the Claims tab's figures, plotly inlined)."""

from __future__ import annotations

import argparse
from pathlib import Path

from workbench.cli.common import EXIT_OK, UserError, open_context


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "report",
        parents=[common],
        help="write the claims and their verdicts as one offline HTML file",
        description="Check every registered claim against the succeeded runs (or --runs) and "
        "write the panels — claim, chart, measured figure, verdict, command — as one "
        "self-contained HTML file that opens offline.",
    )
    p.add_argument("-o", "--output", required=True, help="the HTML file to write")
    p.add_argument(
        "--runs",
        nargs="+",
        metavar="RUN",
        help="judge only these runs (ids or names; default: every succeeded run)",
    )
    p.set_defaults(handler=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from workbench.claims import check_claims
    from workbench.claims.report import report_html
    from workbench.files import atomic_write

    ctx = open_context(args.home)
    run_ids = None
    if args.runs:
        run_ids = [ctx.store.find_run(ref).id for ref in args.runs]
    output = Path(args.output).expanduser()
    if output.is_dir():
        raise UserError(f"{output} is a folder; give a file name such as claims.html")
    panels = check_claims(ctx.registry, ctx.store, run_ids)
    judged = "every succeeded run" if run_ids is None else f"runs {', '.join(map(str, run_ids))}"
    page = report_html(
        panels,
        title="Workbench: the papers' claims against the runs",
        subtitle=f"Home {ctx.paths.home}; judged on {judged}.",
    )
    atomic_write(output, page, fsync=True)
    verdicts = ", ".join(f"{p.name}: {p.verdict}" for p in panels)
    print(f"wrote {output} ({len(panels)} claims: {verdicts})")
    return EXIT_OK
