"""Registering specs is cheap: every built-in plugin's specs and options import neither torch nor
Lightning, and a factory given as a :class:`~workbench.specs.LazyFactory` imports its module only
when called. So ``workbench run`` validates a config, and ``workbench plugins`` lists the plugins,
without importing either (the worker that trains imports them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from workbench.registry import KINDS, load_registry
from workbench.specs import LazyFactory, StageSpec

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = REPO / "configs" / "quickstart.yaml"
HEAVY = ("torch", "pytorch_lightning", "lightning")


def heavy_modules_after(code: str, tmp_path: Path) -> dict:
    """Run ``code`` in a fresh interpreter with only the built-in plugins; return which heavy
    modules it imported, and what the code put in ``result``."""
    probe = (
        "import json, sys\nresult = None\n"
        f"{code}\n"
        f"print(json.dumps({{'heavy': [m for m in {HEAVY!r} if m in sys.modules], "
        "'result': result}))"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("WORKBENCH_PLUGIN_MODULES", "WORKBENCH_PLUGINS", "WORKBENCH_DISABLE_PLUGINS")
    }
    env["WORKBENCH_HOME"] = str(tmp_path / "home")
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_validating_the_quickstart_imports_neither_torch_nor_lightning(tmp_path):
    code = (
        "from workbench.config import load_config\n"
        "from workbench.config_warnings import config_warnings\n"
        "from workbench.devices import validate_trainer_options\n"
        "from workbench.registry import load_registry\n"
        "registry = load_registry()\n"
        f"resolved = load_config({str(QUICKSTART)!r}, registry, ['stage.max_steps=20'])\n"
        "config_warnings(resolved)\n"
        "validate_trainer_options(resolved.run.trainer)\n"
        "result = [resolved.plugin('stage'), [f.name for f in registry.failed],"
        " len(registry.plugins)]\n"
    )
    found = heavy_modules_after(code, tmp_path)
    assert found["result"][:2] == ["pretrain", []]
    assert found["result"][2] >= 10  # every built-in plugin loaded
    assert found["heavy"] == []


def test_workbench_run_records_the_run_without_torch(tmp_path):
    """The whole of what ``workbench run`` does in its own process before the worker takes over
    (open the home, load the registry, validate, record the run)."""
    code = (
        "from workbench.cli import main\n"
        f"result = main(['--home', {str(tmp_path / 'home')!r}, 'run', {str(QUICKSTART)!r},"
        " '--set', 'stage.max_steps=20', '--create-only'])\n"
    )
    found = heavy_modules_after(code, tmp_path)
    assert found["result"] == 0
    assert found["heavy"] == []


@pytest.mark.parametrize("args", [["plugins"], ["plugins", "--json"]])
def test_listing_plugins_imports_neither_torch_nor_lightning(tmp_path, args):
    code = f"from workbench.cli import main\nresult = main({args!r})\n"
    found = heavy_modules_after(code, tmp_path)
    assert found["result"] == 0
    assert found["heavy"] == []


def test_every_lazy_builtin_factory_resolves():
    """A typo in a factory's path would only show when a run uses the spec: check them all."""
    registry = load_registry(modules=[])
    lazy = [
        (kind, spec)
        for kind in KINDS
        for spec in registry.specs[kind].values()
        if isinstance(spec.factory, LazyFactory)
    ]
    assert {spec.name for kind, spec in lazy if kind == "stages"} >= {
        "pretrain",
        "finetune",
        "reward-model",
        "ppo",
        "dpo",
        "word2vec",
        "seq2seq",
    }
    for _, spec in lazy:
        assert callable(spec.factory.resolve()), spec.name


def test_the_specs_keep_their_old_import_paths():
    from workbench_gpt.architecture import GPT_SPEC, build_gpt
    from workbench_gpt.model import GPTConfig
    from workbench_gpt.pretrain import PRETRAIN_SPEC, PretrainConfig, build_pretrain
    from workbench_gpt.specs import GPT_SPEC as CHEAP_GPT_SPEC
    from workbench_gpt.specs import PRETRAIN_SPEC as CHEAP_PRETRAIN_SPEC
    from workbench_rlhf.ppo import PPO_SPEC, PPOConfig
    from workbench_transformer.seq2seq import SEQ2SEQ_SPEC

    assert PRETRAIN_SPEC is CHEAP_PRETRAIN_SPEC and GPT_SPEC is CHEAP_GPT_SPEC
    assert PRETRAIN_SPEC.config is PretrainConfig and GPT_SPEC.config is GPTConfig
    assert PRETRAIN_SPEC.factory.resolve() is build_pretrain
    assert GPT_SPEC.factory.resolve() is build_gpt
    assert PPO_SPEC.config is PPOConfig and SEQ2SEQ_SPEC.name == "seq2seq"


class _Options(BaseModel):
    pass


def test_a_lazy_factory_imports_on_the_first_call_and_passes_the_arguments():
    factory = LazyFactory("os.path:join")
    assert factory("a", "b") == os.path.join("a", "b")
    assert repr(factory) == "LazyFactory('os.path:join')"
    assert LazyFactory("os:path.join").resolve() is os.path.join  # nested attributes


@pytest.mark.parametrize("target", ["os.path", ":join", "os.path:", ""])
def test_a_lazy_factory_needs_module_and_attribute(target):
    with pytest.raises(ValueError, match="package.module:attribute"):
        LazyFactory(target)


def test_a_lazy_factory_names_what_is_missing():
    with pytest.raises(AttributeError, match="os.path has no 'nope'"):
        LazyFactory("os.path:nope")()
    with pytest.raises(ModuleNotFoundError):
        LazyFactory("no_such_module_here:build")()
    with pytest.raises(TypeError, match="not callable"):
        LazyFactory("os:sep")()


def test_plain_callables_and_lazy_factories_both_register():
    """Third-party plugins may keep passing a plain function."""
    from workbench import hookimpl

    class Plugin:
        @hookimpl
        def register_stages(self, register):
            register(StageSpec("plain-stage", "a plain factory", _Options, lambda ctx: ctx))
            register(
                StageSpec("lazy-stage", "a lazy factory", _Options, LazyFactory("os.path:join"))
            )

    registry = load_registry(use_entry_points=False, modules=[], plugins=[("p", Plugin())])
    assert registry.failed == []
    assert registry.stage("plain-stage").factory(3) == 3
    assert registry.stage("lazy-stage").factory("a", "b") == os.path.join("a", "b")
