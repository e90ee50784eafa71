"""pytest fixtures for plugin authors, shipped as a pytest plugin.

Installing the workbench installs this module as a pytest plugin (entry point group ``pytest11``,
name ``workbench.testing``), so a plugin's own test suite has these fixtures without importing
anything (with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` set, add ``-p workbench.testing``):

``workbench_plugins``
    Override it in your ``conftest.py`` to name the import paths of the plugins under test
    (default: none beyond what is installed). They are loaded through
    ``$WORKBENCH_PLUGIN_MODULES`` with the installed plugins, also by the worker processes that
    train runs, so the package need not be installed; one that is installed (an entry point of
    the ``workbench`` group) is loaded once, as installed.
``workbench_home``
    A fresh, empty workbench home in ``tmp_path`` (``$WORKBENCH_HOME`` points at it for the
    test), with only the installed plugins and ``workbench_plugins`` enabled.
``workbench_registry``
    The registry loaded as the CLI loads it in that home: the built-ins, installed plugins and
    ``workbench_plugins``. The test fails with the plugin's error when one of ``workbench_plugins``
    failed to load (an import error, a misspelled hook, a duplicate name, ...).
``workbench_tiny_run``
    ``workbench_tiny_run(architecture="bigram", *, stage=None, dataset=None, tokenizer=None,
    trainer=None, name="tiny", seed=0, init_from=None) -> Run``: trains a tiny run (a few steps
    on the CPU) through the real runner, in a worker process, and returns its record once it has
    ended (check ``.status`` and ``.error``). The stage, dataset and tokenizer default to ones
    fitting the architecture's protocol (:func:`tiny_config`); a block given as a name or as a
    mapping with a ``name`` replaces the default, a mapping without one is merged into it.

A plugin's ``conftest.py``::

    import pytest

    @pytest.fixture
    def workbench_plugins():
        return ["my_plugin"]

and its tests::

    def test_my_net_trains(workbench_tiny_run):
        run = workbench_tiny_run({"name": "my-net", "n_layer": 1})
        assert run.status == "succeeded", run.error

This module imports nothing heavy at import time: pytest loads it in every session.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

TINY_TRAINER: dict[str, Any] = {"accelerator": "cpu", "devices": 1, "log_every_n_steps": 1}

TINY_STAGES: dict[str, dict[str, Any]] = {
    "causal-lm": {
        "stage": {
            "name": "pretrain",
            "max_steps": 4,
            "batch_size": 2,
            "lr": 1e-2,
            "warmup_steps": 1,
            "eval_interval": 2,
            "eval_batches": 1,
            "sample_tokens": 8,
        },
        "tokenizer": {"name": "char"},
        "dataset": {"name": "text-file"},  # the tiny corpus, written next to the test's home
    },
    "seq2seq": {
        "stage": {
            "name": "seq2seq",
            "max_steps": 4,
            "max_tokens": 128,
            "warmup_steps": 2,
            "eval_interval": 2,
            "eval_examples": 4,
            "sample_count": 1,
        },
        "tokenizer": {"name": "char", "special_tokens": ["<pad>", "<bos>", "<eos>"]},
        "dataset": {"name": "copy", "min_length": 3, "max_length": 5, "num_symbols": 5,
                    "train_size": 40, "val_size": 8, "test_size": 8},
    },
    "sequence-encoder": {
        "stage": {"name": "finetune", "max_steps": 4, "batch_size": 4, "eval_interval": 4,
                  "lm_coef": 0.0},
        "tokenizer": {"name": "word"},
        "dataset": {"name": "synthetic-task", "task": "entailment", "size_chars": 20_000,
                    "task_train_size": 20, "task_eval_size": 10},
    },
}  # fmt: skip
"""The default stage, tokenizer and dataset of a tiny run, by the architecture's protocol (the
first of ``causal-lm``, ``seq2seq``, ``sequence-encoder`` that it implements)."""


def write_tiny_corpus(path: Path) -> Path:
    """About 20 kB of patterned text (a causal LM's default dataset), written to ``path``."""
    lines = [
        f"the {animal} sees {n} {thing}s."
        for n in range(40)
        for animal, thing in (("cat", "bird"), ("dog", "ball"), ("owl", "mouse"))
    ]
    path.write_text("\n".join(lines * 4), encoding="utf-8")
    return path


def _block(default: Mapping[str, Any], given: str | Mapping[str, Any] | None) -> dict[str, Any]:
    if given is None:
        return dict(default)
    if isinstance(given, str):
        return {"name": given}
    if "name" in given:
        return dict(given)
    return {**default, **given}


def tiny_config(
    registry: Any,
    architecture: str | Mapping[str, Any] = "bigram",
    *,
    corpus: Path,
    stage: str | Mapping[str, Any] | None = None,
    dataset: str | Mapping[str, Any] | None = None,
    tokenizer: str | Mapping[str, Any] | None = None,
    trainer: Mapping[str, Any] | None = None,
    name: str = "tiny",
    seed: int = 0,
    init_from: int | str | None = None,
) -> dict[str, Any]:
    """A run config training ``architecture`` for a few steps on the CPU: the stage, tokenizer
    and dataset fit its protocol (:data:`TINY_STAGES`), each replaceable or adjustable."""
    arch = {"name": architecture} if isinstance(architecture, str) else dict(architecture)
    protocols: Sequence[str] = ()
    if arch.get("name") in registry.names("architectures"):
        protocols = registry.architecture(arch["name"]).protocols
    protocol = next((p for p in TINY_STAGES if p in protocols), "causal-lm")
    defaults = TINY_STAGES[protocol]
    data = _block(defaults["dataset"], dataset)
    if data.get("name") == "text-file" and "path" not in data:
        data["path"] = str(corpus)
    config = {
        "name": name,
        "seed": seed,
        "stage": _block(defaults["stage"], stage),
        "architecture": arch,
        "tokenizer": _block(defaults["tokenizer"], tokenizer),
        "dataset": data,
        "trainer": {**TINY_TRAINER, **(trainer or {})},
    }
    if init_from is not None:
        config["init_from"] = init_from
    return config


def _entry_point_modules() -> dict[str, str]:
    """Module path → entry point name of every installed ``workbench`` plugin."""
    from importlib import metadata

    return {
        ep.value.split(":")[0].strip(): ep.name for ep in metadata.entry_points(group="workbench")
    }


def _import_root(module: str) -> str | None:
    """The sys.path folder ``module`` is imported from (for worker processes), or None."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module.split(".")[0])
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
        return None
    origin = Path(spec.origin)
    package_dir = origin.parent if origin.name == "__init__.py" else origin
    return str(package_dir.parent)


@pytest.fixture
def workbench_plugins() -> list[str]:
    """Import paths of the plugins under test; override in your ``conftest.py``."""
    return []


@pytest.fixture
def workbench_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workbench_plugins: list[str]
) -> Path:
    """A fresh workbench home for one test, with ``workbench_plugins`` loadable in it (by this
    process and by the worker processes of its runs)."""
    home = tmp_path / "workbench-home"
    installed = _entry_point_modules()
    modules = [m for m in workbench_plugins if m not in installed]
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    monkeypatch.delenv("WORKBENCH_PLUGINS", raising=False)
    monkeypatch.delenv("WORKBENCH_DISABLE_PLUGINS", raising=False)
    if modules:
        monkeypatch.setenv("WORKBENCH_PLUGIN_MODULES", ",".join(modules))
    else:
        monkeypatch.delenv("WORKBENCH_PLUGIN_MODULES", raising=False)
    roots = [root for root in map(_import_root, modules) if root is not None]
    if roots:
        paths = [*roots, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(dict.fromkeys(paths)))
    return home


@pytest.fixture
def workbench_registry(workbench_home: Path, workbench_plugins: list[str]) -> Any:
    """The registry of ``workbench_home``; fails the test when a plugin under test failed."""
    from workbench.registry import load_registry

    registry = load_registry()
    failed = failures_of(registry, workbench_plugins)
    if failed:
        pytest.fail(
            "\n\n".join(f"plugin {f.name!r} failed to load:\n{f.error}" for f in failed),
            pytrace=False,
        )
    return registry


def failures_of(registry: Any, plugins: Sequence[str]) -> list[Any]:
    """The load failures of ``plugins`` (import paths, loaded by path or installed as entry
    points) in ``registry``; other plugins' failures are not the test's business."""
    installed = _entry_point_modules()
    ours = set(plugins) | {installed[m] for m in plugins if m in installed}
    return [failure for failure in registry.failed if failure.name in ours]


@pytest.fixture
def workbench_tiny_run(
    workbench_home: Path,
    workbench_registry: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Any]:
    """``workbench_tiny_run(architecture, *, stage=, dataset=, tokenizer=, trainer=, name=,
    seed=, init_from=) -> Run``: train a tiny run to its end in ``workbench_home``."""
    import workbench

    # Tiny models train several times faster on one thread, and a test machine is often busy.
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    corpus = write_tiny_corpus(tmp_path / "workbench-tiny-corpus.txt")

    def run(architecture: str | Mapping[str, Any] = "bigram", **blocks: Any) -> Any:
        config = tiny_config(workbench_registry, architecture, corpus=corpus, **blocks)
        return workbench.run(config, home=workbench_home, progress=False)

    return run
