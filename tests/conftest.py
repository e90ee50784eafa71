"""Shared fixtures: an isolated workbench home, a small corpus, tiny run configs, and the test
plugins made visible to worker processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

TESTS_DIR = Path(__file__).resolve().parent
TEST_PLUGINS = "wb_test_plugins.testing_stages"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh workbench home; worker processes can import the test plugins."""
    home = tmp_path / "home"
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    monkeypatch.setenv("WORKBENCH_PLUGIN_MODULES", TEST_PLUGINS)
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join(p for p in (str(TESTS_DIR), os.environ.get("PYTHONPATH", "")) if p),
    )
    monkeypatch.delenv("WORKBENCH_PLUGINS", raising=False)
    monkeypatch.delenv("WORKBENCH_DISABLE_PLUGINS", raising=False)
    return home


@pytest.fixture
def corpus(tmp_path) -> Path:
    """About 20 kB of patterned text (the corpus of a plugin author's tiny runs too)."""
    from workbench.testing import write_tiny_corpus

    return write_tiny_corpus(tmp_path / "corpus.txt")


def tiny_config(corpus: Path, **stage) -> dict:
    stage_block = {
        "name": "pretrain",
        "max_steps": 30,
        "batch_size": 4,
        "lr": 1e-2,
        "warmup_steps": 2,
        "eval_interval": 10,
        "eval_batches": 2,
        "sample_tokens": 20,
    }
    stage_block.update(stage)
    return {
        "name": "tiny",
        "seed": 0,
        "stage": stage_block,
        "architecture": {"name": "bigram", "block_size": 16},
        "tokenizer": {"name": "char"},
        "dataset": {"name": "text-file", "path": str(corpus)},
        "trainer": {"accelerator": "cpu", "devices": 1, "log_every_n_steps": 1},
    }


@pytest.fixture
def write_config(tmp_path, corpus):
    """``write_config(run_name, **stage_options) -> path`` of a tiny bigram run config."""

    def write(run_name: str = "tiny", **stage) -> Path:
        config = tiny_config(corpus, **stage)
        config["name"] = run_name
        path = tmp_path / f"{run_name}.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    return write
