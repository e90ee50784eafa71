"""Plugin isolation: a plugin that exits, or that takes a built-in's name, fails alone.

Third-party packages are faked as real distributions: a ``*.dist-info`` folder with an
``entry_points.txt`` on ``sys.path``, found by ``importlib.metadata`` exactly as an installed
package would be.
"""

from __future__ import annotations

import sys
from pathlib import Path
from textwrap import dedent

import pytest
from pydantic import BaseModel

from workbench import hookimpl
from workbench.registry import load_registry
from workbench.specs import ArchitectureSpec


class Opts(BaseModel):
    size: int = 1


def _arch(name: str) -> ArchitectureSpec:
    return ArchitectureSpec(
        name=name, summary="s", config=Opts, factory=lambda c, ctx: None, protocols=("causal-lm",)
    )


class GoodPlugin:
    @hookimpl
    def register_architectures(self, register):
        register(_arch("good-net"))


class ExitingHook:
    @hookimpl
    def register_architectures(self, register):
        register(_arch("never-seen"))
        sys.exit(3)


class BaseExceptionHook:
    @hookimpl
    def register_datasets(self, register):
        raise GeneratorExit("not an Exception subclass")


class InterruptedHook:
    @hookimpl
    def register_datasets(self, register):
        raise KeyboardInterrupt


def _load(*plugins, **kwargs):
    return load_registry(use_entry_points=False, modules=[], plugins=plugins, **kwargs)


def test_a_hook_calling_sys_exit_fails_only_that_plugin():
    registry = _load(("exiting", ExitingHook()), ("good", GoodPlugin()))
    assert [f.name for f in registry.failed] == ["exiting"]
    assert "sys.exit(3)" in registry.failed[0].error.splitlines()[-1]
    assert "never-seen" not in registry.names("architectures")
    assert registry.names("architectures") == ["good-net"]


def test_any_base_exception_from_a_hook_is_a_plugin_failure():
    registry = _load(("odd", BaseExceptionHook()), ("good", GoodPlugin()))
    assert [f.name for f in registry.failed] == ["odd"]
    assert "GeneratorExit" in registry.failed[0].error


def test_ctrl_c_is_not_swallowed():
    with pytest.raises(KeyboardInterrupt):
        _load(("interrupted", InterruptedHook()))


def test_a_module_calling_sys_exit_on_import_fails_only_that_plugin(fake_packages):
    fake_packages.module("exits_on_import", "import sys\nsys.exit('bye')\n")
    registry = load_registry(
        use_entry_points=False, modules=["exits_on_import"], plugins=[("good", GoodPlugin())]
    )
    assert [f.name for f in registry.failed] == ["exits_on_import"]
    assert "sys.exit('bye')" in registry.failed[0].error
    assert registry.names("architectures") == ["good-net"]


# -- built-ins win name clashes ------------------------------------------------------------------


class FakePackages:
    """Writes modules and ``*.dist-info`` folders into a folder put first on ``sys.path``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def module(self, name: str, source: str) -> None:
        (self.root / f"{name}.py").write_text(dedent(source))

    def distribution(self, name: str, entry_points: dict[str, str]) -> None:
        info = self.root / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        lines = "".join(f"{ep} = {target}\n" for ep, target in entry_points.items())
        (info / "entry_points.txt").write_text(f"[workbench]\n{lines}")


@pytest.fixture
def fake_packages(tmp_path, monkeypatch) -> FakePackages:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    for var in ("WORKBENCH_PLUGINS", "WORKBENCH_DISABLE_PLUGINS", "WORKBENCH_PLUGIN_MODULES"):
        monkeypatch.delenv(var, raising=False)
    yield FakePackages(root)
    for name in [m for m in sys.modules if m.startswith(("aaa_", "evil_", "exits_"))]:
        del sys.modules[name]


CLASHING_PLUGIN = """
from pydantic import BaseModel

from workbench import hookimpl
from workbench.specs import ArchitectureSpec


class Opts(BaseModel):
    size: int = 1


@hookimpl
def register_architectures(register):
    register(
        ArchitectureSpec(
            name="gpt", summary="not the real gpt", config=Opts, factory=lambda c, x: None
        )
    )
"""


def test_a_third_party_plugin_sorting_first_cannot_take_a_builtin_name(fake_packages):
    fake_packages.module("aaa_clash", CLASHING_PLUGIN)
    fake_packages.distribution("aaa-clash", {"aaa": "aaa_clash"})
    registry = load_registry()
    assert registry.owner("architectures", "gpt") == "gpt"
    assert registry.architecture("gpt").summary != "not the real gpt"
    assert "gpt" in [p.name for p in registry.plugins]
    (failure,) = [f for f in registry.failed if f.name == "aaa"]
    assert (
        "duplicate architecture name 'gpt' (already registered by built-in plugin 'gpt')"
        in failure.error
    )
    builtins = {p.name for p in registry.plugins if p.builtin}
    assert {"gpt", "text", "toy"} <= builtins and "aaa" not in builtins


def test_an_entry_point_named_like_a_builtin_is_refused_unloaded(fake_packages):
    fake_packages.module("evil_module", "IMPORTED = True\n" + CLASHING_PLUGIN)
    fake_packages.distribution("evil", {"gpt": "evil_module"})
    registry = load_registry()
    assert registry.owner("architectures", "gpt") == "gpt"
    assert registry.architecture("gpt").summary != "not the real gpt"
    (failure,) = [f for f in registry.failed if "evil" in f.name]
    assert failure.name == "gpt (from evil)"
    assert "named like the built-in plugin 'gpt'" in failure.error
    assert "evil_module" not in sys.modules
    assert [p.name for p in registry.plugins].count("gpt") == 1
    assert registry.to_json()["failed"][0]["name"] == "gpt (from evil)"


def test_a_well_behaved_third_party_package_still_loads(fake_packages):
    fake_packages.module(
        "aaa_fine",
        CLASHING_PLUGIN.replace('name="gpt"', 'name="fine-net"'),
    )
    fake_packages.distribution("aaa-fine", {"fine": "aaa_fine"})
    registry = load_registry()
    assert registry.owner("architectures", "fine-net") == "fine"
    assert registry.failed == []
    (fine,) = [p for p in registry.plugins if p.name == "fine"]
    assert fine.version == "1.0" and not fine.builtin
