"""Bad input that validation alone cannot see is refused before the run is recorded (exit 2, no
row), not left as a failed run: missing files, broken JSONL, a parent of another shape, too many
CPU processes, bad names and seeds, impossible sampling arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from workbench.cli import main
from workbench.devices import available_cpus
from workbench.paths import resolve_home
from workbench.store import open_store


def runs(home: Path) -> list:
    return open_store(resolve_home(home)).list_runs()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("seed=-1", "seed: Input should be greater than or equal to 0"),
        ("name=" + "x" * 300, "name: String should have at most 255 characters"),
        ('name="bad\\u001b[31mname"', "name: Value error, must hold printable characters only"),
        ("dataset.path=/no/such/corpus.txt", "dataset.path: /no/such/corpus.txt does not exist"),
        (f"trainer.devices={available_cpus() + 1}", "CPU processes asked for"),
    ],
)
def test_refused_before_any_run_is_recorded(home, write_config, capsys, override, message):
    assert main(["run", str(write_config()), "--set", override]) == 2
    assert message in capsys.readouterr().err
    assert runs(home) == []


def test_a_broken_jsonl_line_is_named_before_the_run(home, tmp_path, capsys):
    data = tmp_path / "pairs.jsonl"
    good = json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"})
    data.write_text(f"{good}\n{good}\n{{not json\n", encoding="utf-8")
    config = {
        "name": "dpo",
        "stage": {"name": "dpo"},
        "architecture": {"name": "bigram"},
        "tokenizer": {"name": "char"},
        "dataset": {"name": "preference-jsonl", "path": str(data)},
    }
    path = tmp_path / "dpo.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["run", str(path)]) == 2
    assert f"{data}:3: invalid JSON" in capsys.readouterr().err
    assert runs(home) == []


@pytest.mark.parametrize(
    ("option", "value"), [("labels_annotator", "nobody"), ("labels_kind", "human")]
)
def test_training_on_stored_labels_that_do_not_exist_is_refused(
    home, tmp_path, capsys, option, value
):
    config = {
        "name": "dpo-on-labels",
        "stage": {"name": "dpo"},
        "architecture": {"name": "bigram"},
        "tokenizer": {"name": "char"},
        "dataset": {"name": "synthetic-preferences", "size_chars": 20000, option: value},
    }
    path = tmp_path / "dpo.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"dataset.{option}" in err and f"no stored preference labels of {value!r}" in err
    assert runs(home) == []


def test_a_parent_of_another_shape_is_refused(home, write_config, capsys):
    assert main(["run", str(write_config("parent"))]) == 0
    capsys.readouterr()
    child = ["run", str(write_config("child")), "--set", "init_from=parent"]
    assert main([*child, "--set", "architecture.block_size=32"]) == 2
    assert "block_size 16 → 32" in capsys.readouterr().err
    assert (
        main([*child, "--set", "architecture={name: gpt, n_layer: 1, n_head: 1, n_embd: 8}"]) == 2
    )
    assert "is a 'bigram' model" in capsys.readouterr().err
    assert [r.name for r in runs(home)] == ["parent"]


def test_generate_refuses_impossible_sampling_arguments(home, write_config, capsys):
    assert main(["run", str(write_config())]) == 0
    capsys.readouterr()
    assert main(["generate", "1", "--prompt", "the", "--top-p", "5"]) == 2
    assert "--top-p must be in (0, 1]" in capsys.readouterr().err
    assert main(["generate", "1", "--prompt", "the", "--top-k", "0"]) == 2
