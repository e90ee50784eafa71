"""``workbench plugins``: what is loaded, with versions and specs, and what failed and why."""

from __future__ import annotations

import argparse
import sys

from workbench.cli.common import EXIT_OK, UserError, print_json
from workbench.plugin_docs import options_markdown, registry_json
from workbench.registry import KINDS, load_registry


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "plugins",
        parents=[common],
        help="list loaded and failed plugins",
        description="List the loaded plugins with their specs, and the plugins that failed to "
        "load with the reason. --json adds every spec's protocols, presets and config JSON "
        "schema; --markdown prints the options of every spec as docs/plugin-options.md has "
        "them.",
    )
    formats = p.add_mutually_exclusive_group()
    formats.add_argument(
        "--json",
        action="store_true",
        help="print JSON: plugins, failures, and every spec with its config JSON schema",
    )
    formats.add_argument(
        "--markdown",
        action="store_true",
        help="print every spec's options as Markdown tables, generated from their Configs",
    )
    p.add_argument(
        "--builtin",
        action="store_true",
        help="with --markdown: only the built-in plugins (regenerates docs/plugin-options.md)",
    )
    p.set_defaults(handler=cmd_plugins)


def cmd_plugins(args: argparse.Namespace) -> int:
    registry = load_registry()
    if args.builtin and not args.markdown:
        raise UserError("--builtin goes with --markdown")
    if args.json:
        print_json(registry_json(registry))
        return EXIT_OK
    if args.markdown:
        sys.stdout.write(options_markdown(registry, builtin_only=args.builtin))
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
