"""The ``hf`` plugin without its optional packages: it loads, refuses what it cannot do with
messages that name the problem, and ``workbench export`` refuses runs with no Hugging Face
mapping (exit 2). None of these tests needs transformers."""

from __future__ import annotations

import sys

import pytest
import torch
from hf_support import finished_run, gpt_config, write_corpus

from workbench.cli import main
from workbench.config import ConfigError, resolve_config
from workbench.registry import load_registry
from workbench_gpt.model import GPT, GPTConfig
from workbench_text.tokenizers import CharTokenizer


def test_the_plugin_registers_its_specs_through_the_entry_point():
    registry = load_registry()
    assert registry.owner("architectures", "hf-causal-lm") == "hf"
    assert registry.owner("tokenizers", "hf") == "hf"
    assert registry.owner("exporters", "hf") == "hf"
    assert registry.owner("evaluations", "lm-eval") == "hf"
    assert registry.exporter("hf").name == "hf"


def test_the_plugin_loads_and_names_the_extra_without_transformers(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # import transformers -> ImportError
    registry = load_registry()
    assert "hf" not in [failure.name for failure in registry.failed]
    (tmp_path / "config.json").write_text("{}")
    from workbench_hf.deps import MissingExtraError
    from workbench_hf.model import HFCausalLM

    with pytest.raises(MissingExtraError, match=r"pip install 'workbench\[hf\]'"):
        HFCausalLM.from_folder(tmp_path, vocab_size=10)


def test_a_missing_model_folder_is_a_config_error_naming_it(tmp_path, write_config, home, capsys):
    missing = tmp_path / "no-such-model"
    config = {
        "name": "x",
        "stage": {"name": "pretrain"},
        "architecture": {"name": "hf-causal-lm", "path": str(missing)},
        "tokenizer": {"name": "hf", "path": str(missing)},
        "dataset": {"name": "synthetic"},
    }
    with pytest.raises(ConfigError) as error:
        resolve_config(config, load_registry())
    text = str(error.value)
    assert f"architecture.path: Value error, hf-causal-lm: the model folder {missing}" in text
    assert f"tokenizer.path: Value error, hf tokenizer: the folder {missing}" in text
    empty = tmp_path / "empty"
    empty.mkdir()
    config["architecture"]["path"] = str(empty)
    with pytest.raises(ConfigError, match="holds no config.json"):
        resolve_config(config, load_registry())


def _post_ln_run(home, tmp_path) -> int:
    config = gpt_config("post-ln", write_corpus(tmp_path), {"name": "char"}, norm="post")
    tokenizer = CharTokenizer()
    tokenizer.fit((tmp_path / "corpus.txt").read_text())
    options = {k: v for k, v in config["architecture"].items() if k != "name"}
    model = GPT(GPTConfig(**options), tokenizer.vocab_size)
    return finished_run(home, config, model, tokenizer)


def test_export_refuses_a_post_ln_gpt_run(home, tmp_path, capsys):
    run_id = _post_ln_run(home, tmp_path)
    out = tmp_path / "out"
    assert main(["export", str(run_id), "--format", "hf", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "cannot export a post-LN (norm: post) gpt run to Hugging Face" in err
    assert not out.exists()  # nothing left behind


def test_export_refuses_an_architecture_with_no_mapping(home, tmp_path, capsys):
    from workbench_toy.bigram import BigramConfig, BigramLM

    config = gpt_config("bigram", write_corpus(tmp_path), {"name": "char"})
    config["architecture"] = {"name": "bigram", "block_size": 16}
    tokenizer = CharTokenizer()
    tokenizer.fit((tmp_path / "corpus.txt").read_text())
    model = BigramLM(BigramConfig(block_size=16), tokenizer.vocab_size)
    run_id = finished_run(home, config, model, tokenizer)
    assert main(["export", str(run_id), "--format", "hf", "-o", str(tmp_path / "o")]) == 2
    assert "cannot export architecture 'bigram' to Hugging Face" in capsys.readouterr().err


def test_export_refuses_bad_arguments(home, tmp_path, capsys):
    run_id = _post_ln_run(home, tmp_path)
    assert main(["export", str(run_id), "--format", "onnx", "-o", str(tmp_path / "o")]) == 2
    assert "unknown export format 'onnx'" in capsys.readouterr().err
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "file.txt").write_text("x")
    assert main(["export", str(run_id), "--format", "hf", "-o", str(busy)]) == 2
    assert "is not empty (use --force" in capsys.readouterr().err
    assert main(["export", "no-such-run", "--format", "hf", "-o", str(tmp_path / "o")]) == 2


def test_gpt_to_gpt2_transposes_the_linear_layers():
    from workbench_hf.gpt_to_gpt2 import gpt2_state_dict

    options = {"n_layer": 1, "n_head": 2, "n_embd": 8, "block_size": 4, "norm": "pre",
               "bias": False, "tie_weights": False, "pad_vocab_to": 8}  # fmt: skip
    model = GPT(GPTConfig(**options), vocab_size=5)
    tensors = gpt2_state_dict(model.state_dict(), options, vocab_size=5)
    assert torch.equal(tensors["transformer.h.0.attn.c_attn.weight"],
                       model.transformer.h[0].attn.c_attn.weight.t())  # fmt: skip
    assert tensors["transformer.h.0.mlp.c_fc.weight"].shape == (8, 32)
    assert tensors["transformer.wte.weight"].shape == (5, 8)  # padding rows dropped
    assert tensors["lm_head.weight"].shape == (5, 8)  # untied: exported
    assert torch.count_nonzero(tensors["transformer.h.0.ln_1.bias"]) == 0  # bias: false -> zeros


def test_lm_eval_refuses_a_run_without_prompt_tasks_or_a_missing_task_folder(
    home, tmp_path, capsys
):
    config = gpt_config("text-run", write_corpus(tmp_path), {"name": "char"})
    tokenizer = CharTokenizer()
    tokenizer.fit((tmp_path / "corpus.txt").read_text())
    options = {k: v for k, v in config["architecture"].items() if k != "name"}
    run_id = finished_run(home, config, GPT(GPTConfig(**options), tokenizer.vocab_size), tokenizer)
    assert main(["evaluate", str(run_id), "lm-eval"]) == 2
    assert "this run's dataset has no prompt tasks" in capsys.readouterr().err
    missing = tmp_path / "no-tasks"
    options = ["--set", "tasks=[x]", "--set", f"include_path={missing}"]
    assert main(["evaluate", str(run_id), "lm-eval", *options]) == 2
    assert f"include_path {missing} is not a folder" in capsys.readouterr().err
