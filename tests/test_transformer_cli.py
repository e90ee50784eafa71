"""The Transformer plugins end to end: a tiny seq2seq run through the CLI, then ``workbench
evaluate`` and ``workbench attention`` on it; the stage's and the commands' errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from workbench.charts.attention import attention_figure, attention_figures, token_label
from workbench.cli import main
from workbench.config import resolve_config
from workbench.paths import resolve_home
from workbench.registry import load_registry
from workbench.specs import ModelContext, RunInfo, StageContext
from workbench.store import open_store
from workbench_text.tokenizers import CharConfig, CharTokenizer
from workbench_transformer.architecture import build_transformer
from workbench_transformer.model import TransformerConfig
from workbench_transformer.seq2seq import Seq2SeqConfig, build_seq2seq
from workbench_transformer.tasks import SymbolTaskConfig, make_symbol_task

SPECIALS = ["<pad>", "<bos>", "<eos>"]


def tiny_config() -> dict:
    return {
        "name": "tiny-copy",
        "seed": 0,
        "stage": {
            "name": "seq2seq",
            "max_steps": 40,
            "max_tokens": 256,
            "warmup_steps": 10,
            "eval_interval": 20,
            "eval_examples": 16,
            "bleu_tokenize": "char",
            "sample_count": 2,
        },
        "architecture": {
            "name": "transformer",
            "preset": "transformer-tiny",
            "d_model": 16,
            "n_head": 2,
            "d_ff": 32,
            "max_len": 16,
        },
        "tokenizer": {"name": "char", "special_tokens": SPECIALS},
        "dataset": {
            "name": "copy",
            "min_length": 3,
            "max_length": 5,
            "num_symbols": 5,
            "train_size": 200,
            "val_size": 16,
            "test_size": 16,
        },
        "trainer": {"accelerator": "cpu", "devices": 1, "log_every_n_steps": 5},
    }


def test_tiny_run_then_evaluate_and_attention(home, tmp_path, capsys, monkeypatch):
    # One torch thread: on a busy 2-core machine two threads stall each other.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    path = tmp_path / "tiny-copy.yaml"
    path.write_text(yaml.safe_dump(tiny_config()))
    assert main(["run", str(path)]) == 0
    store = open_store(resolve_home(home))
    run = store.get_run(1)
    assert run.status == "succeeded" and run.step == 40
    names = set(store.metric_names(1))
    expected = {
        "train/loss",
        "train/nll",
        "lr",
        "val/loss",
        "val/ppl",
        "val/exact_match",
        "val/bleu",
    }
    assert expected <= names
    assert [m.step for m in store.metrics(1, "val/bleu")] == [20, 40]
    lr = store.metrics(1, "lr")
    assert max(lr, key=lambda m: m.value).step in range(5, 16)  # warm-up, then decay
    samples = store.samples(1)
    assert len(samples) == 4 and all(len(s.prompt) in range(3, 6) for s in samples)
    capsys.readouterr()

    # evaluate: both decodings, stored with the run
    argv = ["evaluate", "1", "bleu", "--set", "max_examples=8", "--set", "tokenize=char"]
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["evaluation"] == "bleu" and result["run"] == 1
    assert set(result["metrics"]) == {"bleu_greedy", "bleu_beam", "examples"}
    assert result["metrics"]["examples"] == 8.0
    assert all(0.0 <= v <= 100.0 for v in result["metrics"].values())
    assert main(["evaluate", "tiny-copy", "exact-match", "--set", "decoding=greedy"]) == 0
    out = capsys.readouterr().out
    assert "exact-match" in out and "exact_match_greedy" in out and "beam" not in out
    stored = store.evaluations(1)
    assert [e.name for e in stored] == ["bleu", "exact-match"]
    assert stored[0].config["split"] == "test" and stored[0].config["max_examples"] == 8

    # attention: every layer and head of the three kinds in one HTML file
    html = tmp_path / "maps" / "attention.html"
    assert main(["attention", "1", "--example", "2", "--out", str(html)]) == 0
    assert "wrote" in capsys.readouterr().out
    text = html.read_text(encoding="utf-8")
    for title in (
        "Encoder self-attention",
        "Decoder self-attention",
        "Encoder-decoder (cross) attention",
    ):
        assert title in text
    assert text.count("layer 2, head 2") == 3
    assert (
        main(["attention", "1", "--example", "0", "--target", "reference", "--out", str(html)]) == 0
    )
    capsys.readouterr()

    # bad input: exit code 2 and a message naming the problem
    assert main(["evaluate", "1", "blue"]) == 2
    assert "unknown evaluation 'blue'" in capsys.readouterr().err
    assert main(["evaluate", "1", "bleu", "--set", "split=dev"]) == 2
    assert "evaluation.split" in capsys.readouterr().err
    assert main(["evaluate", "1", "bleu", "--set", "beam_sizes=3"]) == 2
    assert "evaluation.beam_sizes: unknown field" in capsys.readouterr().err
    assert main(["attention", "1", "--example", "99", "--out", str(html)]) == 2
    assert "outside the val split (0..15)" in capsys.readouterr().err
    assert main(["attention", "1", "--example", "0", "--out", str(tmp_path / "a.png")]) == 2
    assert "--out must name an .html file" in capsys.readouterr().err
    assert len(store.evaluations(1)) == 2


def test_commands_refuse_a_model_that_is_not_seq2seq(home, capsys):
    store = open_store(resolve_home(home))
    store.create_run(
        name="lm",
        stage="pretrain",
        architecture="bigram",
        dataset="text-file",
        tokenizer="char",
        config={},
        seed=0,
        plugin_versions={},
        package_versions={},
        status="succeeded",
    )
    assert main(["evaluate", "lm", "exact-match"]) == 2
    assert "needs a 'seq2seq' model" in capsys.readouterr().err
    assert main(["attention", "lm", "--example", "0", "--out", "x.html"]) == 2
    assert "implements: causal-lm" in capsys.readouterr().err


def stage_context(tmp_path: Path, tokenizer_config: CharConfig, **stage) -> StageContext:
    dataset = make_symbol_task(
        "copy",
        SymbolTaskConfig(train_size=40, val_size=8, test_size=0, min_length=3, max_length=9),
        _ctx(tmp_path),
    )
    tokenizer = CharTokenizer(tokenizer_config)
    tokenizer.fit(dataset.texts())
    model = build_transformer(
        TransformerConfig(
            encoder_layers=1, decoder_layers=1, d_model=8, n_head=2, d_ff=16, max_len=8
        ),
        ModelContext(vocab_size=tokenizer.vocab_size),
    )
    return StageContext(
        config=Seq2SeqConfig(**stage),
        run=RunInfo(id=1, name="t", seed=0, run_dir=tmp_path, home=tmp_path),
        model=model,
        tokenizer=tokenizer,
        dataset=dataset,
    )


def _ctx(tmp_path: Path):
    from workbench.specs import DatasetContext

    return DatasetContext(cache_dir=tmp_path, seed=0)


def test_stage_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match=r"no '<pad>' token.*special_tokens"):
        build_seq2seq(stage_context(tmp_path, CharConfig()))
    with pytest.raises(
        ValueError, match=r"train pair \d+: \d+ source .* exceed the model's max_len \(8\)"
    ):
        build_seq2seq(stage_context(tmp_path, CharConfig(special_tokens=SPECIALS)))


def test_seq2seq_config_validates_with_the_pairing_rules():
    registry = load_registry()
    raw = tiny_config()
    resolved = resolve_config(raw, registry)
    assert resolved.options["stage"].label_smoothing == 0.1
    assert resolved.options["architecture"].encoder_layers == 2
    raw["architecture"] = {"name": "gpt", "preset": "gpt-nano"}
    with pytest.raises(ValueError, match="does not implement protocol 'seq2seq'"):
        resolve_config(raw, registry)
    raw = tiny_config()
    raw["stage"]["label_smoothing"] = 1.0
    with pytest.raises(ValueError, match="stage.label_smoothing"):
        resolve_config(raw, registry)


def test_attention_figures_handle_repeated_tokens():
    heads, layers = 2, 3
    src, out = ["a", "b", "a", "<eos>"], ["b", " b", "<eos>"]
    dec_in = ["<bos>", "b", " b"]
    rng = np.random.default_rng(0)

    def weights(q: int, k: int) -> list[np.ndarray]:
        w = rng.random((layers, heads, q, k))
        return list(w / w.sum(-1, keepdims=True))

    maps = {"encoder_self": weights(4, 4), "decoder_self": weights(3, 3), "cross": weights(3, 4)}
    figures = attention_figures(maps, src, dec_in, out)
    assert [f.layout.title.text for f in figures] == [
        "Encoder self-attention",
        "Decoder self-attention",
        "Encoder-decoder (cross) attention",
    ]
    cross = figures[2]
    assert len(cross.data) == layers * heads
    assert list(cross.layout.xaxis.ticktext) == ["a", "b", "a", "<eos>"]  # repeats kept apart
    assert list(cross.layout.yaxis.ticktext) == ["b", "␣b", "<eos>"]
    assert token_label("") == "∅"
    with pytest.raises(ValueError, match="expected \\(2, 3, 4\\)"):
        attention_figure("x", [np.zeros((2, 3, 3))], ["q"] * 3, ["k"] * 4)


def test_transformer_runs_on_the_cpu_for_a_batch():
    registry = load_registry()
    resolved = resolve_config(tiny_config(), registry)
    model = registry.architecture("transformer").factory(
        resolved.options["architecture"], ModelContext(vocab_size=8)
    )
    logits = model(torch.randint(3, 8, (2, 5)), torch.randint(3, 8, (2, 4)))
    assert logits.shape == (2, 4, 8)
