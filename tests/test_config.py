"""Run configs: YAML, overrides, validation through each plugin's Config, and the messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workbench.config import ConfigError, apply_overrides, load_config, resolve_config
from workbench.registry import load_registry

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def base() -> dict:
    return {
        "name": "t",
        "stage": {"name": "pretrain", "max_steps": 10, "lr": 1e-3},
        "architecture": {"name": "gpt", "n_layer": 2, "n_head": 2, "n_embd": 16, "block_size": 16},
        "tokenizer": {"name": "char"},
        "dataset": {"name": "text-file", "path": "corpus.txt"},
    }


def errors_of(raw, registry) -> str:
    with pytest.raises(ConfigError) as info:
        resolve_config(raw, registry)
    return str(info.value)


def test_good_config_resolves_with_defaults_filled(registry):
    resolved = resolve_config(base(), registry)
    data = resolved.to_dict()
    assert data["stage"]["lr"] == 1e-3
    assert data["stage"]["batch_size"] == 12  # default from the stage's Config
    assert data["trainer"]["precision"] == "32-true"
    assert data["architecture"]["name"] == "gpt"
    # the resolved dict validates again to the same thing (stored configs are re-run)
    assert resolve_config(data, registry).to_dict() == data


def test_good_file_with_overrides(tmp_path, registry):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(base()))
    resolved = load_config(path, registry, ["stage.lr=3e-4", "architecture.n_layer=3", "seed=7"])
    assert resolved.options["stage"].lr == pytest.approx(3e-4)
    assert resolved.options["architecture"].n_layer == 3
    assert resolved.run.seed == 7


def test_unknown_plugin_is_named_with_alternatives(registry):
    raw = base()
    raw["architecture"]["name"] = "gtp"
    message = errors_of(raw, registry)
    assert "architecture.name: unknown architecture 'gtp'" in message
    assert "gpt" in message and "bigram" in message


def test_bad_field_type_names_block_field_and_rule(registry):
    raw = apply_overrides(base(), ["stage.lr=fast"])
    message = errors_of(raw, registry)
    assert message.startswith("stage.lr: Input should be a valid number")
    assert "'fast'" in message


def test_unknown_field_is_refused_with_the_valid_ones(registry):
    raw = base()
    raw["architecture"]["n_layers"] = 4
    message = errors_of(raw, registry)
    assert "architecture.n_layers: unknown field" in message
    assert "n_layer" in message


def test_unknown_top_level_key_and_bound_violation(registry):
    raw = base()
    raw["stgae"] = {}
    raw["stage"]["max_steps"] = 0
    message = errors_of(raw, registry)
    assert "stgae: unknown field" in message
    raw.pop("stgae")
    message = errors_of(raw, registry)
    assert "stage.max_steps: Input should be greater than or equal to 1" in message


def test_all_problems_are_reported_together(registry):
    raw = base()
    raw["stage"]["lr"] = "x"
    raw["tokenizer"]["name"] = "nope"
    message = errors_of(raw, registry)
    assert "stage.lr" in message and "tokenizer.name" in message


def test_architecture_must_implement_the_stage_protocol(registry):
    from workbench import hookimpl
    from workbench.specs import ArchitectureSpec

    class Seq2SeqOnly:
        @hookimpl
        def register_architectures(self, register):
            from pydantic import BaseModel

            class Cfg(BaseModel):
                pass

            register(
                ArchitectureSpec(
                    name="s2s",
                    summary="x",
                    config=Cfg,
                    factory=lambda c, ctx: None,
                    protocols=("seq2seq",),
                )
            )

    reg = load_registry(plugins=[("s2s", Seq2SeqOnly())])
    raw = base()
    raw["architecture"] = {"name": "s2s"}
    message = errors_of(raw, reg)
    assert "does not implement protocol 'causal-lm' required by stage 'pretrain'" in message


def test_presets_expand_and_explicit_keys_win(registry):
    raw = base()
    raw["architecture"] = {"name": "gpt", "preset": "nanogpt-cpu", "n_layer": 2}
    arch = resolve_config(raw, registry).options["architecture"]
    assert (arch.n_layer, arch.n_head, arch.n_embd, arch.block_size) == (2, 4, 128, 64)
    raw["architecture"] = {"name": "gpt", "preset": "huge"}
    assert "architecture.preset: unknown preset 'huge'" in errors_of(raw, registry)


def test_bad_override_syntax_and_yaml_errors(tmp_path, registry):
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        apply_overrides(base(), ["stage.lr"])
    with pytest.raises(ConfigError, match="stage.lr is not a mapping"):
        apply_overrides(base(), ["stage.lr.x=1"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML at line"):
        load_config(bad, registry)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.yaml", registry)


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_validates(path, registry):
    resolved = load_config(path, registry)
    assert resolved.name


def test_every_error_of_one_block_is_reported_with_the_closest_field(registry):
    raw = base()
    raw["stage"].update({"max_step": 10, "lr": "x", "batch_size": 0})  # an unknown key first
    lines = errors_of(raw, registry).splitlines()
    assert "stage.max_step: unknown field, did you mean 'max_steps'? (valid fields: " in lines[0]
    assert any(line.startswith("stage.lr: Input should be a valid number") for line in lines)
    assert any(line.startswith("stage.batch_size: Input should be greater") for line in lines)


def test_top_level_and_block_errors_come_together(registry):
    raw = base()
    raw["stgae"] = {}
    raw["trainer"] = {"precison": "bf16"}
    raw["stage"]["max_steps"] = 0
    raw["architecture"]["preset"] = "gpt-nan"
    raw["tokenizer"]["name"] = "chr"
    message = errors_of(raw, registry)
    assert "stgae: unknown field, did you mean 'stage'?" in message
    assert "trainer.precison: unknown field, did you mean 'precision'?" in message
    assert "stage.max_steps: Input should be greater than or equal to 1" in message
    assert "architecture.preset: unknown preset 'gpt-nan'; did you mean 'gpt-nano'?" in message
    assert "tokenizer.name: unknown tokenizer 'chr'; did you mean 'char'?" in message


def test_a_malformed_block_does_not_hide_the_others(registry):
    raw = base()
    raw["dataset"] = "text-file"  # not a mapping
    raw["stage"]["lr"] = "x"
    message = errors_of(raw, registry)
    assert "dataset: Input should be a valid dictionary" in message
    assert "stage.lr: Input should be a valid number" in message


def test_no_suggestion_when_nothing_is_close(registry):
    raw = base()
    raw["architecture"]["name"] = "zzz"
    raw["architecture"]["qqq"] = 1
    message = errors_of(raw, registry)
    assert "did you mean" not in message
    assert "unknown architecture 'zzz' (available: bigram, gpt" in message


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (16, "16-mixed"),
        ("16", "16-mixed"),
        ("bf16", "bf16-mixed"),
        ("BF16", "bf16-mixed"),
        (32, "32-true"),
        ("32", "32-true"),
        (64, "64-true"),
        ("16-mixed", "16-mixed"),
        ("bf16-mixed", "bf16-mixed"),
        ("bf16-true", "bf16-true"),
        ("16-true", "16-true"),
        ("32-true", "32-true"),
        ("64-true", "64-true"),
    ],
)
def test_lightnings_precision_aliases_are_accepted(registry, given, stored):
    raw = base()
    raw["trainer"] = {"precision": given}
    data = resolve_config(raw, registry).to_dict()
    assert data["trainer"]["precision"] == stored
    assert resolve_config(data, registry).to_dict() == data


def test_an_unknown_precision_names_the_closest(registry):
    raw = base()
    raw["trainer"] = {"precision": "bf16-mix"}
    message = errors_of(raw, registry)
    assert "trainer.precision: Value error, unknown precision 'bf16-mix'; did you mean" in message
    assert "'bf16-mixed'" in message and "aliases 64, 32, 16, bf16" in message
