"""``workbench export RUN --format hf``: pre-LN ``gpt`` runs loaded by transformers, offline.

For a char, a word and a BPE run the exported folder must load with ``AutoModelForCausalLM`` and
``AutoTokenizer``, give the workbench tokenizer's ids, logits within 1e-4 of the workbench model
and the same greedy continuation; heads export as safetensors; and the folder imports back as an
``hf-causal-lm`` model with the same logits. The char run is trained for a few steps through the
real CLI and worker; the word and BPE runs are recorded directly with perturbed weights (so that
their logits are far from uniform). Needs the ``hf`` extra.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("safetensors")

import yaml  # noqa: E402
from hf_support import finished_run, gpt_config, write_corpus  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from workbench.cli import main  # noqa: E402
from workbench.paths import resolve_home  # noqa: E402
from workbench.registry import load_registry  # noqa: E402
from workbench.runner.build import load_run  # noqa: E402
from workbench.store import open_store  # noqa: E402
from workbench_gpt.model import GPT, GPTConfig  # noqa: E402
from workbench_rlhf.heads import ScalarHead  # noqa: E402
from workbench_text.tokenizers import BPEConfig, BPETokenizer  # noqa: E402
from workbench_transfer.tokenizer import WordConfig, WordTokenizer  # noqa: E402

LOGITS_TOLERANCE = 1e-4
TEXTS = {
    "char": "the dog sees 12 balls, and dog's friend waits.\nthe owl",
    "word": "The Dog sees 12 zebras, and dog's friend waits...\nthe owl<eos> sees",
    "bpe": "the dog sees 12 balls, and dog's friend waits <|endoftext|> ünïcode",
}


def _perturbed_gpt(options: dict, vocab_size: int, seed: int) -> GPT:
    torch.manual_seed(seed)
    model = GPT(GPTConfig(**options), vocab_size)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * 0.3)
    return model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """``{kind: (LoadedRun, export folder)}`` for the char, word and BPE runs, and the home."""
    root = tmp_path_factory.mktemp("hf-export")
    home = root / "home"
    corpus = write_corpus(root)
    text = corpus.read_text()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(home))
        mp.setenv("OMP_NUM_THREADS", "1")
        mp.delenv("WORKBENCH_PLUGINS", raising=False)
        mp.delenv("WORKBENCH_DISABLE_PLUGINS", raising=False)
        char = gpt_config(
            "char-run", corpus, {"name": "char", "special_tokens": ["<pad>", "<eos>"]},
            pad_vocab_to=8,
        )  # fmt: skip
        path = root / "char.yaml"
        path.write_text(yaml.safe_dump(char))
        assert main(["run", str(path)]) == 0

        word_options = {"n_layer": 2, "n_head": 2, "n_embd": 16, "block_size": 32,
                        "bias": False, "tie_weights": False}  # fmt: skip
        word = WordTokenizer(WordConfig(special_tokens=["<eos>"]))
        word.fit([text])
        word_config = gpt_config("word-run", corpus, {"name": "word", "special_tokens": ["<eos>"]},
                                 bias=False, tie_weights=False)  # fmt: skip
        finished_run(home, word_config, _perturbed_gpt(word_options, word.vocab_size, 1), word)

        bpe = BPETokenizer(BPEConfig(vocab_size=300))
        bpe.fit([text])
        bpe_options = {"n_layer": 2, "n_head": 2, "n_embd": 16, "block_size": 32}
        bpe_config = gpt_config("bpe-run", corpus, {"name": "bpe", "vocab_size": 300})
        model = _perturbed_gpt(bpe_options, bpe.vocab_size, 2)
        torch.manual_seed(3)
        heads = {"reward": ScalarHead(16)}
        finished_run(home, bpe_config, model, bpe, heads=heads)

        paths = resolve_home(home)
        store = open_store(paths)
        registry = load_registry()
        result = {}
        for kind in ("char", "word", "bpe"):
            out = root / f"{kind}-hf"
            assert main(["export", f"{kind}-run", "--format", "hf", "-o", str(out)]) == 0
            run = store.find_run(f"{kind}-run")
            result[kind] = (load_run(run.config, paths.run_dir(run.id), registry), out)
        yield result, home, root


def _hf(out: Path):
    model = AutoModelForCausalLM.from_pretrained(str(out), local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    return model.eval(), tokenizer


@pytest.mark.parametrize("kind", ["char", "word", "bpe"])
def test_transformers_loads_the_export_with_the_same_ids_logits_and_greedy_text(exported, kind):
    runs, _, _ = exported
    loaded, out = runs[kind]
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json",
            "tokenizer_config.json"} <= {p.name for p in out.iterdir()}  # fmt: skip
    model, tokenizer = _hf(out)
    assert type(model).__name__ == "GPT2LMHeadModel"
    assert model.config.activation_function == "gelu"

    text = TEXTS[kind]
    ids = loaded.tokenizer.encode(text)
    assert tokenizer(text)["input_ids"] == ids
    assert tokenizer.encode(text, add_special_tokens=False) == ids
    if kind in ("char", "bpe"):
        assert tokenizer.decode(ids) == text

    idx = torch.tensor([ids[: loaded.model.block_size]])
    with torch.no_grad():
        ours = loaded.model(idx)[0]
        theirs = model(idx).logits
    assert theirs.shape == ours.shape
    difference = (ours - theirs).abs().max().item()
    print(f"\n{kind}: max |logits difference| {difference:.3g} over {idx.numel()} positions")
    assert difference < LOGITS_TOLERANCE
    assert ours.std() > 0.1  # real, non-trivial logits

    prompt = idx[:, :8]
    new_tokens = loaded.model.block_size - prompt.size(1)
    ours_greedy = loaded.model.generate(prompt, new_tokens, temperature=0.0)[0]
    theirs_greedy = model.generate(
        prompt, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
        pad_token_id=0,
    )[0, prompt.size(1):].tolist()  # fmt: skip
    matched = next(
        (i for i, (a, b) in enumerate(zip(ours_greedy, theirs_greedy, strict=True)) if a != b),
        new_tokens,
    )
    print(f"{kind}: greedy continuation matches for {matched} of {new_tokens} tokens")
    assert ours_greedy == theirs_greedy


def test_special_tokens_are_named_in_the_tokenizer_and_generation_configs(exported):
    runs, _, _ = exported
    char, out = runs["char"]
    _, tokenizer = _hf(out)
    assert tokenizer.eos_token == "<eos>" and tokenizer.eos_token_id == char.tokenizer.token_id(
        "<eos>"
    )
    assert tokenizer.pad_token == "<pad>" and tokenizer.pad_token_id == 0
    generation = json.loads((out / "generation_config.json").read_text())
    assert generation["eos_token_id"] == 1 and generation["pad_token_id"] == 0
    config = json.loads((out / "config.json").read_text())
    assert config["bos_token_id"] is None and config["vocab_size"] == char.tokenizer.vocab_size
    bpe, bpe_out = runs["bpe"]
    _, bpe_tokenizer = _hf(bpe_out)
    assert bpe_tokenizer.eos_token == bpe_tokenizer.bos_token == "<|endoftext|>"
    assert bpe_tokenizer.eos_token_id == bpe.tokenizer.token_id("<|endoftext|>")


def test_heads_export_as_safetensors_that_score_like_the_workbench(exported):
    from safetensors.torch import load_file

    runs, _, _ = exported
    loaded, out = runs["bpe"]
    index = json.loads((out / "heads.json").read_text())
    assert index["heads"] == {"reward": {"tensors": {"linear.weight": [1, 16], "linear.bias": [1]}}}
    assert index["stage"]["name"] == "pretrain"
    tensors = load_file(str(out / "heads.safetensors"))
    assert torch.equal(tensors["reward.linear.weight"], loaded.heads["reward"]["linear.weight"])

    model, _ = _hf(out)
    idx = torch.tensor([loaded.tokenizer.encode("the cat sees 3 birds.")])
    with torch.no_grad():
        hidden = model(idx, output_hidden_states=True).hidden_states[-1][0, -1]
        theirs = hidden @ tensors["reward.linear.weight"][0] + tensors["reward.linear.bias"][0]
        head = ScalarHead(16)
        head.load_state_dict(loaded.heads["reward"])
        ours = head(loaded.model.hidden_states(idx)[0, -1])
    assert abs(theirs.item() - ours.item()) < LOGITS_TOLERANCE
    assert not (runs["char"][1] / "heads.safetensors").exists()  # the char run has no heads


def test_the_export_imports_back_as_an_hf_causal_lm_run(exported):
    from workbench_hf.model import HFCausalLM
    from workbench_hf.tokenizer import HFTokenizer, HFTokenizerConfig

    runs, _, _ = exported
    loaded, out = runs["char"]
    tokenizer = HFTokenizer(HFTokenizerConfig(path=str(out)))
    tokenizer.fit([])
    model = HFCausalLM.from_folder(out, tokenizer.vocab_size).eval()
    assert model.block_size == loaded.model.block_size
    ids = tokenizer.encode(TEXTS["char"])
    assert ids == loaded.tokenizer.encode(TEXTS["char"])
    idx = torch.tensor([ids[: model.block_size]])
    with torch.no_grad():
        assert (model(idx)[0] - loaded.model(idx)[0]).abs().max().item() < LOGITS_TOLERANCE
    prompt = idx[:, :5]
    assert model.generate(prompt, 40, temperature=0.0) == loaded.model.generate(
        prompt, 40, temperature=0.0
    )  # past block_size: both slide the window the same way


def test_export_option_heads_false_and_force(exported, capsys):
    _, home, root = exported
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(home))
        out = root / "bpe-hf"
        assert main(["export", "bpe-run", "--format", "hf", "-o", str(out)]) == 2
        assert "not empty" in capsys.readouterr().err
        bare = root / "bare"
        assert (
            main(["export", "bpe-run", "--format", "hf", "-o", str(bare), "--set", "heads=false"])
            == 0
        )
    assert not (bare / "heads.safetensors").exists() and (bare / "model.safetensors").exists()
