"""``workbench plugins``: what is loaded, with versions and specs, and what failed and why."""

from __future__ import annotations

import argparse

from workbench.cli.common import EXIT_OK, print_json
from workbench.registry import KINDS, load_registry


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("plugins", parents=[common], help="list loaded and failed plugins")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_plugins)


def cmd_plugins(args: argparse.Namespace) -> int:
    registry = load_registry()
    if args.json:
        print_json(registry.to_json())
        return EXIT_OK
    for plugin in registry.plugins:
        print(f"{plugin.name} {plugin.version or ''}".rstrip())
        for kind in KINDS:
            for name in plugin.specs[kind]:
                spec = registry.get(kind, name)
                print(f"  {kind[:-1]:<13} {name:<14} {spec.summary}")
    for failure in registry.failed:
        print(f"FAILED {failure.name}: {failure.error.strip().splitlines()[-1]}")
    return EXIT_OK
