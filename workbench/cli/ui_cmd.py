"""``workbench ui``: serve the Gradio dashboard (127.0.0.1 unless told otherwise, with login)."""

from __future__ import annotations

import argparse
from pathlib import Path

from workbench.cli.common import EXIT_OK, UserError, open_context

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "ui",
        parents=[common],
        help="serve the dashboard (127.0.0.1 by default)",
        description="Serve the dashboard. Off localhost a login is required: pass --auth-file "
        "with users added by `workbench users add NAME`.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument(
        "--auth-file",
        help="users and hashed passwords (see `workbench users add`); required off localhost",
    )
    p.set_defaults(handler=cmd_ui)


def check_exposure(host: str, auth_file: str | None) -> Path | None:
    """The auth file to use; refuses to serve beyond localhost without one."""
    if host not in LOCAL_HOSTS and not auth_file:
        raise UserError(
            f"--host {host} would expose the workbench to the network without a login; "
            "pass --auth-file FILE (users added with `workbench users add NAME`) or serve on "
            "127.0.0.1"
        )
    if not auth_file:
        return None
    path = Path(auth_file).expanduser().resolve()
    if not path.is_file():
        raise UserError(f"auth file not found: {path} (create it with `workbench users add NAME`)")
    return path


def cmd_ui(args: argparse.Namespace) -> int:
    auth_file = check_exposure(args.host, args.auth_file)
    from workbench.auth import AuthFileError
    from workbench.ui.app import build_app, launch_kwargs
    from workbench.ui.context import UIContext

    ctx = open_context(args.home)
    ui = UIContext(paths=ctx.paths, store=ctx.store, registry=ctx.registry)
    try:
        options = launch_kwargs(ui, auth_file)
    except AuthFileError as exc:
        raise UserError(str(exc)) from None
    app = build_app(ui)
    app.launch(server_name=args.host, server_port=args.port, **options)
    return EXIT_OK
