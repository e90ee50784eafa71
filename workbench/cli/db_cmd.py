"""``workbench db upgrade`` and ``workbench db check``: the database schema and its migrations."""

from __future__ import annotations

import argparse
import sys

from workbench.cli.common import EXIT_OK
from workbench.paths import resolve_home
from workbench.store import db


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("db", parents=[common], help="database maintenance")
    db_sub = p.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    up = db_sub.add_parser("upgrade", parents=[common], help="apply all migrations")
    up.set_defaults(handler=cmd_upgrade)
    check = db_sub.add_parser(
        "check", parents=[common], help="exit 1 if the models and the migrations differ"
    )
    check.set_defaults(handler=cmd_check)


def _engine(args: argparse.Namespace):
    paths = resolve_home(args.home).ensure()
    return db.make_engine(paths.database)


def cmd_upgrade(args: argparse.Namespace) -> int:
    engine = _engine(args)
    db.upgrade(engine)
    print(f"database at revision {db.current_revision(engine)}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    engine = _engine(args)
    db.upgrade(engine)
    diff = db.check(engine)
    if diff:
        print(f"models and migrations differ:\n{diff}", file=sys.stderr)
        return 1
    print("models match migrations")
    return EXIT_OK
