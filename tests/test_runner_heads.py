"""Heads a stage adds on top of the architecture: saved with the run, handed to evaluations,
to child runs (``parent_heads``) and to stages that load another run (``load_run``)."""

from __future__ import annotations

import json

import torch

from workbench.cli import main
from workbench.paths import resolve_home
from workbench.runner import build
from workbench.store import open_store

GPT_NANO = {"name": "gpt", "preset": "gpt-nano", "n_layer": 1, "block_size": 16}


def headed(write_config, name: str, **stage):
    path = write_config(name, name="headed-pretrain", max_steps=4, eval_interval=2, **stage)
    text = path.read_text().replace("name: bigram", "name: gpt\n  preset: gpt-nano\n  n_layer: 1")
    path.write_text(text)
    return path


def test_heads_are_saved_evaluated_inherited_and_loadable(home, write_config, capsys):
    assert main(["run", str(headed(write_config, "parent"))]) == 0
    paths = resolve_home(home)
    store = open_store(paths)
    parent_dir = paths.run_dir(1)
    heads = build.load_heads(parent_dir)
    assert set(heads) == {"probe"}
    assert torch.equal(heads["probe"]["weight"], torch.ones_like(heads["probe"]["weight"]))
    assert "heads" in {artifact.kind for artifact in store.artifacts(1)}

    capsys.readouterr()
    assert main(["evaluate", "1", "heads-echo", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["metrics"] == {"head_mean": 1.0, "stage_max_steps": 4.0}

    child = headed(write_config, "child", peek_run="parent")
    config = child.read_text() + "init_from: parent\n"
    child.write_text(config)
    assert main(["run", str(child)]) == 0
    child_heads = build.load_heads(paths.run_dir(2))
    # The child's stage started from the parent's head (weights 1) and added one.
    assert float(child_heads["probe"]["weight"].mean()) == 2.0
    peek = [s for s in store.samples(2) if s.prompt == "peek"]
    assert [s.text for s in peek] == ["probe"]


def test_a_run_without_heads_has_none_and_the_evaluation_error_is_clean(home, write_config, capsys):
    assert main(["run", str(write_config("plain"))]) == 0
    assert build.load_heads(resolve_home(home).run_dir(1)) == {}
    assert not (resolve_home(home).run_dir(1) / build.HEADS_FILE).exists()
    capsys.readouterr()
    assert main(["evaluate", "1", "heads-echo"]) == 2
    assert "no probe head" in capsys.readouterr().err
