"""The ``counting`` dataset, tested with the fixtures the workbench ships for plugin authors:
``workbench_registry`` (the registry with this plugin, failing the test if it did not load) and
``workbench_tiny_run`` (a few training steps through the real runner, in a temporary home)."""

import pytest

from workbench.config import ConfigError, validate_options
from workbench.specs import DatasetContext


def test_the_plugin_registers_counting(workbench_registry):
    spec = workbench_registry.dataset("counting")
    assert spec.dataset_kind == "text"
    assert workbench_registry.owner("datasets", "counting") in (
        "example",
        "workbench_example_plugin",
    )


def test_options_are_validated_by_the_config(workbench_registry):
    spec = workbench_registry.dataset("counting")
    assert validate_options(spec, {"size_chars": 2000}, "dataset").size_chars == 2000
    with pytest.raises(ConfigError) as info:
        validate_options(spec, {"size_chars": 10, "val_fractoin": 0.2}, "dataset")
    # Every problem of the block at once, a misspelled field with the closest known one.
    text = str(info.value)
    assert "dataset.size_chars: Input should be greater than or equal to 1000" in text
    assert "dataset.val_fractoin: unknown field, did you mean 'val_fraction'?" in text


def test_the_text_is_deterministic_for_a_seed(workbench_registry, tmp_path):
    spec = workbench_registry.dataset("counting")
    config = spec.config(size_chars=2000)
    first = spec.factory(config, DatasetContext(cache_dir=tmp_path, seed=3))
    again = spec.factory(config, DatasetContext(cache_dir=tmp_path, seed=3))
    assert first.train == again.train and first.val
    assert first.train.startswith("four comes after three.")


def test_a_tiny_run_trains_on_counting(workbench_tiny_run):
    run = workbench_tiny_run("bigram", dataset={"name": "counting", "size_chars": 2000})
    assert run.status == "succeeded", run.error
    assert run.config["dataset"]["name"] == "counting"
