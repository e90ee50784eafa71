"""In-context-learning prompt tasks, users' task files and logged evaluation items.

The synthetic corpus's per-prompt mapping tasks (``letter-map``, ``word-map``,
``category-label``) and ``random-insertion``: deterministic, consistent with their own
demonstrations, absent from the default corpus (whose bytes are pinned). The ``few-shot``
evaluation's ``task_file`` option (good file, a bad line named by FILE:LINE, a character outside
the model's vocabulary) and its logged items, stored with the evaluation.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest
import torch

from workbench.paths import Paths
from workbench.registry import load_registry
from workbench.specs import EvaluationContext, ModelContext, RunInfo
from workbench.store import open_store
from workbench_prompting.fewshot import FewShotConfig, build_queries, evaluate_few_shot
from workbench_prompting.prompts import PromptFormat
from workbench_prompting.task_file import load_task_file
from workbench_synthetic import SyntheticConfig, generate_corpus, generate_world
from workbench_synthetic.config import EPISODIC_PROMPT_TASKS, ICL_PROMPT_TASKS
from workbench_synthetic.icl import (
    INSERTED_SYMBOLS,
    category_members,
    episode,
    heldout_episodes,
    insert_symbols,
    remove_symbols,
)

TINY = dict(
    size_chars=40_000,
    n_entities=40,
    task_train_size=90,
    task_eval_size=30,
    prompt_eval_size=20,
    n_preference_prompts=30,
)
ICL_TASKS = [*ICL_PROMPT_TASKS, "first-letter"]
DEFAULT_DIGEST = "b8deccf8b639631c27186484b32893b27a3f6016b5e322bf9842ccb2e8392ec7"
"""sha256 of the TINY default corpus (text and extras), as generated before the ICL tasks."""


def digest(corpus) -> str:
    h = hashlib.sha256()
    for part in (corpus.train, corpus.val, corpus.test, json.dumps(corpus.extras, sort_keys=True)):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def icl_config() -> SyntheticConfig:
    return SyntheticConfig(
        **TINY, prompt_fraction=0.8, instruction_fraction=0.0, prompt_tasks=ICL_TASKS
    )


@pytest.fixture(scope="module")
def icl_corpus(icl_config):
    return generate_corpus(icl_config, 3)


# -- the generators ---------------------------------------------------------------------------


def test_default_corpus_is_byte_identical_to_before():
    assert digest(generate_corpus(SyntheticConfig(**TINY), 0)) == DEFAULT_DIGEST


def test_icl_corpus_is_deterministic(icl_config, icl_corpus):
    again = generate_corpus(icl_config, 3)
    assert digest(again) == digest(icl_corpus)
    assert digest(generate_corpus(icl_config, 4)) != digest(icl_corpus)


@pytest.mark.parametrize("task", EPISODIC_PROMPT_TASKS)
def test_episodes_are_deterministic_and_consistent(task):
    world = generate_world(40, 0)
    first = episode(task, random.Random("x"), 30, world)
    assert first == episode(task, random.Random("x"), 30, world)
    assert first != episode(task, random.Random("y"), 30, world)
    members = category_members(world)
    kind_of = {m: kind for kind, names in members.items() for m in names}
    label_of: dict[str, str] = {}
    for inp, out in first:
        key = kind_of[inp] if task == "category-label" else inp
        assert label_of.setdefault(key, out) == out  # one mapping per prompt
    assert len({inp for inp, _ in first}) < len(first)  # inputs recur: bursty


def test_heldout_episodes_carry_their_own_consistent_demonstrations():
    world = generate_world(40, 0)
    items = heldout_episodes("letter-map", random.Random(1), 5, 16, world)
    assert items == heldout_episodes("letter-map", random.Random(1), 5, 16, world)
    for item in items:
        assert len(item["demos"]) == 16
        for demo in item["demos"]:
            if demo["input"] == item["input"]:
                assert demo["output"] == item["output"]


def test_random_insertion_is_deterministic_and_reversible():
    word = "parrot"
    assert insert_symbols(word, random.Random(5)) == insert_symbols(word, random.Random(5))
    for seed in range(20):
        scrambled = insert_symbols(word, random.Random(seed))
        assert remove_symbols(scrambled) == word
        assert any(ch in INSERTED_SYMBOLS for ch in scrambled)


def test_icl_corpus_extras(icl_corpus):
    extras = icl_corpus.extras
    assert extras["prompt_format"]["tasks_in_text"] == ICL_TASKS
    assert extras["prompt_format"]["instructions"] == {}  # no instruction line in the text
    for task in EPISODIC_PROMPT_TASKS:
        assert extras["prompt_demos"][task] == []
        assert len(extras["prompt_tasks"][task]) == TINY["prompt_eval_size"]
    held = {item["input"] for item in extras["prompt_tasks"]["random-insertion"]}
    for text in (icl_corpus.train, icl_corpus.val, icl_corpus.test):
        lines = {line.split(" -> ")[0] for line in text.split("\n") if " -> " in line}
        assert not held & lines
    assert not held & {d["input"] for d in extras["prompt_demos"]["random-insertion"]}
    assert "map" not in SyntheticConfig(**TINY).prompt_tasks  # not in the default mix


def test_episodic_queries_draw_from_the_item_and_may_repeat_the_query(icl_corpus):
    extras = icl_corpus.extras
    fmt = PromptFormat.from_extras(extras["prompt_format"])
    queries = build_queries(
        extras["prompt_tasks"], extras["prompt_demos"], fmt, tasks=["letter-map"],
        shots=[0, 8], seeds=2, limit=5, instruction=True,
    )  # fmt: skip
    assert len(queries) == 5 * (1 + 2)
    items = extras["prompt_tasks"]["letter-map"]
    for q in queries:
        lines = q.prompt.split("\n")
        assert len(lines) == q.k + 1 and lines[-1] == f"{items[q.index]['input']} ->"
        pool = {(d["input"], d["output"]) for d in items[q.index]["demos"]}
        assert all(tuple(line.split(" -> ")) in pool for line in lines[:-1])
    shown = [q for q in queries if q.k == 8 and f"\n{items[q.index]['input']} -> " in q.prompt]
    assert shown  # the query's own input recurs among its demonstrations


# -- the evaluation: task_file and logged items -------------------------------------------------


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.fixture(scope="module")
def tokenizer(icl_corpus, registry):
    spec = registry.tokenizer("char")
    tok = spec.factory(spec.config())
    tok.fit(icl_corpus.texts())
    return tok


@pytest.fixture(scope="module")
def model(registry, tokenizer):
    spec = registry.architecture("gpt")
    torch.manual_seed(0)
    options = spec.config(n_layer=1, n_head=2, n_embd=16, block_size=256)
    return spec.factory(options, ModelContext(vocab_size=tokenizer.vocab_size))


def run_eval(model, tokenizer, dataset, items: list | None = None, **options) -> dict[str, float]:
    ctx = EvaluationContext(
        config=FewShotConfig(**options),
        run=RunInfo(id=1, name="t", seed=0, run_dir=Path("."), home=Path(".")),
        model=model,
        tokenizer=tokenizer,
        dataset=dataset,
        log_items=items.extend if items is not None else (lambda rows: None),
    )
    return evaluate_few_shot(ctx)


def write_lines(path: Path, lines: list) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def test_default_tasks_are_the_ones_in_the_text(model, tokenizer, icl_corpus):
    metrics = run_eval(model, tokenizer, icl_corpus, shots=[0], seeds=1, limit=1)
    assert {key.split("/")[1] for key in metrics if key.startswith("items/")} == set(ICL_TASKS)


def test_logged_items_cover_every_prompt(model, tokenizer, icl_corpus):
    items: list[dict] = []
    metrics = run_eval(
        model, tokenizer, icl_corpus, items, tasks=["letter-map", "first-letter"],
        shots=[0, 1, 4], seeds=2, limit=3,
    )  # fmt: skip
    assert len(items) == 2 * 3 * (1 + 2 + 2)
    assert {(i["task"], i["k"]) for i in items} == {
        (t, k) for t in ("letter-map", "first-letter") for k in (0, 1, 4)
    }
    for item in items:
        assert set(item) == {"task", "k", "seed", "item", "prompt", "answer", "target", "correct"}
        assert item["correct"] == (item["answer"].strip() == item["target"])
    for task in ("letter-map", "first-letter"):
        for k in (0, 1, 4):
            rows = [i for i in items if i["task"] == task and i["k"] == k]
            assert metrics[f"acc/{task}/k={k}"] == pytest.approx(
                sum(r["correct"] for r in rows) / len(rows)
            )


def test_task_file_evaluates_the_users_tasks(model, tokenizer, icl_corpus, tmp_path):
    lines = [{"task": "echo", "input": w, "output": w} for w in ("cat", "dog", "owl", "hen")]
    lines += [{"task": "first", "input": w, "output": w[0]} for w in ("goat", "pony", "cake")]
    path = write_lines(tmp_path / "mine.jsonl", [*lines[:2], "", *lines[2:]])
    items: list[dict] = []
    metrics = run_eval(
        model, tokenizer, icl_corpus, items, task_file=str(path), shots=[0, 2], seeds=2
    )
    assert metrics["items/echo"] == 4 and metrics["items/first"] == 3 and metrics["items"] == 7
    assert "acc/echo/k=2" in metrics and "items/letter-map" not in metrics
    for item in items:
        demos = item["prompt"].strip("\n").split("\n")[:-1]
        assert len(demos) == item["k"]
        assert f"{lines[0]['input']} -> " not in "\n".join(demos) or item["item"] != 0


def test_task_file_errors_name_file_and_line(model, tokenizer, icl_corpus, tmp_path):
    good = {"task": "echo", "input": "cat", "output": "cat"}
    cases = {
        "not json": "{oops",
        "missing 'output'": {"task": "echo", "input": "cat"},
        "unknown key(s) 'label'": {**good, "label": 1},
        "'input' must be a string": {**good, "input": 3},
    }
    for message, bad in cases.items():
        path = write_lines(tmp_path / "bad.jsonl", [good, "", bad])
        with pytest.raises(ValueError) as error:
            run_eval(model, tokenizer, icl_corpus, task_file=str(path), shots=[0])
        assert f"{path}:3" in str(error.value)
        assert message in str(error.value) or message == "not json"
    with pytest.raises(ValueError, match="does not exist"):
        run_eval(model, tokenizer, icl_corpus, task_file=str(tmp_path / "none.jsonl"))


def test_task_file_character_outside_the_vocabulary_is_an_error(
    model, tokenizer, icl_corpus, tmp_path
):
    path = write_lines(
        tmp_path / "oov.jsonl",
        [{"task": "echo", "input": "cat", "output": "cat"},
         {"task": "echo", "input": "caf\u00e9", "output": "cafe"}],
    )  # fmt: skip
    with pytest.raises(ValueError) as error:
        run_eval(model, tokenizer, icl_corpus, task_file=str(path), shots=[0])
    text = str(error.value)
    assert f"{path}:2" in text and "U+00E9" in text and "'input'" in text
    assert "vocabulary" in text
    # The parser alone (no model) accepts it.
    assert len(load_task_file(path)["echo"]) == 2


def test_store_keeps_items_with_the_evaluation(tmp_path):
    store = open_store(Paths(tmp_path / "home"))
    run_id = store.create_run(
        name="r", stage="pretrain", architecture="gpt", dataset="synthetic", tokenizer="char",
        config={}, seed=0, plugin_versions={}, package_versions={},
    )  # fmt: skip
    rows = [
        {"task": t, "k": k, "seed": 0, "item": i, "prompt": f"{t}{k}{i}", "answer": "a",
         "target": "a" if i else "b", "correct": bool(i)}
        for t in ("x", "y") for k in (0, 4) for i in range(3)
    ]  # fmt: skip
    evaluation = store.add_evaluation(run_id, name="few-shot", config={}, metrics={}, items=rows)
    assert len(store.evaluation_items(evaluation)) == 12
    only = store.evaluation_items(evaluation, task="y", k=4)
    assert [r.prompt for r in only] == ["y40", "y41", "y42"]
    assert len(store.evaluation_items(evaluation, correct=False)) == 4
    assert store.evaluation_items(evaluation, limit=2)[0].task == "x"
    other = store.add_evaluation(run_id, name="few-shot", config={}, metrics={})
    assert store.evaluation_items(other) == []
