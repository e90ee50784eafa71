"""Entry points load whatever class represents them: with the importlib_metadata backport
installed (mlflow brings it), ``importlib.metadata`` hands back the backport's EntryPoint, and the
built-in plugins must load all the same."""

from __future__ import annotations

import dataclasses
from importlib import metadata

from workbench import registry as registry_module


class ForeignEntryPoint:
    """Looks like an entry point but is not ``importlib.metadata.EntryPoint``."""

    def __init__(self, real: metadata.EntryPoint):
        self.name = real.name
        self.dist = real.dist
        self._real = real

    def load(self):
        return self._real.load()


def test_entry_points_of_another_class_still_load(monkeypatch):
    real = registry_module._entry_points()
    assert real.builtins, "the built-in plugins' entry points are not installed"
    foreign = dataclasses.replace(
        real,
        builtins=[ForeignEntryPoint(ep) for ep in real.builtins],
        others=[ForeignEntryPoint(ep) for ep in real.others],
    )
    monkeypatch.setattr(registry_module, "_entry_points", lambda: foreign)
    loaded = registry_module.load_registry(modules=[])
    assert loaded.failed == []
    assert all(plugin.builtin for plugin in loaded.plugins)
    assert {"pretrain", "reward-model", "ppo"} <= set(loaded.names("stages"))
