"""The running dashboard driven through ``gradio_client``, behind a password login.

The app is launched in this process (``prevent_thread_lock``) on a fresh home; runs it launches
train in worker processes, as they do for a user.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import yaml
from gradio_client import Client
from ui_support import fake_finished_run, tiny_config, ui_home, wait_finished

from workbench.auth import add_user
from workbench.cli import main
from workbench.ui.app import build_app, launch_kwargs
from workbench.ui.forms import FormLayout

USER, PASSWORD = "alice", "correct horse battery"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui-app")
    with ui_home(root) as ctx:
        auth_file = root / "users.jsonl"
        add_user(auth_file, USER, PASSWORD)
        app = build_app(ctx)
        _, url, _ = app.launch(
            prevent_thread_lock=True, quiet=True, **launch_kwargs(ctx, auth_file)
        )
        try:
            client = Client(url, auth=(USER, PASSWORD), verbose=False)
            yield ctx, url, client
        finally:
            app.close()


@contextmanager
def logged_in(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, follow_redirects=True, timeout=30) as session:
        response = session.post("login", data={"username": USER, "password": PASSWORD})
        assert response.status_code == 200, response.text
        yield session


def test_login_is_required(served):
    _, url, _ = served
    assert httpx.get(f"{url}config", timeout=30).status_code == 401
    with pytest.raises(Exception):  # noqa: B017 - the client raises its own error type
        Client(url, auth=(USER, "wrong password"), verbose=False)
    with logged_in(url) as session:
        assert session.get("config").status_code == 200


def test_database_and_artifacts_are_never_served(served):
    ctx, url, _ = served
    with logged_in(url) as session:
        for path in (ctx.paths.database, ctx.paths.home / "data" / "corpus.txt"):
            response = session.get(f"gradio_api/file={path}")
            assert response.status_code in (403, 404), (path, response.status_code)
            assert b"the cat sees" not in response.content


def test_launch_from_yaml_and_follow_the_run(served):
    ctx, _, client = served
    status, *_ = client.predict(yaml.safe_dump(tiny_config("via-client")), api_name="/launch_yaml")
    assert status.startswith("Started run"), status
    run = ctx.store.find_run("via-client")
    assert wait_finished(ctx, run.id) == "succeeded", ctx.store.get_run(run.id).error
    table = client.predict("all", "all", "via", api_name="/runs_table")
    assert [row[1] for row in table["data"]] == ["via-client"]
    page = client.predict(str(run.id), api_name="/run_page")
    assert "succeeded" in page[0] and "name: via-client" in page[1]
    completion, side, *_ = client.predict(
        str(run.id), "(none)", "the ", 12, 0.0, 0, 1.0, 1, api_name="/generate"
    )
    assert len(completion) == 12 and side == ""


def test_a_bad_form_value_shows_the_error_and_starts_nothing(served):
    ctx, _, client = served
    layout = FormLayout.from_registry(ctx.registry)
    values = layout.widget_values(tiny_config("bad-lr", lr=-1))
    before = len(ctx.store.list_runs())
    status, config_text = client.predict(*values, api_name="/validate")
    assert "stage.lr: Input should be greater than 0 (got -1" in status
    assert yaml.safe_load(config_text)["stage"]["lr"] == -1
    with pytest.raises(Exception, match="greater than 0|validat"):  # noqa: B017
        client.predict(*values, api_name="/launch")
    time.sleep(0.5)
    assert len(ctx.store.list_runs()) == before
    good = layout.widget_values(tiny_config("good-form"))
    status, _ = client.predict(*good, api_name="/validate")
    assert status.startswith("Valid")


def test_compare_two_runs_and_export_csv(served):
    ctx, _, client = served
    a = fake_finished_run(ctx, "cmp-a", lr=1e-3)
    b = fake_finished_run(ctx, "cmp-b", lr=3e-3)
    metric, curves, diff, parallel, notes = client.predict(
        [str(a), str(b)], None, "step", api_name="/compare"
    )
    assert metric["value"] == "val/loss" and notes == ""
    assert [row[0] for row in diff["value"]["data"]] == ["name", "stage.lr"]
    assert curves is not None and parallel is not None
    exported = client.predict([str(a), str(b)], api_name="/export")
    with open(exported, newline="") as handle:
        rows = list(csv.reader(handle))
    assert [r[1] for r in rows[1:]] == ["cmp-a", "cmp-b"]


def test_serving_beyond_localhost_needs_an_auth_file(capsys):
    assert main(["ui", "--host", "0.0.0.0"]) == 2
    assert "--auth-file" in capsys.readouterr().err


def test_users_add_stores_only_a_hash(tmp_path, monkeypatch, capsys):
    auth_file = tmp_path / "users.jsonl"
    monkeypatch.setattr("sys.stdin", _FakeStdin("s3cret-pass\n"))
    assert main(["users", "add", "bob", "--auth-file", str(auth_file)]) == 0
    assert "added user bob" in capsys.readouterr().out
    text = auth_file.read_text()
    assert "s3cret-pass" not in text and '"user": "bob"' in text
    assert oct(auth_file.stat().st_mode & 0o777) == "0o600"
    from workbench.auth import verifier

    check = verifier(auth_file)
    assert check("bob", "s3cret-pass") and not check("bob", "wrong") and not check("eve", "x")
    monkeypatch.setattr("sys.stdin", _FakeStdin("short\n"))
    assert main(["users", "add", "carol", "--auth-file", str(auth_file)]) == 2
    assert main(["users", "list", "--auth-file", str(auth_file)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "bob"


class _FakeStdin:
    def __init__(self, text: str) -> None:
        self._lines = text.splitlines(keepends=True)

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        return self._lines.pop(0) if self._lines else ""


def test_api_offers_the_dashboards_operations(served):
    _, _, client = served
    endpoints = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert {
        "/runs_table",
        "/run_page",
        "/attention_maps",
        "/cancel",
        "/resume",
        "/delete",
        "/validate",
        "/launch",
        "/launch_yaml",
        "/apply_yaml",
        "/compare",
        "/export",
        "/generate",
        "/chat",
        "/start_from",
        "/evaluate_run",
    } <= endpoints
    outputs = client.predict(yaml.safe_dump(tiny_config("applied")), api_name="/apply_yaml")
    assert outputs[0] == "applied"
    assert "Valid" in outputs[-1]


def _components(url: str) -> dict[str, dict]:
    """The served page's components by elem_id: their properties as the browser gets them."""
    with logged_in(url) as session:
        config = session.get("config").json()
    return {
        c["props"]["elem_id"]: c["props"]
        for c in config["components"]
        if c.get("props", {}).get("elem_id")
    }


def test_the_page_opens_on_a_config_that_runs_and_a_random_seed(served):
    ctx, url, client = served
    props = _components(url)
    assert props["wb-name"]["value"] == "quickstart-synthetic-gpt"
    assert props["wb-stage"]["value"] == "pretrain" and props["wb-tokenizer"]["value"] == "char"
    assert props["wb-stage-pretrain-max_steps"]["value"] == 1500
    assert props["wb-start-from"]["value"] == "quickstart"
    offered = [choice[1] for choice in props["wb-start-from"]["choices"]]
    assert offered[0] == "quickstart" and "tiny-bigram" in offered
    assert props["wb-play-seed"]["value"] == "", "an empty seed: every Generate differs"
    outputs = client.predict("tiny-bigram", api_name="/start_from")
    status, config_text = outputs[-2:]
    assert "configs/tiny-bigram.yaml" in status and "Valid" in status
    assert yaml.safe_load(config_text)["name"] == "tiny-bigram"
    assert "button:disabled" in launch_kwargs(ctx)["css"], "a disabled button looks disabled"
