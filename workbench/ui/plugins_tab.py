"""Plugins tab: what is loaded (name, version, specs) and what failed to load and why."""

from __future__ import annotations

import gradio as gr

from workbench.registry import KINDS
from workbench.ui.context import UIContext


def plugin_rows(ctx: UIContext) -> list[list[str]]:
    rows = []
    for plugin in ctx.registry.plugins:
        for kind in KINDS:
            for name in plugin.specs[kind]:
                spec = ctx.registry.get(kind, name)
                rows.append([plugin.name, plugin.version or "", kind[:-1], name, spec.summary])
    return rows


def failure_text(ctx: UIContext) -> str:
    if not ctx.registry.failed:
        return "All plugins loaded."
    parts = [f"### {f.name}\n```\n{f.error}\n```" for f in ctx.registry.failed]
    return "\n\n".join(parts)


def build_plugins_tab(ctx: UIContext) -> None:
    gr.Dataframe(
        headers=["plugin", "version", "kind", "name", "summary"],
        value=plugin_rows(ctx),
        interactive=False,
    )
    gr.Markdown("#### Failed to load")
    gr.Markdown(failure_text(ctx))
