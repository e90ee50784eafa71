"""Plugins tab: what is loaded (name, version, registered specs) and what failed to load and why."""

from __future__ import annotations

from typing import Any

import gradio as gr

from workbench.registry import KINDS
from workbench.ui.context import UIContext

PLUGIN_COLUMNS = ["plugin", "version", "kind", "name", "summary", "details"]


def _details(description: dict[str, Any]) -> str:
    extra = {k: v for k, v in description.items() if k not in ("name", "summary") and v}
    return "; ".join(
        f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in extra.items()
    )


def plugin_rows(ctx: UIContext) -> list[list[str]]:
    """One row per registered spec: its plugin, the plugin's version, kind, name and summary."""
    rows = []
    for plugin in ctx.registry.plugins:
        for kind in KINDS:
            for name in plugin.specs[kind]:
                spec = ctx.registry.get(kind, name)
                rows.append(
                    [
                        plugin.name,
                        plugin.version or "",
                        kind[:-1],
                        name,
                        spec.summary,
                        _details(spec.describe()),
                    ]
                )
    return rows


def failure_text(ctx: UIContext) -> str:
    """Markdown naming each plugin that failed to load, with its error."""
    if not ctx.registry.failed:
        return "All plugins loaded."
    parts = [f"### {f.name}\n```text\n{f.error}\n```" for f in ctx.registry.failed]
    return "\n\n".join(parts)


def build_plugins_tab(ctx: UIContext) -> None:
    loaded = ", ".join(
        f"{p.name} {p.version}" if p.version else p.name for p in ctx.registry.plugins
    )
    gr.Markdown(f"**Loaded:** {loaded or 'none'}")
    gr.Dataframe(
        headers=PLUGIN_COLUMNS,
        value=plugin_rows(ctx),
        interactive=False,
        wrap=True,
        column_widths=["9%", "7%", "9%", "10%", "45%", "20%"],
        elem_id="wb-plugins-table",
    )
    gr.Markdown("#### Failed to load")
    gr.Markdown(failure_text(ctx), elem_id="wb-plugin-failures")
