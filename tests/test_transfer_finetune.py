"""The transfer encoders driven by the ``finetune`` stage: a pre-trained ``lstm-lm`` fine-tuned
whole with the auxiliary LM loss (ULMFiT-like) and read as frozen features (ELMo-like); a
word-vector model refusing the LM loss. (``tests/test_transfer_word2vec.py`` fine-tunes a
``word-vector-lstm`` over frozen word2vec vectors.)"""

from __future__ import annotations

import pytest
import torch
import yaml

from workbench.cli import main
from workbench.paths import resolve_home
from workbench.store import open_store

SYNTHETIC = {"size_chars": 20_000, "task_train_size": 40, "task_eval_size": 10, "seed": 3}
ARCHITECTURE = {"name": "lstm-lm", "preset": "lstm-nano", "n_layer": 2}
TRAINER = {"accelerator": "cpu", "devices": 1, "log_every_n_steps": 1}


@pytest.fixture(autouse=True)
def one_thread_workers(monkeypatch):
    """Worker processes run torch on one thread: tiny models on a busy 2-core machine are
    several times faster that way."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def run(tmp_path, config: dict) -> int:
    path = tmp_path / f"{config['name']}.yaml"
    path.write_text(yaml.safe_dump(config))
    return main(["run", str(path)])


def child(name: str, stage: dict, **architecture) -> dict:
    return {
        "name": name,
        "seed": 0,
        "stage": {"name": "finetune", "max_steps": 4, "batch_size": 8, "eval_interval": 4, **stage},
        "architecture": {**ARCHITECTURE, **architecture},
        "tokenizer": {"name": "word"},
        "dataset": {"name": "synthetic-task", "task": "entailment", **SYNTHETIC},
        "trainer": TRAINER,
        "init_from": "lm",
    }


def test_lstm_lm_is_fine_tuned_and_read_as_frozen_features(home, tmp_path, capsys):
    pretrain = {
        "name": "lm",
        "seed": 0,
        "stage": {"name": "pretrain", "max_steps": 10, "batch_size": 4, "eval_interval": 10,
                  "eval_batches": 1, "sample_tokens": 5},
        "architecture": ARCHITECTURE,
        "tokenizer": {"name": "word"},
        "dataset": {"name": "synthetic", **SYNTHETIC},
        "trainer": TRAINER,
    }  # fmt: skip
    assert run(tmp_path, pretrain) == 0
    assert run(tmp_path, child("ulmfit", {"lm_coef": 0.5})) == 0
    assert run(tmp_path, child("elmo", {"freeze_encoder": True}, features="concat")) == 0
    home_paths = resolve_home(home)
    store = open_store(home_paths)
    assert [store.get_run(i).status for i in (1, 2, 3)] == ["succeeded"] * 3
    assert store.metrics(2, "train/lm_loss")  # the auxiliary LM loss ran through forward()
    # The number of labelled records, the x axis of a learning curve.
    assert store.metrics(2, "train/records")[-1].value == SYNTHETIC["task_train_size"]
    parent = torch.load(home_paths.run_dir(1) / "model.pt", weights_only=True)
    tuned = torch.load(home_paths.run_dir(2) / "model.pt", weights_only=True)
    frozen = torch.load(home_paths.run_dir(3) / "model.pt", weights_only=True)
    key = "lstm.1.weight_hh_l0"
    assert not torch.equal(tuned[key], parent[key])
    assert all(torch.equal(frozen[k], parent[k]) for k in parent)
    # The ELMo-like head reads both layers' states side by side.
    heads = torch.load(home_paths.run_dir(3) / "heads.pt", weights_only=True)
    assert heads["classifier"]["linear.weight"].shape == (3, 2 * 32)
    capsys.readouterr()
    assert main(["evaluate", "elmo", "task-accuracy"]) == 0
    assert "accuracy" in capsys.readouterr().out


def test_a_word_vector_model_refuses_the_auxiliary_lm_loss(home, tmp_path):
    config = child("wv", {"lm_coef": 0.5})
    config["architecture"] = {"name": "word-vector-lstm", "preset": "wv-nano"}
    config.pop("init_from")
    assert run(tmp_path, config) != 0
    run_record = open_store(resolve_home(home)).get_run(1)
    assert run_record.status == "failed" and "lm_coef" in (run_record.error or "")


def test_the_documented_learning_curve_sweep_expands_to_pretrained_and_scratch():
    """The sweep in the header of configs/transfer-lstm-finetune.yaml: 4 label counts x
    (pre-trained, scratch) x 3 draws of labels, every variant valid."""
    import shlex
    from pathlib import Path

    from workbench.config import load_yaml
    from workbench.registry import load_registry
    from workbench.runner import queue

    path = Path(__file__).resolve().parents[1] / "configs" / "transfer-lstm-finetune.yaml"
    header = [line.lstrip("#").strip() for line in path.read_text().splitlines()
              if line.startswith("#")]  # fmt: skip
    start = next(i for i, line in enumerate(header) if line.startswith("workbench sweep"))
    command = " ".join(line.rstrip("\\").strip() for line in header[start : start + 3])
    words = shlex.split(command)
    grids = [words[i + 1] for i, word in enumerate(words) if word == "--grid"]
    assert grids == [
        "dataset.train_limit=25,100,400,null",
        "init_from=transfer-lstm-pretrain,null",
        "dataset.subset_seed=0,1,2",
    ]
    configs = queue.expand(load_yaml(path), queue.parse_grid(grids), load_registry())
    cells = [
        (c.to_dict()["dataset"].get("train_limit"), c.run.init_from,
         c.to_dict()["dataset"].get("subset_seed"))
        for c in configs
    ]  # fmt: skip
    expected = [(n, parent, seed) for n in (25, 100, 400, None)
                for parent in ("transfer-lstm-pretrain", None) for seed in (0, 1, 2)]  # fmt: skip
    assert sorted(cells, key=str) == sorted(expected, key=str)
