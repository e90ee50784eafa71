"""``workbench ui``: serve the Gradio dashboard."""

from __future__ import annotations

import argparse

from workbench.cli.common import EXIT_OK, UserError, open_context

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("ui", parents=[common], help="serve the dashboard (127.0.0.1 by default)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--auth-file", help="users and hashed passwords; required off localhost")
    p.set_defaults(handler=cmd_ui)


def cmd_ui(args: argparse.Namespace) -> int:
    if args.host not in LOCAL_HOSTS and not args.auth_file:
        raise UserError(
            f"--host {args.host} would expose the workbench to the network; "
            "pass --auth-file with hashed passwords to serve beyond localhost"
        )
    if args.auth_file:
        raise UserError("--auth-file is not supported yet; serve on 127.0.0.1")
    from workbench.ui.app import build_app, launch_kwargs
    from workbench.ui.context import UIContext

    ctx = open_context(args.home)
    app = build_app(UIContext(paths=ctx.paths, store=ctx.store, registry=ctx.registry))
    app.launch(server_name=args.host, server_port=args.port, **launch_kwargs(ctx.paths))
    return EXIT_OK
