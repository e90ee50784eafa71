"""A dataset built from a config block: ``{name: synthetic-prompts, n_preference_prompts: 50}``.

The run's own dataset (:func:`workbench.runner.build.build_dataset`), ``workbench evaluate
--dataset`` and the prompts of ``workbench pairs generate`` are all built here: the block's
options validated by the dataset's own Config, its factory called with a
:class:`~workbench.specs.DatasetContext` of the home and the seed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from workbench.config import apply_overrides, validate_options
from workbench.operations import OperationError
from workbench.paths import Paths
from workbench.registry import Registry
from workbench.specs import DatasetContext, DatasetSpec


def dataset_context(paths: Paths, seed: int) -> DatasetContext:
    """What a dataset factory receives in this home: its cache, the seed and the home."""
    return DatasetContext(cache_dir=paths.cache, seed=seed, home=paths.home)


def parse_dataset_block(text: str, example: str = "{name: synthetic}") -> dict[str, Any]:
    """A dataset block given as YAML on the command line (``--dataset '{name: ...}'``);
    :class:`OperationError` unless it is a mapping with a name (``example`` shows one)."""
    block = apply_overrides({}, [f"dataset={text}"])["dataset"]
    if not isinstance(block, dict) or not isinstance(block.get("name"), str):
        raise OperationError(f"--dataset must be a mapping with a name, e.g. '{example}'")
    return block


@dataclass(frozen=True)
class BuiltDataset:
    """A dataset built from a block: the spec, its validated options and the dataset object."""

    spec: DatasetSpec
    options: BaseModel
    dataset: Any

    @property
    def block(self) -> dict[str, Any]:
        """The block with every option resolved (enough to build it again)."""
        return {"name": self.spec.name, **self.options.model_dump(mode="json")}


def build_dataset_block(
    block: Mapping[str, Any], seed: int, registry: Registry, paths: Paths
) -> BuiltDataset:
    """Build the dataset a block names, with its options validated by the dataset's Config
    (``UnknownPluginError`` for an unknown name, ``ConfigError`` for a bad option)."""
    spec = registry.dataset(str(block["name"]))
    options = validate_options(spec, {k: v for k, v in block.items() if k != "name"}, "dataset")
    return BuiltDataset(spec, options, spec.factory(options, dataset_context(paths, seed)))
