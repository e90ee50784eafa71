"""Warnings about configs that are valid and make no sense, and the shipped configs they start
from (``workbench.starters``)."""

from __future__ import annotations

import yaml
from conftest import tiny_config

from workbench.cli import main
from workbench.config import resolve_config
from workbench.config_warnings import config_warnings, format_warnings
from workbench.registry import load_registry
from workbench.starters import DEFAULT_STARTER, starters


def _warned(config: dict) -> dict[str, str]:
    resolved = resolve_config(config, load_registry())
    return {w.location: w.message for w in config_warnings(resolved)}


def test_a_sensible_config_has_no_warning(corpus):
    assert _warned(tiny_config(corpus)) == {}


def test_each_rule_names_its_field(corpus):
    warned = _warned(
        tiny_config(
            corpus,
            max_steps=20,
            warmup_steps=20,
            eval_interval=50,
            checkpoint_every=40,
            lr=1e-3,
            lr_decay_steps=10,
        )
        | {"trainer": {"accelerator": "cpu", "log_every_n_steps": 30}}
    )
    assert set(warned) == {
        "stage.warmup_steps",
        "stage.eval_interval",
        "stage.checkpoint_every",
        "stage.lr_decay_steps",
        "trainer.log_every_n_steps",
    }
    assert "never decays" in warned["stage.warmup_steps"]
    assert "no validation curve" in warned["stage.eval_interval"]
    assert "no training loss" in warned["trainer.log_every_n_steps"]


def test_a_stage_without_those_options_is_not_warned_about():
    # finetune runs by epochs when max_steps is left out: no step-based rule applies.
    (finetune,) = [s for s in starters() if s.name == "gpt1-finetune"]
    config = finetune.load()
    config["stage"]["warmup_steps"] = 100_000
    assert config["stage"].get("max_steps") is None
    assert _warned(config) == {}


def test_every_shipped_config_is_valid_and_sensible():
    found = starters()
    assert found and found[0].name == DEFAULT_STARTER
    registry = load_registry()
    for starter in found:
        assert starter.summary, f"configs/{starter.path.name} has no first comment line"
        resolved = resolve_config(starter.load(), registry)
        assert config_warnings(resolved) == [], starter.name


def test_the_cli_prints_the_warnings_and_runs_anyway(home, corpus, tmp_path, capsys):
    path = tmp_path / "odd.yaml"
    path.write_text(yaml.safe_dump(tiny_config(corpus, max_steps=10, warmup_steps=10)))
    assert main(["run", str(path), "--create-only"]) == 0
    err = capsys.readouterr().err
    assert "warning: stage.warmup_steps: warmup_steps (10) ≥ max_steps (10)" in err
    assert format_warnings([]) == ""
