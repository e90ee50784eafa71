"""Composes the dashboard from one module per tab, and the options it is served with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from workbench.auth import verifier
from workbench.ui import prompting_tab
from workbench.ui.claims_tab import build_claims_tab
from workbench.ui.compare_tab import build_compare_tab
from workbench.ui.context import UIContext
from workbench.ui.host_check import LoopbackHostOnly
from workbench.ui.label_tab import build_label_tab
from workbench.ui.login_limit import LoginLimiter, LoginRateLimit
from workbench.ui.new_run_tab import Links, build_new_run_tab
from workbench.ui.playground_tab import build_playground_tab
from workbench.ui.plugins_tab import build_plugins_tab
from workbench.ui.runs_tab import build_runs_tab
from workbench.ui.safety import MAX_UPLOAD_BYTES

CSS = """
#wb-new-run-status pre { white-space: pre-wrap; }
/* A disabled button (Cancel of a finished run, Send without a turn template) looks disabled. */
button:disabled, button[disabled] {
  opacity: 0.45 !important; filter: grayscale(0.8); cursor: not-allowed !important;
}
"""


def build_app(ctx: UIContext) -> gr.Blocks:
    """The whole dashboard for one workbench home; no state outside ``ctx`` and the app."""
    with gr.Blocks(title="Workbench") as app:
        gr.Markdown("# Workbench")
        with gr.Tabs(selected="runs") as tabs:
            with gr.Tab("Runs", id="runs", elem_id="wb-tab-runs") as runs_tab:
                runs = build_runs_tab(ctx)
            with gr.Tab("New run", id="new", elem_id="wb-tab-new") as new_tab:
                build_new_run_tab(
                    ctx,
                    Links(
                        tabs=tabs,
                        tab=new_tab,
                        run_picker=runs.picker,
                        clone=runs.clone,
                        clone_source=runs.picker,
                        runs_timer=runs.timer,
                    ),
                )
            with gr.Tab("Compare", id="compare", elem_id="wb-tab-compare") as compare_tab:
                build_compare_tab(ctx, compare_tab)
            # A tab that runs a plugin's evaluation appears only when that evaluation is there.
            prompt_tab = None
            if prompting_tab.available(ctx):
                with gr.Tab("Prompting", id="prompting", elem_id="wb-tab-prompting") as prompt_tab:
                    prompting_tab.build_prompting_tab(ctx, prompt_tab)
            with gr.Tab("Playground", id="playground", elem_id="wb-tab-playground") as play_tab:
                build_playground_tab(ctx, play_tab)
            with gr.Tab("Label", id="label", elem_id="wb-tab-label") as label_tab:
                build_label_tab(ctx, label_tab)
            with gr.Tab("Claims", id="claims", elem_id="wb-tab-claims") as claims_tab:
                build_claims_tab(ctx, claims_tab)
            with gr.Tab("Plugins", id="plugins", elem_id="wb-tab-plugins") as plugins_tab:
                build_plugins_tab(ctx)
        # The Runs tab refreshes itself only while it is shown.
        runs_tab.select(lambda: gr.Timer(active=True), outputs=runs.timer, api_visibility="private")
        others = (new_tab, compare_tab, prompt_tab, play_tab, label_tab, plugins_tab, claims_tab)
        for other in (tab for tab in others if tab is not None):
            other.select(
                lambda: gr.Timer(active=False), outputs=runs.timer, api_visibility="private"
            )
    return app


def launch_kwargs(
    ctx: UIContext, auth_file: Path | None = None, *, login_limiter: LoginLimiter | None = None
) -> dict[str, Any]:
    """``Blocks.launch`` options: the home (database, artifacts, uploads) and the auth file are
    never served as files; uploads are size-limited.

    With ``auth_file``, logins are checked against it and failed logins back off
    (``login_limiter``, default :class:`LoginLimiter`'s policy); without one, only requests
    naming a loopback host (localhost, 127.0.0.1, [::1]) are answered, against DNS rebinding.
    """
    blocked = [str(ctx.paths.home)]
    options: dict[str, Any] = {
        "show_error": True,
        "max_file_size": MAX_UPLOAD_BYTES,
        "css": CSS,
    }
    if auth_file is not None:
        blocked.append(str(auth_file))
        options["auth"] = verifier(auth_file)
        options["auth_message"] = "Log in with a user added by `workbench users add NAME`."
        guard = Middleware(LoginRateLimit, limiter=login_limiter or LoginLimiter())
    else:
        guard = Middleware(LoopbackHostOnly)
    options["blocked_paths"] = blocked
    # Passed to the FastAPI app Gradio builds, so the guard sees every request from the start.
    options["app_kwargs"] = {"middleware": [guard]}
    return options
