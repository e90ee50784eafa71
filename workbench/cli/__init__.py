"""The ``workbench`` command line.

Exit codes: 0 success; 1 the run failed (or was interrupted); 2 bad input (a config, a run
reference or an argument that cannot be used); 130 the run was cancelled.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from workbench import __version__
from workbench.cli import (
    attention_cmd,
    db_cmd,
    evaluate_cmd,
    export_cmd,
    label_cmd,
    plugins_cmd,
    run_cmd,
    runs_cmd,
    ui_cmd,
    users_cmd,
)
from workbench.cli.common import EXIT_BAD_INPUT, UserError
from workbench.config import ConfigError
from workbench.registry import UnknownPluginError
from workbench.store import StoreError


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--home",
        default=argparse.SUPPRESS,
        help="workbench data folder (default: $WORKBENCH_HOME or ~/.workbench)",
    )
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Train, compare and label small models from the Transformer to ChatGPT.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (
        run_cmd,
        runs_cmd,
        evaluate_cmd,
        export_cmd,
        attention_cmd,
        plugins_cmd,
        db_cmd,
        ui_cmd,
        users_cmd,
        label_cmd,
    ):
        module.add_commands(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "home"):
        args.home = None
    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:
        # Output piped into `head` or similar: stop quietly, as Unix tools do.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except (ConfigError, UnknownPluginError) as exc:
        print(f"error: invalid config\n{_indent(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (UserError, StoreError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


if __name__ == "__main__":
    sys.exit(main())
