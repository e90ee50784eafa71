"""What the dashboard does, the command line does too: the full metric history, delete with the
dashboard's rules, the resolved config without running it, and a sample's prompt apart from its
output. (Rows are written directly: no training here.)"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest
import yaml

from workbench.cli import main
from workbench.paths import resolve_home
from workbench.store import open_store

COMMON = dict(
    stage="pretrain",
    architecture="gpt",
    dataset="synthetic",
    tokenizer="char",
    seed=1,
    plugin_versions={},
    package_versions={},
)


@pytest.fixture
def store(home):
    return open_store(resolve_home(home).ensure())


def finished_run(store, name: str, parent: int | None = None, status: str = "succeeded") -> int:
    run_id = store.create_run(name=name, config={"name": name}, parent_id=parent, **COMMON)
    store.set_status(run_id, "running")
    store.set_status(run_id, status)
    return run_id


# -- metrics -----------------------------------------------------------------------------------


def test_metrics_prints_the_whole_history(store, capsys):
    run = finished_run(store, "base")
    store.add_metrics(
        run,
        [
            (10, "train/loss", 2.5, 100.0),
            (20, "train/loss", 2.0, 101.0),
            (20, "val/loss", 2.25, 101.5),
            (30, "train/loss", 1.5, 102.0),
        ],
    )
    assert main(["metrics", "base"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["step", "train/loss", "val/loss"]
    assert [line.split() for line in lines[2:]] == [
        ["10", "2.5"],
        ["20", "2", "2.25"],
        ["30", "1.5"],
    ]

    assert main(["metrics", str(run), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0] == {"step": 10, "name": "train/loss", "value": 2.5, "wall_time": 100.0}
    assert [(r["step"], r["name"]) for r in rows] == [
        (10, "train/loss"),
        (20, "train/loss"),
        (20, "val/loss"),
        (30, "train/loss"),
    ]

    assert main(["metrics", "base", "--csv", "--metric", "val/loss"]) == 0
    records = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert records == [{"step": "20", "name": "val/loss", "value": "2.25", "wall_time": "101.5"}]


def test_metrics_refuses_an_unknown_metric_and_says_when_there_is_none(store, capsys):
    run = finished_run(store, "quiet")
    assert main(["metrics", "quiet"]) == 0
    assert "has logged no metrics yet" in capsys.readouterr().out
    store.add_metrics(run, [(1, "train/loss", 1.0, 0.0)])
    assert main(["metrics", "quiet", "--metric", "val/los"]) == 2
    assert "logged no metric 'val/los' (it logged: train/loss)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["metrics", "quiet", "--json", "--csv"])


# -- delete ------------------------------------------------------------------------------------


def test_delete_follows_the_dashboards_rules(home, store, capsys, monkeypatch):
    parent = finished_run(store, "parent")
    child = store.create_run(
        name="child", config={"name": "child"}, parent_id=parent, pid=os.getpid(), **COMMON
    )
    run_dir = resolve_home(home).run_dir(child)
    run_dir.mkdir(parents=True)
    (run_dir / "model.pt").write_bytes(b"weights")

    # A run others start from is refused, and so is an active one.
    assert main(["delete", "parent", "--yes"]) == 2
    assert f"run {parent} has child run(s) {child} that start from it" in capsys.readouterr().err
    assert main(["delete", str(child), "--yes"]) == 2
    assert "is queued; cancel it before deleting it" in capsys.readouterr().err

    store.set_status(child, "running")
    store.set_status(child, "failed", error="boom")
    # It asks first: "n", or no answer at all, keeps the run.
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert main(["delete", str(child)]) == 1
    captured = capsys.readouterr()
    assert f"Delete run {child} (child, failed)" in captured.err and "[y/N]" in captured.err
    assert "not deleted" in captured.err
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["delete", str(child)]) == 1
    assert store.get_run(child).status == "failed" and run_dir.is_dir()

    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert main(["delete", str(child)]) == 0
    assert f"run {child} deleted" in capsys.readouterr().out
    assert [r.id for r in store.list_runs()] == [parent]
    assert not run_dir.exists()

    # The child gone, the parent can go, without a question.
    assert main(["delete", "parent", "--yes"]) == 0
    assert store.list_runs() == []
    assert main(["delete", "parent", "--yes"]) == 2
    assert "no run with id or name 'parent'" in capsys.readouterr().err


def test_the_dashboard_and_the_cli_share_one_rule(home, store):
    from workbench.runner import deletion
    from workbench.ui import runs_tab
    from workbench.ui.context import UIContext

    parent = finished_run(store, "parent")
    child = finished_run(store, "child", parent=parent)
    ctx = UIContext(paths=resolve_home(home), store=store, registry=None)  # type: ignore[arg-type]
    with pytest.raises(deletion.DeleteRefused) as refused:
        deletion.check_deletable(store, parent)
    text, allowed = runs_tab.delete_question(ctx, parent)
    assert not allowed and str(refused.value) in text
    assert runs_tab.delete_run(ctx, child) == f"Run {child} deleted."


# -- run --print-config ------------------------------------------------------------------------


def test_print_config_resolves_presets_and_overrides_and_runs_nothing(home, tmp_path, capsys):
    config = {
        "name": "preset-run",
        "stage": {"name": "pretrain", "max_steps": 10},
        "architecture": {"name": "gpt", "preset": "gpt-nano", "n_layer": 3},
        "tokenizer": {"name": "char"},
        "dataset": {"name": "text-file", "path": "corpus.txt"},
        "trainer": {"precision": "bf16"},
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    code = main(["run", str(path), "--print-config", "--set", "stage.lr=3e-4"])
    assert code == 0
    resolved = yaml.safe_load(capsys.readouterr().out)
    assert resolved["architecture"] == {
        **resolved["architecture"],
        "name": "gpt",
        "preset": "gpt-nano",
        "n_layer": 3,  # explicit keys win over the preset
        "n_head": 2,
        "n_embd": 32,
        "block_size": 32,
    }
    assert resolved["stage"]["lr"] == 3e-4 and resolved["stage"]["batch_size"] == 12
    assert resolved["trainer"]["precision"] == "bf16-mixed"
    assert not (home / "workbench.db").exists()  # nothing recorded, not even a home

    config["architecture"]["n_layers"] = 2
    path.write_text(yaml.safe_dump(config))
    assert main(["run", str(path), "--print-config"]) == 2
    assert "did you mean 'n_layer'?" in capsys.readouterr().err


# -- show --------------------------------------------------------------------------------------


def test_show_separates_a_samples_prompt_from_its_output(store, capsys):
    run = finished_run(store, "sampled")
    prompt = "".join(f"Q{i}: line\n" for i in range(10)) + "A:"
    store.add_sample(run, step=5, prompt=prompt, text=" the answer\nand more")
    assert main(["show", "sampled"]) == 0
    text = capsys.readouterr().out
    assert "last sample (step 5)\n" in text
    assert "    prompt  (3 earlier line(s) not shown)\n" in text
    assert "            | Q3: line\n" in text and "| Q2: line" not in text
    assert "            | A:\n    output  |  the answer\n            | and more\n" in text

    store.add_sample(run, step=6, prompt="", text="  ")
    assert main(["show", "sampled"]) == 0
    assert "    prompt  (empty)\n    output  (empty)\n" in capsys.readouterr().out


# -- start-up ----------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["metrics", "1"], ["delete", "1", "--yes"]])
def test_the_new_commands_do_not_import_torch(tmp_path, args):
    code = (
        "import sys\nfrom workbench.cli import main\n"
        f"main(['--home', {str(tmp_path)!r}, *{args!r}])\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    modules = set(out.stdout.split())
    assert "workbench.cli.common" in modules  # the command ran
    assert "torch" not in modules
