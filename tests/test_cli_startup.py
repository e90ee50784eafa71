"""The command line starts fast: only the module of the command being run is imported, so
``--version``, ``--help`` and commands that need no model never import torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from workbench.cli import COMMANDS, _command_of, build_parser


def imported_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["runs", "--help"]])
def test_version_and_help_do_not_import_torch(args):
    code = f"from workbench.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass"
    modules = imported_after(code)
    assert "workbench.cli" in modules
    assert "torch" not in modules and "pytorch_lightning" not in modules
    if args[0] == "--version":
        assert "sqlalchemy" not in modules and "workbench.cli.run_cmd" not in modules


def test_the_command_table_matches_the_modules():
    """Each stub's help is its real command's help, and every real command is in the table."""
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    real = {action.dest: action.help for action in sub._choices_actions}
    assert real == {name: help_text for name, (_, help_text) in COMMANDS.items()}


def test_the_command_word_is_found_past_home():
    assert _command_of(["--home", "/x", "runs", "--json"]) == "runs"
    assert _command_of(["--home=/x", "show", "1"]) == "show"
    assert _command_of(["--version"]) is None
    assert _command_of([]) is None


@pytest.mark.parametrize("args", [["runs"], ["show", "1"], ["cancel", "1"]])
def test_commands_that_need_no_model_do_not_import_torch(tmp_path, args):
    code = f"from workbench.cli import main\nmain(['--home', {str(tmp_path)!r}, *{args!r}])"
    modules = imported_after(code)
    assert "workbench.cli.common" in modules  # the command ran
    assert "torch" not in modules
