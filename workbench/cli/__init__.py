"""The ``workbench`` command line.

Exit codes: 0 success; 1 the run failed (or was interrupted); 2 bad input (a config, a run
reference or an argument that cannot be used) or an unusable environment (a home that cannot be
written, a full disk, a database that is damaged or from a newer workbench: one ``error:`` line
naming the file, no traceback); 130 the run was cancelled.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from workbench import __version__

EXIT_BAD_INPUT = 2  # as workbench.cli.common.EXIT_BAD_INPUT, without importing the store

COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run_cmd", "run a config in the foreground"),
    "sweep": ("run_cmd", "run a grid or list of variants of a config"),
    "cancel": ("run_cmd", "cancel a queued or running run"),
    "resume": ("run_cmd", "continue a stopped run from its checkpoint"),
    "generate": ("run_cmd", "sample text from a finished run"),
    "runs": ("runs_cmd", "list runs, newest first"),
    "show": ("runs_cmd", "show one run"),
    "metrics": ("runs_cmd", "a run's full metric history (table, JSON or CSV)"),
    "delete": ("delete_cmd", "delete a stopped run with its metrics, samples and files"),
    "evaluate": ("evaluate_cmd", "run an evaluation on a finished run"),
    "items": ("items_cmd", "show the items an evaluation scored"),
    "export": (
        "export_cmd",
        "write a finished run's model and tokenizer in another format (e.g. Hugging Face)",
    ),
    "attention": ("attention_cmd", "save a seq2seq run's attention maps for one example as HTML"),
    "plugins": ("plugins_cmd", "list loaded and failed plugins"),
    "db": ("db_cmd", "database maintenance"),
    "ui": ("ui_cmd", "serve the dashboard (127.0.0.1 by default)"),
    "users": ("users_cmd", "manage dashboard logins"),
    "pairs": ("label_cmd", "comparison pairs for preference labelling"),
    "label": ("label_cmd", "label every unlabelled pair with a simulated annotator"),
    "labels": (
        "label_cmd",
        "export preference labels, or show labelling progress and agreement",
    ),
    "demo": ("demo_cmd", "run the whole lineage, Transformer to RLHF, in one command"),
    "report": ("report_cmd", "write the claims and their verdicts as one offline HTML file"),
}
"""Every command: the module under ``workbench.cli`` that defines it, and its one-line help.

Only the module of the command being run is imported (``workbench --version``, ``--help`` and
``workbench runs`` never import torch); the others appear as stubs with this help."""


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--home",
        default=argparse.SUPPRESS,
        help="workbench data folder (default: $WORKBENCH_HOME or ~/.workbench)",
    )
    return common


def build_parser(command: str | None = None, *, every: bool = True) -> argparse.ArgumentParser:
    """The parser: with ``command``, that command's module is loaded and the others are stubs;
    without it, every module is loaded (``every=False``: none, for ``--help``)."""
    common = _common()
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Train, compare and label small models from the Transformer to ChatGPT.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    if command is not None:
        wanted = {COMMANDS[command][0]} if command in COMMANDS else set()
    else:
        wanted = {module for module, _ in COMMANDS.values()} if every else set()
    loaded: set[str] = set()
    for name, (module_name, help_text) in COMMANDS.items():
        if module_name in wanted:
            if module_name not in loaded:
                module = importlib.import_module(f"workbench.cli.{module_name}")
                module.add_commands(sub, common)
                loaded.add(module_name)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The command word of ``argv`` (the first word that is neither an option nor --home's
    value), or None."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word == "--home":
            skip = True
        elif word.startswith("--home="):
            continue
        elif not word.startswith("-"):
            return word
        elif word in ("-h", "--help", "--version"):
            return None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    from workbench.runner import startup

    startup.mark_command_start()
    words = list(sys.argv[1:] if argv is None else argv)
    command = _command_of(words)
    parser = build_parser(command, every=False)
    args = parser.parse_args(words)
    if not hasattr(args, "home"):
        args.home = None

    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:
        # Output piped into `head` or similar: stop quietly, as Unix tools do.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except Exception as exc:
        code = _report(exc)
        if code is None:
            raise
        return code


def command_line() -> NoReturn:
    """The ``workbench`` program: :func:`main`, then the process ends without the interpreter's
    slow teardown (:func:`~workbench.runner.exiting.exit_process`)."""
    code = main()
    from workbench.runner.exiting import exit_process

    exit_process(code)


def _report(exc: Exception) -> int | None:
    """Print the one ``error:`` line of bad input or an unusable environment and return the exit
    code; None for any other error (raised with its traceback). The error classes are imported
    here, not before the command runs: ``workbench run`` starts its worker before it imports the
    store or the config."""
    from workbench.cli.common import UserError
    from workbench.config import ConfigError
    from workbench.environment import explain_os_error
    from workbench.registry import UnknownPluginError
    from workbench.store import StoreError

    if isinstance(exc, (ConfigError, UnknownPluginError)):
        print(f"error: invalid config\n{_indent(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(exc, (UserError, StoreError, ValueError, FileNotFoundError)):
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(exc, OSError):
        message = explain_os_error(exc)
        if message is None:
            return None
        print(f"error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return None


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


if __name__ == "__main__":
    command_line()
