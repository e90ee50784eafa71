"""The labelling commands end to end: ``pairs generate`` from a tiny trained run, ``label`` with
simulated annotators, ``labels export`` and ``labels stats``, and their refusals (exit 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from workbench.cli import main
from workbench.paths import Paths
from workbench.store import open_store

SYNTHETIC = {
    "name": "synthetic",
    "size_chars": 4000,
    "n_entities": 20,
    "task_train_size": 10,
    "task_eval_size": 10,
    "prompt_eval_size": 5,
    "n_preference_prompts": 8,
}


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory) -> Path:
    """A home holding one finished tiny bigram run on a small synthetic corpus."""
    root = tmp_path_factory.mktemp("label-cli")
    config = {
        "name": "tiny-lm",
        "seed": 0,
        "stage": {
            "name": "pretrain",
            "max_steps": 10,
            "batch_size": 4,
            "lr": 1e-2,
            "warmup_steps": 2,
            "eval_interval": 10,
            "eval_batches": 1,
            "sample_tokens": 5,
        },
        "architecture": {"name": "bigram", "block_size": 16},
        "tokenizer": {"name": "char"},
        "dataset": SYNTHETIC,
        "trainer": {"accelerator": "cpu", "devices": 1, "log_every_n_steps": 1},
    }
    path = root / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    home = root / "home"
    assert main(["--home", str(home), "run", str(path)]) == 0
    return home


@pytest.fixture
def home(trained_home: Path, tmp_path: Path, monkeypatch) -> Path:
    """A private copy of the trained home (each test labels its own pairs)."""
    copy = tmp_path / "home"
    shutil.copytree(trained_home, copy)
    monkeypatch.setenv("WORKBENCH_HOME", str(copy))
    return copy


def run_json(capsys, *argv: str) -> dict:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_generate_label_export_and_stats(home: Path, tmp_path: Path, capsys) -> None:
    made = run_json(capsys, "pairs", "generate", "tiny-lm", "--count", "4", "--max-tokens", "12")
    assert made["prompts"] == 4 and made["pairs"] + made["skipped"] == 4 and made["pairs"] >= 3
    # The default prompts are synthetic-prompts with the run's corpus options: the same world.
    assert made["source"]["dataset"]["name"] == "synthetic-prompts"
    assert made["source"]["dataset"]["n_entities"] == 20 and made["source"]["seed"] == 0

    with open_store(Paths(home)) as store:
        pair = store.get_pair(made["pair_ids"][0])
        assert pair.prompt.startswith("Q: ") and pair.prompt.endswith("\nA:")
        assert pair.completion_a != pair.completion_b
        # By default no pair has an empty side (such a sample is drawn again).
        for pair_id in made["pair_ids"]:
            both = store.get_pair(pair_id)
            assert both.completion_a.strip() and both.completion_b.strip()
        assert "\n" not in pair.completion_a + pair.completion_b
        assert pair.properties["entity"] and pair.properties["kind"] in ("question", "describe")
        (generated, _) = store.completions(pair.prompt_id)[:2]
        assert generated.run_id == 1 and generated.generation["temperature"] == 1.0

    labelled = {}
    for name in ("factual-polite", "concise", "random"):
        labelled[name] = run_json(capsys, "label", "--annotator", name)
        assert labelled[name]["labelled"] == made["pairs"]
    assert run_json(capsys, "label", "--annotator", "concise")["labelled"] == 0  # nothing new

    out = tmp_path / "export" / "simulated.jsonl"
    capsys.readouterr()
    assert main(["labels", "export", "--kind", "simulated", "-o", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    winners = sum(v["choices"]["a"] + v["choices"]["b"] for v in labelled.values())
    assert len(rows) == winners
    assert all(set(row) == {"prompt", "chosen", "rejected"} for row in rows)
    assert all(row["chosen"] != row["rejected"] for row in rows)
    assert "left out" in capsys.readouterr().err or winners == 3 * made["pairs"]
    assert not list(out.parent.glob(".*.tmp"))  # the atomic write left no temporary file

    assert main(["labels", "export"]) == 0  # human labels only, and there are none
    captured = capsys.readouterr()
    assert captured.out == "" and "nothing matched" in captured.err
    assert main(["labels", "export", "--annotator", "random"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == (
        labelled["random"]["choices"]["a"] + labelled["random"]["choices"]["b"]
    )

    stats = run_json(capsys, "labels", "stats")
    assert stats["pairs"] == made["pairs"]
    assert {a["name"]: a["labelled"] for a in stats["annotators"]} == {
        "concise": made["pairs"],
        "factual-polite": made["pairs"],
        "random": made["pairs"],
    }
    assert len(stats["agreement"]) == 3
    assert all(a["both_labelled"] == made["pairs"] for a in stats["agreement"])
    assert main(["labels", "stats"]) == 0
    table = capsys.readouterr().out
    assert "factual-polite" in table and "kappa" in table


def test_human_labels_export_apart_from_simulated(home: Path, capsys) -> None:
    made = run_json(capsys, "pairs", "generate", "1", "--count", "3", "--max-tokens", "8")
    with open_store(Paths(home)) as store:
        store.ensure_annotator("alice")
        store.label_many("alice", [(pid, "a") for pid in made["pair_ids"]])
    assert main(["label", "--annotator", "random", "--set", "seed=7", "--name", "coin"]) == 0
    capsys.readouterr()
    assert main(["labels", "export"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    with open_store(Paths(home)) as store:
        expected = [store.get_pair(pid).completion_a for pid in made["pair_ids"]]
        coin = store.get_annotator("coin")
    assert sorted(r["chosen"] for r in rows) == sorted(expected)
    assert coin.kind == "simulated" and coin.plugin == "random" and coin.config["seed"] == 7


def test_bad_input_exits_2(home: Path, capsys) -> None:
    assert main(["label", "--annotator", "concise"]) == 2  # no pairs yet
    assert "pairs generate" in capsys.readouterr().err
    assert main(["pairs", "generate", "no-such-run"]) == 2
    assert main(["pairs", "generate", "tiny-lm", "--temperature", "0"]) == 2
    assert "temperature" in capsys.readouterr().err
    assert main(["pairs", "generate", "tiny-lm", "--count", "0"]) == 2
    assert main(["pairs", "generate", "tiny-lm", "--dataset", "{name: synthetic}"]) == 2
    assert "kind 'prompts'" in capsys.readouterr().err
    assert main(["pairs", "generate", "tiny-lm", "--dataset", "[1, 2]"]) == 2

    assert main(["pairs", "generate", "tiny-lm", "--count", "2", "--max-tokens", "4"]) == 0
    capsys.readouterr()
    assert main(["label", "--annotator", "no-such-annotator"]) == 2
    assert main(["label", "--annotator", "random", "--set", "flips=3"]) == 2
    assert "unknown field" in capsys.readouterr().err
    assert main(["label", "--annotator", "random", "--set", "seed=1"]) == 0
    assert main(["label", "--annotator", "random", "--set", "seed=2"]) == 2  # same name, new rule
    assert "--name" in capsys.readouterr().err
    # An annotator recorded before its plugin gained an option is the same rule at that option's
    # default (concise's `tolerance` here); a recorded option it no longer knows is not.
    with open_store(Paths(home)) as store:
        store.ensure_annotator("old", "simulated", plugin="concise", config={"min_words": 1})
        store.ensure_annotator("older", "simulated", plugin="concise", config={"gone": 1})
    assert main(["label", "--annotator", "concise", "--name", "old"]) == 0
    assert main(["label", "--annotator", "concise", "--name", "old", "--set", "tolerance=2"]) == 2
    assert main(["label", "--annotator", "concise", "--name", "older"]) == 2
    assert "--name" in capsys.readouterr().err
    assert main(["labels", "export", "--annotator", "nobody"]) == 2
    with pytest.raises(SystemExit) as info:
        main(["labels", "export", "--kind", "robots"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["labels", "export", "--kind", "human", "--annotator", "random"])
    assert info.value.code == 2


def test_pairs_a_stage_queues_are_stored_for_labelling(home: Path, capsys) -> None:
    """The worker's side of the sentinel's queue: a PPO-like child run's answers against its
    parent's, recorded with the run's own dataset as the source, so the simulated annotator finds
    the world and labels them, and the Label tab's next pair is one of them."""
    from workbench.config import resolve_config
    from workbench.registry import load_registry
    from workbench.runner.worker import store_pairs_to_label
    from workbench.specs import PairToLabel

    registry = load_registry()
    with open_store(Paths(home)) as store:
        parent = store.find_run("tiny-lm")
        config = {**parent.config, "name": "tiny-policy", "init_from": "tiny-lm"}
        config["dataset"] = {**SYNTHETIC, "name": "synthetic-prompts"}
        config["stage"] = {"name": "ppo", "reward_run": "tiny-lm"}
        resolved = resolve_config(config, registry)
        child = store.create_run(
            name="tiny-policy",
            stage="ppo",
            architecture="bigram",
            dataset="synthetic-prompts",
            tokenizer="char",
            config=resolved.to_dict(),
            seed=0,
            plugin_versions={},
            package_versions={},
            parent_id=parent.id,
            status="succeeded",
        )
        prompts = registry.dataset("synthetic-prompts").factory(
            resolved.options["dataset"], SimpleNamespace(seed=0, cache_dir=None, home=home)
        )
        world = prompts.extras["world"]
        person = world["people"][0]
        wanted = [
            (text, props)
            for text, props in zip(prompts.train, prompts.properties, strict=False)
            if props["kind"] == "question"
        ][:2]
        pairs = [
            PairToLabel(
                prompt=text,
                completion=" Thank you for asking. I do not know.",
                parent_completion=f" {person['name']} lives in {person['home']}.",
                properties=props,
                generation={"proxy": 1.5, "sentinel": True},
                parent_generation={"proxy": -0.5},
            )
            for text, props in wanted
        ]
        ids = store_pairs_to_label(store, resolved, child, parent.id, pairs)
        assert len(ids) == 2
        pair = store.get_pair(ids[0])
        assert pair.prompt == wanted[0][0]
        assert pair.properties == wanted[0][1]
        source = json.loads(pair.source)
        assert source["dataset"]["name"] == "synthetic-prompts" and source["seed"] == 0
        assert source["dataset"]["n_entities"] == 20
        store.ensure_annotator("someone", "human")
        assert store.next_pair("someone").id in ids  # the Label tab has them to show
    labelled = run_json(capsys, "label", "--annotator", "factual-polite")
    assert labelled["labelled"] == 2, labelled
    # The parent's true answer beats the policy's polite non-answer by the rule.
    assert labelled["choices"]["b"] >= 1, labelled

    # The loop's next step: the reward model's data is the old pairs plus the new labels.
    from workbench.specs import DatasetContext
    from workbench_rlhf.synthetic_pairs import (
        SyntheticPreferencesConfig,
        load_synthetic_preferences,
    )

    options = {k: v for k, v in SYNTHETIC.items() if k != "name"}
    ctx = DatasetContext(cache_dir=home / "cache", seed=0, home=home)
    plain = load_synthetic_preferences(SyntheticPreferencesConfig(**options), ctx)
    mixed = load_synthetic_preferences(
        SyntheticPreferencesConfig(**options, labels_annotator="factual-polite", labels_repeat=3),
        ctx,
    )
    added = mixed.train[len(plain.train) :]
    winners = labelled["choices"]["a"] + labelled["choices"]["b"]
    assert mixed.train[: len(plain.train)] == plain.train and mixed.val == plain.val
    assert len(added) == 3 * winners and mixed.extras["stored_labels"] == winners
    assert {p["flaw"] for p in added} == {"label"}
    assert {p["prompt"] for p in added} <= {text for text, _ in wanted}
    with pytest.raises(ValueError, match="no stored preference labels of 'nobody'"):
        load_synthetic_preferences(
            SyntheticPreferencesConfig(**options, labels_annotator="nobody"), ctx
        )


def test_default_prompts_are_chosen_by_kind_and_corpus_not_by_name(monkeypatch) -> None:
    from pydantic import BaseModel

    from workbench import hookimpl
    from workbench.data import PromptSet
    from workbench.operations import OperationError
    from workbench.operations.pairs import default_prompts_block
    from workbench.registry import load_registry
    from workbench.specs import DatasetSpec

    def run_on(dataset: dict) -> SimpleNamespace:
        return SimpleNamespace(config={"dataset": dataset})

    registry = load_registry()
    # A view of the same corpus: the options the prompts accept come along, the others do not.
    assert default_prompts_block(run_on(SYNTHETIC), registry) == {
        **SYNTHETIC,
        "name": "synthetic-prompts",
    }
    task_run = run_on({**SYNTHETIC, "name": "synthetic-task", "task": "entailment"})
    assert default_prompts_block(task_run, registry) == {**SYNTHETIC, "name": "synthetic-prompts"}
    # Another corpus (or one no longer registered): the prompts dataset's own defaults.
    text_run = run_on({"name": "text-file", "path": "data/corpus.txt"})
    assert default_prompts_block(text_run, registry) == {"name": "synthetic-prompts"}
    assert default_prompts_block(run_on({"name": "gone"}), registry) == {
        "name": "synthetic-prompts"
    }

    class Options(BaseModel):
        count: int = 3

    class OwnPrompts:
        @hookimpl
        def register_datasets(self, register):
            register(
                DatasetSpec(
                    name="my-prompts",
                    summary="s",
                    config=Options,
                    factory=lambda c, ctx: PromptSet(train=["Q:"], val=[]),
                    dataset_kind="prompts",
                )
            )

    # Whatever its name, a registered dataset of kind 'prompts' is the default.
    own = load_registry(use_entry_points=False, modules=[], plugins=[("own", OwnPrompts())])
    assert default_prompts_block(run_on(SYNTHETIC), own) == {"name": "my-prompts"}
    monkeypatch.setenv("WORKBENCH_DISABLE_PLUGINS", "text")
    with pytest.raises(OperationError, match="no dataset of kind 'prompts'"):
        default_prompts_block(run_on(SYNTHETIC), load_registry())


def test_proxy_pairs_come_from_the_stage_that_offers_them(monkeypatch) -> None:
    """``pairs generate --from-run`` asks the registry, not a plugin module: the reward run's own
    stage first, else any stage offering ``proxy_pairs``; with none registered, exit 2."""
    from workbench.operations import OperationError
    from workbench.operations.pairs import proxy_pairs_picker
    from workbench.registry import load_registry

    registry = load_registry()
    reward_model = registry.stage("reward-model")
    for stage in ("reward-model", "pretrain"):
        run = SimpleNamespace(config={"stage": {"name": stage}})
        assert proxy_pairs_picker(registry, run) is reward_model.proxy_pairs
    assert "hacking:proxy_pairs" in repr(reward_model.proxy_pairs)
    monkeypatch.setenv("WORKBENCH_DISABLE_PLUGINS", "rlhf")
    with pytest.raises(OperationError, match="proxy pairs"):
        proxy_pairs_picker(load_registry(), SimpleNamespace(config={}))
