"""A plugin author's path without reading the source: a misspelled hook is an error, the
protocols and every built-in option are documented (and kept so by these tests), ``plugins
--json`` describes every spec, and the pytest fixtures shipped for plugin authors work (the
example plugin's own tests use them)."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from workbench import hookimpl, protocols
from workbench.cli import main
from workbench.config import resolve_config
from workbench.plugin_docs import KIND_TITLES, OPTIONS_DOC, REGENERATE, options_markdown
from workbench.registry import load_registry
from workbench.testing import TINY_STAGES, failures_of, tiny_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "workbench-plugin-example"


def _load(*plugins):
    return load_registry(use_entry_points=False, modules=[], plugins=plugins)


# -- a misspelled hook -------------------------------------------------------------------------


class MisspelledHook:
    @hookimpl
    def register_architecture(self, register):  # no "s": matches no hook
        raise AssertionError("never called")


class UnmarkedHook:
    def register_datasets(self, register):  # the right name, but not marked @hookimpl
        raise AssertionError("never called")


class OptionalHook:
    @hookimpl(optionalhook=True)
    def register_something_later(self, register):
        pass


def test_a_misspelled_or_unmarked_hook_fails_the_plugin():
    registry = _load(
        ("typo", MisspelledHook()), ("unmarked", UnmarkedHook()), ("optional", OptionalHook())
    )
    assert [p.name for p in registry.plugins] == ["optional"]
    errors = {failure.name: failure.error for failure in registry.failed}
    assert errors["typo"].startswith(
        "register_architecture is marked @hookimpl but is not a workbench hook; "
        "did you mean 'register_architectures'?"
    )
    assert "register_datasets is not marked @hookimpl" in errors["unmarked"]


def test_workbench_plugins_reports_the_misspelled_hook(tmp_path, monkeypatch, capsys):
    (tmp_path / "typo_plugin.py").write_text(
        "from workbench import hookimpl\n\n\n"
        "@hookimpl\ndef register_architecture(register):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("WORKBENCH_PLUGIN_MODULES", "typo_plugin")
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "FAILED typo_plugin: register_architecture is marked @hookimpl" in out
    assert "did you mean 'register_architectures'?" in out


# -- protocols documented ----------------------------------------------------------------------


def protocol_classes() -> list[type]:
    return [
        cls
        for _, cls in inspect.getmembers(protocols, inspect.isclass)
        if getattr(cls, "_is_protocol", False) and cls.__module__ == protocols.__name__
    ]


def members(cls: type) -> set[str]:
    names = set(getattr(cls, "__annotations__", {}))
    names |= {name for name in vars(cls) if not name.startswith("_")}
    return names


def guide_section(guide: str, name: str) -> str:
    """The ``###`` section of the guide that first names ``name`` in backticks."""
    at = guide.find(f"`{name}`")
    assert at >= 0, f"docs/plugins.md never names `{name}`"
    start = guide.rfind("\n### ", 0, at)
    end = guide.find("\n#", at)
    return guide[start : end if end >= 0 else len(guide)]


def test_every_protocol_method_is_documented_in_the_plugin_guide():
    guide = (ROOT / "docs" / "plugins.md").read_text()
    classes = protocol_classes()
    names = {cls.__name__ for cls in classes}
    assert {"CausalLM", "SequenceEncoder", "Seq2SeqModel", "Tokenizer"} <= names
    assert {"AttentionWeights", "LogitsFromHidden"} <= names  # the optional ones too
    for protocol in protocols.KNOWN_PROTOCOLS:
        assert f"\n### {protocol} (" in guide, f"docs/plugins.md has no section on {protocol}"
    missing = []
    for cls in classes:
        section = guide_section(guide, cls.__name__)
        for member in sorted(members(cls)):
            if not re.search(rf"`{re.escape(member)}[`(: ]", section):
                missing.append(f"{cls.__name__}.{member}")
    assert not missing, f"docs/plugins.md does not document: {missing}"


def test_the_causal_lm_contract_names_its_rules():
    section = guide_section((ROOT / "docs" / "plugins.md").read_text(), "CausalLM")
    for rule in (
        "greedy",
        "same length",
        "ignore index `-1`",
        "list[list[int]]",
        "block_size",
        "eval mode",
        "attention_weights",
    ):
        assert rule in section, rule


# -- options of every built-in plugin ----------------------------------------------------------


@pytest.fixture(scope="module")
def builtins():
    registry = load_registry(modules=[], allow=[], block=[])
    assert not registry.failed, registry.failed
    return registry


def test_the_plugin_options_doc_matches_the_configs(builtins):
    expected = options_markdown(builtins, builtin_only=True)
    actual = (ROOT / OPTIONS_DOC).read_text(encoding="utf-8")
    assert actual == expected, f"{OPTIONS_DOC} is out of date; regenerate it: {REGENERATE}"


def test_every_builtin_option_is_in_the_doc(builtins):
    doc = (ROOT / OPTIONS_DOC).read_text(encoding="utf-8")
    for kind, specs in builtins.specs.items():
        part = doc.split(f"\n## {KIND_TITLES[kind]}\n", 1)[1].split("\n## ", 1)[0]
        for name, spec in specs.items():
            assert f"### `{name}`" in part, (kind, name)
            section = part.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
            for field in spec.config.model_fields:
                assert f"| `{field}` |" in section, (name, field)


def test_plugins_markdown_prints_the_doc(builtins, capsys):
    assert main(["plugins", "--markdown", "--builtin"]) == 0
    assert capsys.readouterr().out == (ROOT / OPTIONS_DOC).read_text(encoding="utf-8")
    assert main(["plugins", "--builtin"]) == 2
    assert "--builtin goes with --markdown" in capsys.readouterr().err


# -- pytest fixtures for plugin authors --------------------------------------------------------


def test_the_fixtures_are_a_pytest_plugin_of_the_distribution():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["pytest11"] == {
        "workbench.testing": "workbench.testing"
    }
    installed = {ep.name: ep.value for ep in metadata.entry_points(group="pytest11")}
    assert installed.get("workbench.testing") == "workbench.testing"


@pytest.fixture
def workbench_plugins():
    return ["wb_test_plugins.testing_stages"]


def test_home_and_registry_fixtures_load_the_plugin_under_test(
    workbench_home, workbench_registry, tmp_path
):
    assert os.environ["WORKBENCH_HOME"] == str(workbench_home)
    assert not workbench_home.exists()  # fresh: nothing there until a command opens it
    assert os.environ["WORKBENCH_PLUGIN_MODULES"] == "wb_test_plugins.testing_stages"
    assert str(ROOT / "tests") in os.environ["PYTHONPATH"].split(os.pathsep)  # for run workers
    assert "slow-pretrain" in workbench_registry.names("stages")
    assert "gpt" in workbench_registry.names("architectures")  # with the built-ins


def test_a_tiny_config_fits_each_architectures_protocol(builtins, tmp_path):
    corpus = tmp_path / "corpus.txt"
    stages = {}
    for name in builtins.names("architectures"):
        if name == "hf-causal-lm":  # needs a model folder
            continue
        config = tiny_config(builtins, name, corpus=corpus)
        resolve_config(config, builtins)  # validates
        stages[name] = config["stage"]["name"]
    assert stages["bigram"] == stages["gpt"] == "pretrain"
    assert stages["transformer"] == "seq2seq"
    assert stages["word-vector-lstm"] == "finetune"
    adjusted = tiny_config(builtins, "gpt", corpus=corpus, stage={"max_steps": 9}, dataset="copy")
    assert adjusted["stage"] == {**TINY_STAGES["causal-lm"]["stage"], "max_steps": 9}
    assert adjusted["dataset"] == {"name": "copy"}
    assert tiny_config(builtins, "bigram", corpus=corpus)["dataset"]["path"] == str(corpus)


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_registry_fixture_names_the_failure_of_the_plugin_under_test(tmp_path, monkeypatch):
    (tmp_path / "broken_plugin.py").write_text(
        "from workbench import hookimpl\n\n\n@hookimpl\ndef register_dataset(register):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = load_registry(modules=["broken_plugin", "wb_test_plugins.broken_import"])
    (failure,) = failures_of(registry, ["broken_plugin"])  # only the plugin under test's
    assert "did you mean 'register_datasets'?" in failure.error


def test_the_example_plugins_tests_pass_with_the_shipped_fixtures():
    tests = (EXAMPLE / "tests" / "test_counting.py").read_text()
    assert "workbench_registry" in tests and "workbench_tiny_run" in tests
    result = run_pytest(EXAMPLE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
