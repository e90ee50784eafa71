"""Failed logins slow down: exponential back-off per user name and per client address.

Each user name and each client address may fail :attr:`Backoff.free_failures` times in a row;
after that every further failure locks it for ``base_s * 2**k`` seconds (k = 0, 1, 2, ...; at
most ``max_s``). While either the name or the address is locked, the login route answers 429 with
``Retry-After`` without checking the password at all, so a locked account cannot be guessed even
with the right password, and the server spends no scrypt time on it. A successful login clears
its user name; failures are forgotten after ``forget_after_s`` without one.

:class:`LoginRateLimit` is the ASGI middleware that applies this to Gradio's ``POST /login``; it
reads the user name from the form and learns the outcome from the response status (200 logged
in, 400/401 refused).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.requests import Request

from workbench.ui.host_check import ASGIApp, Message, Receive, Scope, Send

MAX_LOGIN_BODY = 64 * 1024
"""A login form is a user name and a password; anything longer is refused unread (413)."""

MAX_TRACKED_KEYS = 10_000
"""Bookkeeping stays bounded however many user names an attacker makes up."""


@dataclass(frozen=True)
class Backoff:
    """How failed logins are slowed down."""

    free_failures: int = 5
    base_s: float = 1.0
    max_s: float = 300.0
    forget_after_s: float = 900.0

    def lock_s(self, failures: int) -> float:
        """Seconds a key stays locked after its ``failures``-th failure in a row."""
        extra = failures - self.free_failures
        if extra < 0:
            return 0.0
        return min(self.max_s, self.base_s * 2.0 ** min(extra, 64))


@dataclass
class _Record:
    failures: int
    last_failure: float


class LoginLimiter:
    """Counts failed logins by key (``"user:NAME"``, ``"client:ADDRESS"``) and says how long a
    key must wait. Thread-safe; ``clock`` is injectable for tests."""

    def __init__(
        self, backoff: Backoff | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.backoff = backoff or Backoff()
        self._clock = clock
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def wait_s(self, keys: Iterable[str]) -> float:
        """Seconds until every key in ``keys`` may try again (0: now)."""
        now = self._clock()
        with self._lock:
            waits = [self._wait(key, now) for key in keys]
        return max(waits, default=0.0)

    def _wait(self, key: str, now: float) -> float:
        record = self._records.get(key)
        if record is None:
            return 0.0
        if now - record.last_failure > self.backoff.forget_after_s:
            del self._records[key]
            return 0.0
        return max(0.0, record.last_failure + self.backoff.lock_s(record.failures) - now)

    def failed(self, keys: Iterable[str]) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                record = self._records.get(key)
                if record is None or now - record.last_failure > self.backoff.forget_after_s:
                    record = self._records[key] = _Record(0, now)
                record.failures += 1
                record.last_failure = now
            self._prune(now)

    def succeeded(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._records.pop(key, None)

    def _prune(self, now: float) -> None:
        if len(self._records) <= MAX_TRACKED_KEYS:
            return
        stale = [
            key
            for key, record in self._records.items()
            if now - record.last_failure > self.backoff.forget_after_s
        ]
        for key in stale:
            del self._records[key]
        # Still too many: forget the oldest (the least recently failing) first.
        excess = len(self._records) - MAX_TRACKED_KEYS
        if excess > 0:
            oldest = sorted(self._records, key=lambda k: self._records[k].last_failure)
            for key in oldest[:excess]:
                del self._records[key]


def user_key(name: str) -> str:
    return f"user:{name.strip().lower()}"


def client_key(scope: Scope) -> str:
    client = scope.get("client")
    return f"client:{client[0] if client else 'unknown'}"


class LoginRateLimit:
    """ASGI middleware: back-off on ``POST .../login`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, limiter: LoginLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", "")).rstrip("/")
        if scope["type"] != "http" or scope.get("method") != "POST" or not path.endswith("/login"):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive, MAX_LOGIN_BODY)
        if body is None:
            await _respond(send, 413, {"detail": "login form too large"})
            return
        replay = _replay(body, receive)
        user = await _form_user(scope, replay)
        keys = [client_key(scope), user_key(user)]
        wait = self.limiter.wait_s(keys)
        if wait > 0:
            seconds = math.ceil(wait)
            await _respond(
                send,
                429,
                {"detail": f"too many failed logins: try again in {seconds} s"},
                retry_after=seconds,
            )
            return

        status: list[int] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        await self.app(scope, _replay(body, receive), watch)
        if status and status[0] == 200:
            self.limiter.succeeded([user_key(user)])
        elif status and status[0] in (400, 401, 403):
            self.limiter.failed(keys)


async def _form_user(scope: Scope, receive: Receive) -> str:
    """The ``username`` field of a urlencoded or multipart form ("" when there is none)."""
    try:
        form = await Request(scope, receive).form()
    except Exception:  # noqa: BLE001 - a malformed form still counts against its client
        return ""
    try:
        return str(form.get("username") or "")
    finally:
        await form.close()


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None when it is longer than ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands out ``body`` once, then defers to the real one (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _respond(
    send: Send, status: int, content: dict[str, str], *, retry_after: int | None = None
) -> None:
    payload = json.dumps(content).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
