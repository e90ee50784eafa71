"""``workbench delete``: delete a stopped run with the dashboard's rules
(:mod:`workbench.runner.deletion`): it asks first unless ``--yes``, and refuses an active run or a
run that others start from (``init_from``)."""

from __future__ import annotations

import argparse
import sys

from workbench.cli.common import EXIT_FAILED, EXIT_OK, UserError, open_context
from workbench.runner import deletion


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "delete",
        parents=[common],
        help="delete a stopped run with its metrics, samples and files",
        description="Delete RUN from the store with its metrics, samples, evaluations and its "
        "folder under artifacts/runs/. Refused while the run is queued or running (cancel it "
        "first) and while other runs start from it (delete those first). Asks for "
        "confirmation unless --yes.",
    )
    p.add_argument("run", help="run id or name")
    p.add_argument("-y", "--yes", action="store_true", help="delete without asking")
    p.set_defaults(handler=cmd_delete)


def cmd_delete(args: argparse.Namespace) -> int:
    ctx = open_context(args.home)
    run = ctx.store.find_run(args.run)
    try:
        deletion.check_deletable(ctx.store, run.id)
    except deletion.DeleteRefused as exc:
        raise UserError(str(exc)) from None
    if not args.yes and not _confirmed(
        f"Delete run {run.id} ({run.name}, {run.status}) with its metrics, samples and files "
        f"under {ctx.paths.run_dir(run.id)}? This cannot be undone. [y/N] "
    ):
        print(f"run {run.id} not deleted", file=sys.stderr)
        return EXIT_FAILED
    try:
        deletion.delete_run(ctx.store, ctx.paths, run.id)
    except deletion.DeleteRefused as exc:
        raise UserError(str(exc)) from None
    print(f"run {run.id} deleted")
    return EXIT_OK


def _confirmed(question: str) -> bool:
    """Ask on the terminal; no answer (end of input) is a no."""
    print(question, end="", file=sys.stderr, flush=True)
    try:
        answer = input()
    except EOFError:
        print(file=sys.stderr)
        return False
    return answer.strip().lower() in ("y", "yes")
