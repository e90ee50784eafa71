"""CLI commands that read the store or the registry (no training here: rows are written directly)."""

from __future__ import annotations

import json
import os

from workbench.cli import main
from workbench.paths import resolve_home
from workbench.store import open_store


def make_runs(home):
    store = open_store(resolve_home(home).ensure())
    common = dict(
        stage="pretrain",
        architecture="gpt",
        dataset="synthetic",
        tokenizer="char",
        seed=1,
        plugin_versions={},
        package_versions={},
    )
    parent = store.create_run(name="base", config={"name": "base"}, **common)
    store.set_status(parent, "running")
    store.add_metrics(
        parent,
        [(10, "train/loss", 2.5, 0.0), (20, "train/loss", 2.0, 1.0), (20, "val/loss", 2.2, 1.0)],
    )
    store.set_status(parent, "succeeded")
    # queued, owned by this live process (as the launcher records it)
    child = store.create_run(
        name="child", config={"name": "child"}, parent_id=parent, pid=os.getpid(), **common
    )
    return store, parent, child


def test_runs_json_lists_runs_with_last_metrics(home, capsys):
    _, parent, child = make_runs(home)
    assert main(["runs", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == [child, parent]
    by_id = {r["id"]: r for r in rows}
    assert by_id[parent]["metrics"] == {"train/loss": 2.0, "val/loss": 2.2}
    assert by_id[child]["parent"] == parent
    assert {"id", "name", "stage", "status", "parent", "metrics"} <= set(by_id[child])
    assert main(["runs", "--status", "succeeded", "--json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == [parent]


def test_show_by_id_and_name(home, capsys):
    store, parent, child = make_runs(home)
    store.add_evaluation(parent, name="perplexity", config={}, metrics={"perplexity": 5.25})
    assert main(["show", "base"]) == 0
    text = capsys.readouterr().out
    assert "evaluations" in text and "perplexity" in text and "5.25" in text
    assert main(["show", "base", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["id"] == parent and data["children"] == [child]
    assert main(["show", str(child)]) == 0
    assert "run 2: child" in capsys.readouterr().out
    assert main(["show", "nope"]) == 2
    assert "no run with id or name 'nope'" in capsys.readouterr().err


def test_items_shows_an_evaluations_items_filtered_by_task_and_k(home, capsys):
    store, parent, _ = make_runs(home)
    rows = [
        {"task": t, "k": k, "seed": 0, "item": 0, "prompt": f"\n\n{t} {k} ->",
         "answer": " x", "target": "x" if k else "y", "correct": bool(k)}
        for t in ("echo", "flip") for k in (0, 8)
    ]  # fmt: skip
    evaluation = store.add_evaluation(parent, name="few-shot", config={}, metrics={}, items=rows)
    assert main(["show", "base"]) == 0
    assert f"#{evaluation}" in capsys.readouterr().out
    assert main(["items", str(evaluation), "--task", "flip", "--k", "8"]) == 0
    text = capsys.readouterr().out
    assert "1 item(s)" in text and "flip" in text and "echo" not in text
    assert main(["items", str(evaluation), "--wrong", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(d["task"], d["k"], d["correct"]) for d in data] == [
        ("echo", 0, False),
        ("flip", 0, False),
    ]
    assert data[0]["prompt"] == "\n\necho 0 ->"
    assert main(["items", "999"]) == 2
    assert "no evaluation with id 999" in capsys.readouterr().err


def test_show_lists_every_warning_sample(home, capsys):
    store, parent, _ = make_runs(home)
    store.add_sample(parent, step=40, prompt="[reward-hacking sentinel]", text="gold fell")
    store.add_sample(parent, step=80, prompt="Q: hi\nA:", text=" hello")
    assert main(["show", "base"]) == 0
    text = capsys.readouterr().out
    assert "warnings\n    step 40: [reward-hacking sentinel] gold fell" in text
    assert "last sample (step 80)" in text


def test_plugins_json_shape(home, capsys):
    assert main(["plugins", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"loaded", "failed", "specs"}
    gpt = next(p for p in data["loaded"] if p["name"] == "gpt")
    assert gpt["version"] and "gpt" in gpt["specs"]["architectures"]
    assert "pretrain" in gpt["specs"]["stages"]
    # Every spec with its protocols, presets and its Config's JSON schema.
    arch = next(s for s in data["specs"]["architectures"] if s["name"] == "gpt")
    assert arch["plugin"] == "gpt" and "causal-lm" in arch["protocols"]
    assert arch["presets"]["gpt-nano"]["n_layer"] == 2
    schema = arch["config_schema"]
    assert schema["properties"]["n_layer"]["minimum"] == 1
    assert schema["properties"]["norm"]["enum"] == ["pre", "post"]
    stage = next(s for s in data["specs"]["stages"] if s["name"] == "pretrain")
    assert stage["requires"] == "causal-lm" and stage["dataset_kinds"] == ["text"]
    assert "max_steps" in stage["config_schema"]["properties"]


def test_db_upgrade_and_check(home, capsys):
    assert main(["db", "upgrade"]) == 0
    assert "database at revision" in capsys.readouterr().out
    assert main(["db", "check"]) == 0
    assert "models match migrations" in capsys.readouterr().out


def test_cancel_refuses_finished_runs_and_cancels_queued_ones(home, capsys):
    store, parent, child = make_runs(home)
    assert main(["cancel", str(parent)]) == 2
    assert "only queued or running runs can be cancelled" in capsys.readouterr().err
    assert main(["cancel", str(child)]) == 0
    assert store.get_run(child).status == "cancelled"


def test_ui_refuses_public_host_without_auth(home, capsys):
    assert main(["ui", "--host", "0.0.0.0"]) == 2
    assert "--auth-file" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error(capsys):
    import pytest

    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
