"""Documentation stays true: every hook is documented, every CLI command is in the README."""

from __future__ import annotations

import inspect
from pathlib import Path

from workbench import hookspecs
from workbench.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def hook_names() -> list[str]:
    return [
        name
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("register_")
    ]


def test_every_hookspec_is_documented_in_the_plugin_guide():
    guide = (ROOT / "docs" / "plugins.md").read_text()
    names = hook_names()
    assert len(names) == 8
    missing = [name for name in names if f"### {name}" not in guide]
    assert not missing, f"docs/plugins.md does not document: {missing}"


def test_every_cli_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    missing = [name for name in sub.choices if f"workbench {name}" not in readme]
    assert not missing, f"README.md does not mention: {missing}"
