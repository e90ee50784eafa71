"""Who may connect to a dashboard served without a login: requests naming a loopback host only.

A dashboard on 127.0.0.1 without a login is reachable by any web page the user opens, through DNS
rebinding: ``evil.example`` first resolves to the attacker's server, then to 127.0.0.1, and the
page's scripts read the dashboard as if it were their own origin. The browser still sends
``Host: evil.example``, so refusing every Host header that is not a loopback name
(``localhost``, ``127.0.0.1``, ``[::1]``, with any port) closes that door. With a login the check
is not needed (the attacker's origin has no session cookie) and the dashboard may be reached by
any name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REFUSAL = (
    b"This dashboard runs without a login and answers only to localhost, 127.0.0.1 and [::1]. "
    b"Open it at one of those, or serve it with --auth-file for other host names.\n"
)


def host_name(header: str) -> str:
    """The host name of a ``Host`` header, without the port and IPv6 brackets, lower-case."""
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        rest = value[end + 1 :] if end > 0 else ""
        if end > 0 and (rest == "" or (rest.startswith(":") and rest[1:].isdigit())):
            return value[1:end]
        return value
    name, _, port = value.rpartition(":")
    if name and port.isdigit():
        return name
    return value


def is_loopback_host(header: str | None) -> bool:
    """Whether a ``Host`` header names this machine's loopback interface."""
    return header is not None and host_name(header) in LOOPBACK_HOSTS


class LoopbackHostOnly:
    """ASGI middleware refusing HTTP (403) and WebSocket requests whose Host is not loopback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or is_loopback_host(_host(scope)):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(REFUSAL)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": REFUSAL})


def _host(scope: Scope) -> str | None:
    hosts = [value for key, value in scope.get("headers", []) if key.lower() == b"host"]
    if len(hosts) != 1:  # none, or an ambiguous request
        return None
    return hosts[0].decode("latin-1")
