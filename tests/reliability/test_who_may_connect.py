"""Who may connect: without a login the dashboard answers only loopback host names (DNS
rebinding), with a login any; failed logins back off per user name and per client.

Each test drives a dashboard launched in this process (as ``workbench ui`` launches it) with real
HTTP requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from ui_support import fake_finished_run, ui_home

from workbench.auth import add_user
from workbench.ui.app import build_app, launch_kwargs
from workbench.ui.context import UIContext
from workbench.ui.host_check import host_name, is_loopback_host
from workbench.ui.login_limit import Backoff, LoginLimiter

USER, PASSWORD = "alice", "correct horse battery"
SECRET = "secret-run-name"
EVIL = "evil.example"


@contextmanager
def served(root: Path, *, login: LoginLimiter | bool = False) -> Iterator[tuple[UIContext, str]]:
    """A launched dashboard over a home holding one run called SECRET; yields (ctx, url)."""
    with ui_home(root) as ctx:
        fake_finished_run(ctx, SECRET)
        auth_file = None
        if login:
            auth_file = root / "users.jsonl"
            add_user(auth_file, USER, PASSWORD)
        limiter = login if isinstance(login, LoginLimiter) else None
        app = build_app(ctx)
        _, url, _ = app.launch(
            prevent_thread_lock=True,
            quiet=True,
            **launch_kwargs(ctx, auth_file, login_limiter=limiter),
        )
        try:
            yield ctx, url
        finally:
            app.close()


@pytest.fixture(scope="module")
def no_login(tmp_path_factory):
    with served(tmp_path_factory.mktemp("no-login")) as (ctx, url):
        yield ctx, url


def _port(url: str) -> int:
    return httpx.URL(url).port or 80


def _call_runs_table(url: str, host: str | None) -> list[httpx.Response]:
    """The runs table through Gradio's HTTP API: the call, then its result stream."""
    headers = {"Host": host} if host else {}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        started = http.post("gradio_api/call/runs_table", json={"data": ["all", "all", ""]})
        responses = [started]
        if started.status_code == 200:
            event_id = started.json()["event_id"]
            responses.append(http.get(f"gradio_api/call/runs_table/{event_id}"))
        return responses


def test_without_login_a_foreign_host_gets_403_and_no_data(no_login):
    _, url = no_login
    for path in ("", "config", "gradio_api/info", "gradio_api/queue/status", "login"):
        for method in ("GET", "POST"):
            response = httpx.request(method, f"{url}{path}", headers={"Host": EVIL}, timeout=30)
            assert response.status_code == 403, (method, path, response.status_code)
            assert SECRET.encode() not in response.content
            assert b"localhost" in response.content  # it says where to open it instead
    for host in (EVIL, f"{EVIL}:{_port(url)}", "localhost.evil.example", "127.0.0.1.nip.io"):
        responses = _call_runs_table(url, host)
        assert [r.status_code for r in responses] == [403], host
        assert all(SECRET.encode() not in r.content for r in responses)


def test_without_login_loopback_names_are_served(no_login):
    _, url = no_login
    port = _port(url)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "LOCALHOST"):
        assert httpx.get(f"{url}config", headers={"Host": host}, timeout=30).status_code == 200
        responses = _call_runs_table(url, host)
        assert responses[0].status_code == 200, host
        assert SECRET.encode() in responses[-1].content  # the same request, answered
    client = Client(url, verbose=False)
    table = client.predict("all", "all", "", api_name="/runs_table")
    assert [row[1] for row in table["data"]] == [SECRET]


def test_with_login_any_host_is_served(tmp_path):
    with served(tmp_path, login=True) as (_, url):
        with httpx.Client(base_url=url, headers={"Host": EVIL}, timeout=30) as http:
            assert http.get("config").status_code == 401  # the login still applies
            response = http.post("login", data={"username": USER, "password": PASSWORD})
            assert response.status_code == 200, response.text
            assert http.get("config").status_code == 200


def test_failed_logins_back_off_through_the_running_app(tmp_path):
    limiter = LoginLimiter(Backoff(free_failures=3, base_s=60.0))
    with served(tmp_path, login=limiter) as (_, url):

        def login(user: str, password: str) -> httpx.Response:
            return httpx.post(
                f"{url}login", data={"username": user, "password": password}, timeout=30
            )

        assert login(USER, PASSWORD).status_code == 200
        for _ in range(3):
            assert login(USER, "wrong password").status_code == 400
        locked = login(USER, PASSWORD)  # even the right password, while locked
        assert locked.status_code == 429
        assert 50 <= int(locked.headers["retry-after"]) <= 60
        assert "too many failed logins" in locked.json()["detail"]
        # The client is locked too: guessing another user's password from it is refused.
        assert login("bob", "anything at all").status_code == 429
        # A browser's multipart form is read as well.
        multipart = httpx.post(
            f"{url}login", files={"username": (None, USER), "password": (None, PASSWORD)}
        )
        assert multipart.status_code == 429


# -- units -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "name", "loopback"),
    [
        ("localhost", "localhost", True),
        ("localhost:7860", "localhost", True),
        ("127.0.0.1:7860", "127.0.0.1", True),
        ("[::1]:7860", "::1", True),
        ("[::1]", "::1", True),
        ("LocalHost:80", "localhost", True),
        ("evil.example", "evil.example", False),
        ("evil.example:7860", "evil.example", False),
        ("localhost.evil.example", "localhost.evil.example", False),
        ("127.0.0.2", "127.0.0.2", False),
        ("[::1].evil", "[::1].evil", False),
        ("[::1]:x", "[::1]:x", False),
        ("", "", False),
    ],
)
def test_host_names(header, name, loopback):
    assert host_name(header) == name
    assert is_loopback_host(header) is loopback


def test_no_host_header_is_not_loopback():
    assert not is_loopback_host(None)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_after_the_free_failures_and_is_capped():
    clock = Clock()
    limiter = LoginLimiter(Backoff(free_failures=2, base_s=1, max_s=8), clock=clock)
    keys = ["client:a", "user:alice"]
    waits = []
    for _ in range(7):
        limiter.failed(keys)
        waits.append(limiter.wait_s(keys))
    assert waits == [0, 1, 2, 4, 8, 8, 8]
    clock.now += 8
    assert limiter.wait_s(keys) == 0


def test_a_user_is_locked_from_every_client_and_a_client_for_every_user():
    clock = Clock()
    limiter = LoginLimiter(Backoff(free_failures=1, base_s=10), clock=clock)
    limiter.failed(["client:a", "user:alice"])
    assert limiter.wait_s(["client:b", "user:alice"]) == 10
    assert limiter.wait_s(["client:a", "user:bob"]) == 10
    assert limiter.wait_s(["client:b", "user:bob"]) == 0


def test_success_clears_the_user_and_quiet_time_forgets():
    clock = Clock()
    limiter = LoginLimiter(Backoff(free_failures=1, forget_after_s=100), clock=clock)
    limiter.failed(["user:alice"])
    limiter.succeeded(["user:alice"])
    assert limiter.wait_s(["user:alice"]) == 0
    limiter.failed(["user:bob"])
    limiter.failed(["user:bob"])
    assert limiter.wait_s(["user:bob"]) > 0
    clock.now += 101
    assert limiter.wait_s(["user:bob"]) == 0
    limiter.failed(["user:bob"])  # counting starts again
    assert limiter.wait_s(["user:bob"]) == 1


def test_bookkeeping_stays_bounded(monkeypatch):
    monkeypatch.setattr("workbench.ui.login_limit.MAX_TRACKED_KEYS", 50)
    clock = Clock()
    limiter = LoginLimiter(clock=clock)
    for n in range(500):
        clock.now += 1
        limiter.failed([f"user:made-up-{n}"])
    assert len(limiter._records) <= 50
    assert limiter.wait_s(["user:made-up-499"]) == 0  # still tracked: 1 failure of 5 free
    assert "user:made-up-499" in limiter._records
