"""The Label tab: its handlers called directly (label, skip, undo, identity from the login, two
annotators' agreement, export), and once through a served app with a password login."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest

from workbench.paths import Paths
from workbench.registry import load_registry
from workbench.store import open_store
from workbench.ui import label_tab
from workbench.ui.context import UIContext


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[UIContext]:
    paths = Paths(tmp_path / "home").ensure()
    with open_store(paths) as store:
        # The tab never needs a plugin: an empty registry keeps the tests fast.
        yield UIContext(paths=paths, store=store, registry=load_registry(use_entry_points=False))


def add_pairs(ctx: UIContext, n: int) -> list[int]:
    prompts = ctx.store.add_prompts((f"Q: question {i}?\nA:", "test", {}) for i in range(n))
    completions = ctx.store.add_completions(
        [(pid, f" {side} of {pid}", {}) for pid in prompts for side in ("first", "second")]
    )
    return ctx.store.add_pairs(
        (completions[i], completions[i + 1]) for i in range(0, len(completions), 2)
    )


def user(name: str | None) -> SimpleNamespace:
    """What the handlers read from ``gr.Request``."""
    return SimpleNamespace(username=name)


def test_identity_comes_from_the_login_or_is_local() -> None:
    assert label_tab.annotator_of(user("alice")) == "alice"
    assert label_tab.annotator_of(user(None)) == "local"
    assert label_tab.annotator_of(None) == "local"


def test_empty_store_says_how_to_make_pairs(ctx: UIContext) -> None:
    screen = label_tab.show_next(ctx, [], user("alice"))
    assert screen.pair_id is None and "pairs generate" in screen.status
    assert "0 / 0" in screen.progress


def test_label_records_the_choice_under_the_logged_in_user(ctx: UIContext) -> None:
    pair_ids = add_pairs(ctx, 3)
    first = label_tab.show_next(ctx, [], user("alice"))
    assert first.pair_id in pair_ids and "**alice**" in first.progress
    pair = ctx.store.get_pair(first.pair_id)
    assert (first.prompt, first.completion_a, first.completion_b) == (
        pair.prompt,
        pair.completion_a,
        pair.completion_b,
    )
    second = label_tab.choose(ctx, first.pair_id, "a", [], user("alice"))
    assert second.pair_id not in (None, first.pair_id)
    assert "1 / 3" in second.progress and "A better" in second.status
    (label,) = ctx.store.labels()
    assert (label.annotator, label.annotator_kind, label.pair_id, label.choice) == (
        "alice",
        "human",
        first.pair_id,
        "a",
    )
    # Without a login the same handler labels as "local".
    local = label_tab.choose(ctx, first.pair_id, "both_bad", [], None)
    assert "**local**" in local.progress
    assert ctx.store.labels(annotator="local")[0].choice == "both_bad"


def test_skip_moves_on_and_skipped_pairs_come_round_again(ctx: UIContext) -> None:
    add_pairs(ctx, 3)
    who = user("alice")
    shown = label_tab.show_next(ctx, [], who)
    skipped_id = shown.pair_id
    after_skip = label_tab.skip(ctx, skipped_id, [], who)
    assert after_skip.pair_id != skipped_id and after_skip.skipped == (skipped_id,)
    screen = after_skip
    for _ in range(2):  # label the two others
        screen = label_tab.choose(ctx, screen.pair_id, "b", list(screen.skipped), who)
    assert screen.pair_id == skipped_id and "come round again" in screen.status
    assert screen.skipped == ()
    done = label_tab.choose(ctx, screen.pair_id, "tie", [], who)
    assert done.pair_id is None and "All pairs are labelled" in done.status
    assert ctx.store.progress("alice").labelled == 3


def test_undo_removes_the_latest_label_and_shows_that_pair(ctx: UIContext) -> None:
    add_pairs(ctx, 2)
    who = user("bob")
    nothing = label_tab.undo(ctx, [], who)
    assert "Nothing to undo" in nothing.status
    first = label_tab.show_next(ctx, [], who)
    label_tab.choose(ctx, first.pair_id, "b", [], who)
    undone = label_tab.undo(ctx, [], who)
    assert undone.pair_id == first.pair_id and "label it again" in undone.status
    assert ctx.store.labels(annotator="bob") == []
    relabelled = label_tab.choose(ctx, undone.pair_id, "a", [], who)
    assert relabelled.pair_id != first.pair_id
    assert [x.choice for x in ctx.store.labels(annotator="bob")] == ["a"]


def test_a_login_cannot_label_as_a_simulated_annotator(ctx: UIContext) -> None:
    (pair_id,) = add_pairs(ctx, 1)
    ctx.store.ensure_annotator("concise", "simulated", plugin="concise", config={})
    screen = label_tab.show_next(ctx, [], user("concise"))
    assert screen.pair_id is None and "human and simulated" in screen.status
    refused = label_tab.choose(ctx, pair_id, "a", [], user("concise"))
    assert "⚠" in refused.status and ctx.store.labels() == []


def test_two_annotators_agreement_and_who_labelled_what(ctx: UIContext) -> None:
    pair_ids = add_pairs(ctx, 4)
    alice, bob = user("alice"), user("bob")
    for pid, a_choice, b_choice in zip(pair_ids, "aabb", "abbb", strict=True):
        label_tab.choose(ctx, pid, a_choice, [], alice)
        label_tab.choose(ctx, pid, b_choice, [], bob)
    (row,) = label_tab.agreement_rows(ctx)
    # 3 of 4 agree; chance agreement (2*1 + 2*3) / 16 = 0.5, so kappa = (0.75 - 0.5) / 0.5
    assert row == ["alice", "bob", 4, "0.750", "0.500"]
    annotators = {r[0]: r for r in label_tab.annotator_rows(ctx)}
    assert annotators["alice"][1:4] == ["human", "", "4/4"]
    assert annotators["bob"][4:] == [1, 3, 0, 0]
    labels = label_tab.label_rows(ctx)
    assert len(labels) == 8
    # The latest labels name the prompt (on one line), not the pair's id.
    first_prompt = "Q: question 1? ⏎ A:"
    assert {(r[1], r[3], r[4]) for r in labels} >= {("alice", first_prompt, "A better")}
    assert label_tab.agreement_note(ctx) == ""


def test_an_empty_agreement_table_says_why(ctx: UIContext) -> None:
    pair_ids = add_pairs(ctx, 2)
    assert "nobody has labelled" in label_tab.agreement_note(ctx)
    label_tab.show_next(ctx, [], user("bob"))  # bob opens the tab but labels nothing
    label_tab.choose(ctx, pair_ids[0], "a", [], user("alice"))
    _, agreement, why, _ = label_tab.overview(ctx)
    assert agreement == [] and "only one annotator (alice)" in why
    label_tab.choose(ctx, pair_ids[1], "b", [], user("bob"))
    assert "no pair in common" in label_tab.agreement_note(ctx)


def test_an_empty_completion_is_shown_as_such(ctx: UIContext) -> None:
    (prompt,) = ctx.store.add_prompts([("Q: anything?\nA:", "test", {})])
    a, b = ctx.store.add_completions([(prompt, "", {}), (prompt, " yes.", {})])
    ctx.store.add_pairs([(a, b)])
    screen = label_tab.show_next(ctx, [], user("alice"))
    assert screen.completion_a == label_tab.EMPTY_COMPLETION
    assert screen.completion_b == " yes."
    assert label_tab.short_prompt("x" * 100).endswith("…")


def test_export_writes_human_trl_jsonl_outside_the_home(ctx: UIContext) -> None:
    pair_ids = add_pairs(ctx, 2)
    assert label_tab.export_labels(ctx, "human")[0] is None
    label_tab.choose(ctx, pair_ids[0], "b", [], user("alice"))
    label_tab.choose(ctx, pair_ids[1], "tie", [], user("alice"))
    ctx.store.ensure_annotator("bot", "simulated", plugin="random", config={})
    ctx.store.label("bot", pair_ids[1], "a")
    path, note = label_tab.export_labels(ctx, "human")
    assert path is not None and "1 human" in note
    assert not Path(path).resolve().is_relative_to(ctx.paths.home.resolve())
    rows = [json.loads(line) for line in Path(path).read_text().splitlines()]
    pair = ctx.store.get_pair(pair_ids[0])
    assert rows == [
        {"prompt": pair.prompt, "chosen": pair.completion_b, "rejected": pair.completion_a}
    ]
    with pytest.raises(ValueError):
        label_tab.export_labels(ctx, "robots")


def test_served_tab_labels_as_the_logged_in_user(ctx: UIContext) -> None:
    from gradio_client import Client

    add_pairs(ctx, 2)
    with gr.Blocks() as app, gr.Tab("Label") as tab:
        label_tab.build_label_tab(ctx, tab)
    app.launch(
        prevent_thread_lock=True,
        auth=[("carol", "secret-pw")],
        quiet=True,
        server_name="127.0.0.1",
    )
    try:
        client = Client(app.local_url, auth=("carol", "secret-pw"), verbose=False)
        shown = client.predict(api_name="/label_skip")  # nothing shown yet: loads a pair
        prompt, _, _, progress, _ = shown
        assert prompt.startswith("Q: question") and "**carol**" in progress
        client.predict(api_name="/label_b")
        (label,) = ctx.store.labels()
        assert label.annotator == "carol" and label.choice == "b"
        assert ctx.store.get_pair(label.pair_id).prompt == prompt
    finally:
        app.close()
