"""Composes the dashboard from one module per tab."""

from __future__ import annotations

from typing import Any

import gradio as gr

from workbench.paths import Paths
from workbench.ui.context import UIContext
from workbench.ui.plugins_tab import build_plugins_tab
from workbench.ui.runs_tab import build_runs_tab


def build_app(ctx: UIContext) -> gr.Blocks:
    with gr.Blocks(title="Workbench") as app:
        gr.Markdown("# Workbench")
        with gr.Tabs():
            with gr.Tab("Runs"):
                build_runs_tab(ctx)
            with gr.Tab("Plugins"):
                build_plugins_tab(ctx)
    return app


def launch_kwargs(paths: Paths) -> dict[str, Any]:
    """Launch options: never serve the database or artifact folders as files."""
    return {"blocked_paths": [str(paths.home)], "show_error": True}
