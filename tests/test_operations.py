"""The operations the CLI and the dashboard share (:mod:`workbench.operations`), called directly."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from workbench.operations import OperationError
from workbench.operations.datasets import build_dataset_block, parse_dataset_block
from workbench.operations.labels import trl_jsonl
from workbench.operations.pairs import load_prompts, prompt_source, world_for_source
from workbench.paths import Paths
from workbench.registry import load_registry


def test_a_dataset_block_parses_only_as_a_mapping_with_a_name():
    assert parse_dataset_block("{name: synthetic, seed: 3}") == {"name": "synthetic", "seed": 3}
    for bad in ("[1, 2]", "{seed: 3}", "{name: 3}"):
        with pytest.raises(OperationError, match="e.g. '{name: x}'"):
            parse_dataset_block(bad, "{name: x}")


def test_a_built_block_resolves_every_option_and_builds_the_same_prompts_again(tmp_path):
    registry = load_registry()
    paths = Paths(tmp_path)
    block = {"name": "synthetic-prompts", "size_chars": 4000, "n_preference_prompts": 6}
    built = build_dataset_block(block, 0, registry, paths)
    assert built.block["name"] == "synthetic-prompts" and built.block["size_chars"] == 4000
    assert set(built.block) - {"name"} == set(built.options.model_dump())
    prompts = load_prompts(block, 0, registry, paths, limit=4)
    assert len(prompts.texts) == 4 == len(prompts.properties[:4])
    assert json.loads(prompts.source) == {"dataset": built.block, "seed": 0}
    assert prompts.source == prompt_source(built.block, 0)
    assert world_for_source(prompts.source, registry, paths) is not None
    assert world_for_source("not json", registry, paths) is None
    with pytest.raises(OperationError, match="kind 'prompts'"):
        load_prompts({"name": "synthetic", "size_chars": 4000}, 0, registry, paths, limit=1)


def test_labels_export_as_one_trl_line_each():
    examples = [SimpleNamespace(trl=lambda: {"prompt": "Q", "chosen": "é", "rejected": "b"})]
    assert trl_jsonl(examples) == '{"prompt": "Q", "chosen": "é", "rejected": "b"}\n'


def test_the_operations_import_no_torch():
    code = (
        "import sys, workbench.operations.datasets, workbench.operations.evaluations, "
        "workbench.operations.pairs, workbench.operations.labels; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
