"""Users and hashed passwords for the dashboard's login.

The auth file holds one JSON object per line::

    {"user": "alice", "salt": "<hex>", "hash": "<hex>", "n": 16384, "r": 8, "p": 1}

``hash`` is ``hashlib.scrypt(password, salt=salt, n, r, p)``; passwords themselves are never
stored. ``workbench users add NAME`` writes entries; ``workbench ui --auth-file FILE`` checks
logins against them with :func:`verifier`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from workbench.files import atomic_file

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
"""scrypt work factors (about 16 MiB and a few tens of milliseconds per check)."""

USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD_LENGTH = 8


class AuthFileError(ValueError):
    """The auth file or an entry cannot be used."""


@dataclass(frozen=True)
class UserEntry:
    """One user of the auth file."""

    user: str
    salt: str
    hash: str
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    def matches(self, password: str) -> bool:
        digest = _scrypt(password, bytes.fromhex(self.salt), self.n, self.r, self.p)
        return hmac.compare_digest(digest.hex(), self.hash)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r * p + (1 << 20)
    )


def hash_password(user: str, password: str) -> UserEntry:
    """A new entry for ``user`` with a fresh random salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return UserEntry(user=user, salt=salt.hex(), hash=digest.hex())


def read_users(path: Path) -> dict[str, UserEntry]:
    """The users of an auth file; a missing file has none. Bad lines name their line number."""
    if not path.exists():
        return {}
    users: dict[str, UserEntry] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            entry = UserEntry(
                user=str(data["user"]),
                salt=str(data["salt"]),
                hash=str(data["hash"]),
                n=int(data.get("n", SCRYPT_N)),
                r=int(data.get("r", SCRYPT_R)),
                p=int(data.get("p", SCRYPT_P)),
            )
            bytes.fromhex(entry.salt)
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthFileError(f"{path}:{number}: not a valid user entry ({exc})") from None
        users[entry.user] = entry
    return users


def write_users(path: Path, users: dict[str, UserEntry]) -> None:
    """Replace the auth file atomically; it is readable by its owner only."""
    with atomic_file(path, permissions=0o600) as handle:
        for entry in users.values():
            handle.write(json.dumps(asdict(entry)) + "\n")


def add_user(path: Path, user: str, password: str) -> bool:
    """Add ``user`` (or change their password); returns True when the user is new."""
    if not USER_NAME.fullmatch(user):
        raise AuthFileError(
            f"invalid user name {user!r}: use letters, digits and . _ @ - (at most 64 characters)"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthFileError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    users = read_users(path)
    new = user not in users
    users[user] = hash_password(user, password)
    write_users(path, users)
    return new


def remove_user(path: Path, user: str) -> None:
    users = read_users(path)
    if user not in users:
        raise AuthFileError(f"no user {user!r} in {path}")
    del users[user]
    write_users(path, users)


def verifier(path: Path) -> Callable[[str, str], bool]:
    """A ``(user, password) -> bool`` check for Gradio's ``auth=``; the file is read at each
    login, so users added while the dashboard runs can log in at once."""
    if not read_users(path):
        raise AuthFileError(f"{path} holds no users; add one with `workbench users add NAME`")

    def check(user: str, password: str) -> bool:
        try:
            entry = read_users(path).get(user)
        except (OSError, AuthFileError):
            return False
        if entry is None:
            # Spend the same time as a real check, so timing does not reveal which users exist.
            hash_password(user, password)
            return False
        return entry.matches(password)

    return check
