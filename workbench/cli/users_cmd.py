"""``workbench users``: who may log in to the dashboard (hashed passwords in an auth file)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from workbench.auth import AuthFileError, add_user, read_users, remove_user
from workbench.cli.common import EXIT_OK, UserError
from workbench.paths import resolve_home

AUTH_FILE_NAME = "users.jsonl"


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("users", parents=[common], help="manage dashboard logins")
    users_sub = p.add_subparsers(dest="users_command", metavar="USERS_COMMAND", required=True)
    auth_help = f"auth file (default: {AUTH_FILE_NAME} in the workbench home)"

    add = users_sub.add_parser(
        "add",
        parents=[common],
        help="add a user or change their password",
        description="Reads the password from a prompt (twice), or one line from standard input "
        "when it is not a terminal. Only a salted scrypt hash is stored.",
    )
    add.add_argument("name", help="the user name to log in with")
    add.add_argument("--auth-file", help=auth_help)
    add.set_defaults(handler=cmd_add)

    ls = users_sub.add_parser("list", parents=[common], help="list the users")
    ls.add_argument("--auth-file", help=auth_help)
    ls.set_defaults(handler=cmd_list)

    rm = users_sub.add_parser("remove", parents=[common], help="remove a user")
    rm.add_argument("name")
    rm.add_argument("--auth-file", help=auth_help)
    rm.set_defaults(handler=cmd_remove)


def auth_file_path(args: argparse.Namespace) -> Path:
    if args.auth_file:
        return Path(args.auth_file).expanduser().resolve()
    return resolve_home(args.home).home / AUTH_FILE_NAME


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise UserError("the passwords differ")
    return first


def cmd_add(args: argparse.Namespace) -> int:
    path = auth_file_path(args)
    try:
        new = add_user(path, args.name, _read_password())
    except AuthFileError as exc:
        raise UserError(str(exc)) from None
    print(f"{'added' if new else 'updated'} user {args.name} in {path}")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    try:
        users = read_users(auth_file_path(args))
    except AuthFileError as exc:
        raise UserError(str(exc)) from None
    for name in sorted(users):
        print(name)
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    path = auth_file_path(args)
    try:
        remove_user(path, args.name)
    except AuthFileError as exc:
        raise UserError(str(exc)) from None
    print(f"removed user {args.name} from {path}")
    return EXIT_OK
