"""The plugin registry: loading, failures reported and skipped, allow and block lists."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from workbench import hookimpl
from workbench.registry import UnknownPluginError, load_registry
from workbench.specs import ArchitectureSpec, DatasetSpec, TokenizerSpec


class Opts(BaseModel):
    size: int = 1


def _arch(name: str, config=Opts) -> ArchitectureSpec:
    return ArchitectureSpec(
        name=name,
        summary=f"{name} net",
        config=config,
        factory=lambda c, ctx: None,
        protocols=("causal-lm",),
    )


class GoodPlugin:
    @hookimpl
    def register_architectures(self, register):
        register(_arch("good-net"))

    @hookimpl
    def register_tokenizers(self, register):
        register(TokenizerSpec(name="good-tok", summary="t", config=Opts, factory=lambda c: None))


class SecondPlugin:
    @hookimpl
    def register_architectures(self, register):
        register(_arch("good-net"))  # duplicate of GoodPlugin's

    @hookimpl
    def register_datasets(self, register):
        register(
            DatasetSpec(name="other-data", summary="d", config=Opts, factory=lambda c, x: None)
        )


class NotPydantic:
    size = 1


class BadSpecPlugin:
    @hookimpl
    def register_architectures(self, register):
        register(_arch("ok-net"))
        register(_arch("bad-net", config=NotPydantic))


class RaisingPlugin:
    @hookimpl
    def register_datasets(self, register):
        raise RuntimeError("hook exploded")


class NoArgsPlugin:
    """A hook implementation may take fewer arguments than the spec (here: none)."""

    @hookimpl
    def register_annotators(self):
        pass


def _load(*plugins, **kwargs):
    return load_registry(use_entry_points=False, modules=[], plugins=plugins, **kwargs)


def test_good_plugin_registers_its_specs():
    registry = _load(("good", GoodPlugin()), ("noargs", NoArgsPlugin()))
    assert registry.names("architectures") == ["good-net"]
    assert registry.names("tokenizers") == ["good-tok"]
    assert registry.owner("architectures", "good-net") == "good"
    assert [p.name for p in registry.plugins] == ["good", "noargs"]
    assert registry.failed == []
    assert registry.to_json()["loaded"][0]["specs"]["architectures"] == ["good-net"]


def test_import_error_is_reported_and_others_still_load():
    registry = load_registry(
        use_entry_points=False,
        modules=["wb_test_plugins.broken_import"],
        plugins=[("good", GoodPlugin())],
    )
    assert [f.name for f in registry.failed] == ["wb_test_plugins.broken_import"]
    assert "this plugin is broken on purpose" in registry.failed[0].error
    assert registry.names("architectures") == ["good-net"]


def test_duplicate_name_rejects_the_second_plugin_whole():
    registry = _load(("good", GoodPlugin()), ("second", SecondPlugin()))
    assert [f.name for f in registry.failed] == ["second"]
    assert "duplicate architecture name 'good-net'" in registry.failed[0].error
    assert "'good'" in registry.failed[0].error
    # all-or-nothing: the second plugin's other spec is not half-registered
    assert "other-data" not in registry.names("datasets")
    assert registry.owner("architectures", "good-net") == "good"


def test_spec_whose_config_is_not_pydantic_is_rejected():
    registry = _load(("bad", BadSpecPlugin()), ("good", GoodPlugin()))
    assert [f.name for f in registry.failed] == ["bad"]
    assert "Config must be a pydantic BaseModel" in registry.failed[0].error
    assert "ok-net" not in registry.names("architectures")
    assert "good-net" in registry.names("architectures")


def test_config_field_named_like_the_block_key_is_rejected():
    class Named(BaseModel):
        name: str = "x"

    class NamedPlugin:
        @hookimpl
        def register_datasets(self, register):
            register(DatasetSpec(name="named", summary="s", config=Named, factory=lambda c, x: c))

    registry = _load(("named", NamedPlugin()), ("good", GoodPlugin()))
    assert [f.name for f in registry.failed] == ["named"]
    assert "Config declares name" in registry.failed[0].error
    assert "good-net" in registry.names("architectures")


def test_hook_that_raises_is_reported():
    registry = _load(("raising", RaisingPlugin()), ("good", GoodPlugin()))
    assert [f.name for f in registry.failed] == ["raising"]
    assert "hook exploded" in registry.failed[0].error
    assert [p.name for p in registry.plugins] == ["good"]


def test_allow_list_loads_only_named_plugins():
    registry = _load(("good", GoodPlugin()), ("second", SecondPlugin()), allow=["second"])
    assert [p.name for p in registry.plugins] == ["second"]
    assert registry.failed == []


def test_block_list_disables_one_plugin():
    registry = _load(("good", GoodPlugin()), ("second", SecondPlugin()), block=["good"])
    assert [p.name for p in registry.plugins] == ["second"]


def test_environment_variables_drive_allow_and_block(monkeypatch):
    monkeypatch.setenv("WORKBENCH_PLUGINS", "gpt,toy")
    registry = load_registry()
    assert sorted(p.name for p in registry.plugins) == ["gpt", "toy"]
    monkeypatch.delenv("WORKBENCH_PLUGINS")
    monkeypatch.setenv("WORKBENCH_DISABLE_PLUGINS", "toy")
    registry = load_registry()
    assert "toy" not in [p.name for p in registry.plugins]
    assert "bigram" not in registry.names("architectures")


def test_builtins_come_from_entry_points():
    registry = load_registry()
    names = {p.name for p in registry.plugins}
    assert {"gpt", "text", "toy"} <= names, registry.failed
    assert "gpt" in registry.names("architectures")
    assert "pretrain" in registry.names("stages")
    assert {"char", "bpe"} <= set(registry.names("tokenizers"))
    assert all(p.version for p in registry.plugins)


def test_unknown_name_lists_what_is_available():
    registry = _load(("good", GoodPlugin()))
    with pytest.raises(
        UnknownPluginError, match=r"unknown architecture 'nope' \(available: good-net\)"
    ):
        registry.architecture("nope")


def test_compatibility_follows_protocols():
    registry = load_registry()
    assert "gpt" in registry.compatible_architectures("pretrain")
    assert "bigram" in registry.compatible_architectures("pretrain")
    assert "text-file" in registry.compatible_datasets("pretrain")


def test_evaluations_are_found_by_what_they_measure():
    """The core reads a run's labelled-task accuracy by kind, not by an evaluation's name."""
    from workbench.specs import LABELLED_TASK_ACCURACY

    registry = load_registry()
    assert registry.evaluations_measuring(LABELLED_TASK_ACCURACY) == ["task-accuracy"]
    assert registry.evaluations_measuring("nothing-measures-this") == []
