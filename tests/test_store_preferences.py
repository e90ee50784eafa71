"""Tests of the store's preference labelling: prompts, completions, pairs, annotators, labels,
export, progress and agreement, and the schema's constraints."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from workbench.paths import Paths
from workbench.store import (
    AnnotatorNotFound,
    PairNotFound,
    Store,
    StoreError,
    cohen_kappa,
    open_store,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(Paths(tmp_path / "home")) as opened:
        yield opened


def make_pairs(store: Store, n: int = 4, run_id: int | None = None) -> list[int]:
    """``n`` prompts, two completions each, one pair each; returns the pair ids."""
    prompt_ids = store.add_prompts(
        (f"Q: question {i}?\nA:", "test", {"answer": f"x{i}"}) for i in range(n)
    )
    completion_ids = store.add_completions(
        [
            (pid, f" answer {side} {pid}", {"temperature": 1.0})
            for pid in prompt_ids
            for side in "ab"
        ],
        run_id=run_id,
    )
    return store.add_pairs(
        (completion_ids[i], completion_ids[i + 1]) for i in range(0, len(completion_ids), 2)
    )


def new_run(store: Store) -> int:
    return store.create_run(
        name="gen",
        stage="pretrain",
        architecture="bigram",
        dataset="synthetic",
        tokenizer="char",
        config={},
        seed=0,
        plugin_versions={},
        package_versions={},
    )


def test_prompts_are_stored_once_per_text_and_source(store: Store) -> None:
    first = store.add_prompts([("p", "s", {"k": 1}), ("q", "s", {}), ("p", "s", {})])
    assert first[0] == first[2] != first[1]
    again = store.add_prompts([("p", "s", {}), ("p", "other", {})])
    assert again[0] == first[0] and again[1] not in first
    record = store.get_prompt(first[0])
    assert record.properties == {"k": 1} and record.source == "s"


def test_pairs_join_prompt_and_completions(store: Store) -> None:
    run_id = new_run(store)
    pair_ids = make_pairs(store, 2, run_id=run_id)
    pair = store.get_pair(pair_ids[1])
    assert pair.prompt == "Q: question 1?\nA:"
    assert pair.completion_a.startswith(" answer a") and pair.completion_b.startswith(" answer b")
    assert pair.properties == {"answer": "x1"}
    assert store.completions(pair.prompt_id)[0].run_id == run_id
    with pytest.raises(PairNotFound):
        store.get_pair(999)


def test_a_pair_never_compares_a_completion_with_itself(store: Store) -> None:
    pid = store.add_prompts([("p", "s", {})])[0]
    other = store.add_prompts([("q", "s", {})])[0]
    a, b, c = store.add_completions([(pid, "x", {}), (pid, "y", {}), (other, "z", {})])
    with pytest.raises(ValueError, match="two different"):
        store.add_pairs([(a, a)])
    with pytest.raises(StoreError, match="different prompts"):
        store.add_pairs([(a, c)])
    with pytest.raises(StoreError, match="no completion"):
        store.add_pairs([(a, 12345)])
    # The CHECK constraint holds even for SQL that bypasses the store.
    with pytest.raises(IntegrityError, match="CHECK"), store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO comparison_pairs (prompt_id, completion_a_id, completion_b_id, "
                "created_at) VALUES (:p, :a, :a, '2026-01-01 00:00:00')"
            ),
            {"p": pid, "a": a},
        )
    assert store.add_pairs([(a, b)])


def test_deleting_the_generating_run_keeps_completions(store: Store) -> None:
    run_id = new_run(store)
    pair_id = make_pairs(store, 1, run_id=run_id)[0]
    store.delete_run(run_id)
    pair = store.get_pair(pair_id)
    assert all(c.run_id is None for c in store.completions(pair.prompt_id))


def test_annotators_keep_human_and_simulated_apart(store: Store) -> None:
    human = store.ensure_annotator("alice")
    assert human.kind == "human" and store.ensure_annotator("alice").id == human.id
    bot = store.ensure_annotator("rule", "simulated", plugin="concise", config={"min_words": 1})
    assert bot.plugin == "concise" and bot.config == {"min_words": 1}
    with pytest.raises(StoreError, match="human and simulated"):
        store.ensure_annotator("alice", "simulated", plugin="concise", config={})
    with pytest.raises(StoreError, match="another name"):
        store.ensure_annotator("rule", "simulated", plugin="concise", config={"min_words": 3})
    with pytest.raises(ValueError, match="kind"):
        store.ensure_annotator("x", "robot")
    with pytest.raises(AnnotatorNotFound):
        store.get_annotator("nobody")
    assert [a.name for a in store.list_annotators("simulated")] == ["rule"]


def test_next_pair_skips_labelled_ones_in_a_stable_shuffled_order(store: Store) -> None:
    pair_ids = make_pairs(store, 12)
    store.ensure_annotator("alice")
    store.ensure_annotator("bob")
    order = [p.id for p in store.unlabelled_pairs("alice")]
    assert sorted(order) == pair_ids
    assert order != pair_ids  # shuffled ...
    assert [p.id for p in store.unlabelled_pairs("bob")] == order  # ... the same for everyone
    assert store.next_pair("alice").id == order[0]
    assert store.next_pair("alice", exclude=[order[0]]).id == order[1]
    store.label("alice", order[0], "a")
    assert store.next_pair("alice").id == order[1]
    assert store.next_pair("bob").id == order[0]  # bob has not labelled it
    store.label_many("alice", [(p, "tie") for p in order[1:]])
    assert store.next_pair("alice") is None


def test_relabel_replaces_and_undo_deletes_the_latest(store: Store) -> None:
    first, second = make_pairs(store, 2)
    store.ensure_annotator("alice")
    store.label("alice", first, "a")
    store.label("alice", second, "b")
    store.label("alice", first, "tie")  # relabel: still one label for the pair
    assert [(x.pair_id, x.choice) for x in store.labels(annotator="alice")] == [
        (first, "tie"),
        (second, "b"),
    ]
    assert store.progress("alice").labelled == 2
    undone = store.undo("alice")
    assert undone is not None and (undone.pair_id, undone.choice) == (first, "tie")
    assert store.progress("alice").labelled == 1
    assert store.undo("alice").pair_id == second
    assert store.undo("alice") is None
    with pytest.raises(ValueError, match="invalid choice"):
        store.label("alice", first, "c")
    with pytest.raises(PairNotFound):
        store.label("alice", 999, "a")
    with pytest.raises(AnnotatorNotFound):
        store.label("nobody", first, "a")


def test_progress_and_per_annotator_counts(store: Store) -> None:
    pair_ids = make_pairs(store, 3)
    store.ensure_annotator("alice")
    store.label_many("alice", [(pair_ids[0], "a"), (pair_ids[1], "both_bad")])
    progress = store.progress("alice")
    assert (progress.labelled, progress.total, progress.remaining) == (2, 3, 1)
    (stats,) = store.annotator_stats()
    assert stats.labelled == 2 and stats.choices == {"a": 1, "b": 0, "tie": 0, "both_bad": 1}


def test_export_is_trl_drops_ties_and_never_mixes_kinds(store: Store) -> None:
    p1, p2, p3 = make_pairs(store, 3)
    store.ensure_annotator("alice")
    store.ensure_annotator("bot", "simulated", plugin="concise", config={})
    store.label_many("alice", [(p1, "a"), (p2, "b"), (p3, "tie")])
    store.label_many("bot", [(p1, "b"), (p2, "both_bad")])

    human = store.preference_examples()  # human by default
    assert [e.trl() for e in human] == [
        {"prompt": "Q: question 0?\nA:", "chosen": " answer a 1", "rejected": " answer b 1"},
        {"prompt": "Q: question 1?\nA:", "chosen": " answer b 2", "rejected": " answer a 2"},
    ]
    assert {e.annotator_kind for e in human} == {"human"}
    simulated = store.preference_examples(kind="simulated")
    assert [(e.annotator, e.chosen) for e in simulated] == [("bot", " answer b 1")]
    assert len(store.preference_examples(kind="all")) == 3
    assert [e.annotator for e in store.preference_examples(annotator="bot")] == ["bot"]
    with pytest.raises(ValueError, match="not both"):
        store.preference_examples(annotator="bot", kind="human")
    with pytest.raises(ValueError, match="invalid kind"):
        store.preference_examples(kind="robots")


def test_agreement_share_and_cohens_kappa(store: Store) -> None:
    pair_ids = make_pairs(store, 5)
    for name in ("alice", "bob", "carol"):
        store.ensure_annotator(name)
    alice = ["a", "a", "b", "b", "tie"]
    bob = ["a", "b", "b", "b"]  # one pair fewer: agreement is over the 4 both labelled
    store.label_many("alice", zip(pair_ids, alice, strict=True))
    store.label_many("bob", zip(pair_ids[:4], bob, strict=True))
    found = store.agreement("alice", "bob")
    assert (found.overlap, found.agreed) == (4, 3)
    assert found.share == pytest.approx(0.75)
    # p_o = 3/4; alice a,a,b,b and bob a,b,b,b: p_e = (2*1 + 2*3) / 16 = 1/2; kappa = 1/2
    assert found.kappa == pytest.approx(0.5)
    assert [(a.annotator_a, a.annotator_b) for a in store.agreements()] == [("alice", "bob")]
    none = store.agreement("alice", "carol")
    assert none.overlap == 0 and none.share is None and none.kappa is None


def test_cohen_kappa_edge_cases() -> None:
    assert cohen_kappa([]) is None
    assert cohen_kappa([("a", "a"), ("a", "a")]) is None  # chance agreement already 1
    assert cohen_kappa([("a", "a"), ("b", "b")]) == pytest.approx(1.0)
    assert cohen_kappa([("a", "b"), ("b", "a")]) == pytest.approx(-1.0)
    value = cohen_kappa([("a", "a"), ("b", "a"), ("tie", "tie")])
    assert value is not None and not math.isnan(value)


def test_deleting_an_annotator_row_cascades_to_its_labels(store: Store) -> None:
    (pair_id,) = make_pairs(store, 1)
    store.ensure_annotator("alice")
    store.label("alice", pair_id, "a")
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM annotators WHERE name = 'alice'"))
    assert store.labels() == []


LABELLING_TABLES = {"annotators", "prompts", "completions", "comparison_pairs", "preference_labels"}


def test_migration_0002_round_trip_keeps_the_runs(tmp_path: Path) -> None:
    from sqlalchemy import inspect

    from workbench.store.db import check, current_revision, downgrade, make_engine, upgrade

    engine = make_engine(tmp_path / "workbench.db")
    try:
        upgrade(engine)
        assert LABELLING_TABLES <= set(inspect(engine).get_table_names())
        store = Store(engine)
        run_id = new_run(store)
        make_pairs(store, 2, run_id=run_id)
        downgrade(engine, "0001")
        assert current_revision(engine) == "0001"
        assert not LABELLING_TABLES & set(inspect(engine).get_table_names())
        with engine.connect() as conn:  # raw SQL: the models describe the newest schema
            names = conn.exec_driver_sql("SELECT name FROM runs WHERE id = ?", (run_id,)).all()
        assert names == [("gen",)]
        upgrade(engine)
        assert store.get_run(run_id).name == "gen"
        assert check(engine) is None
        assert store.count_pairs() == 0
    finally:
        engine.dispose()
