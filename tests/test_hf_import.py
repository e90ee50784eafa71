"""The ``hf-causal-lm`` architecture and the ``hf`` tokenizer on a tiny random GPT-2 saved to a
temporary folder (nothing downloaded): the workbench model protocols against transformers' own
outputs, then every causal-LM stage and evaluation through the real CLI and worker processes.
Needs the ``hf`` extra."""

from __future__ import annotations

import json

import pytest
import torch

pytest.importorskip("transformers")

import yaml  # noqa: E402
from hf_support import make_tiny_gpt2  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from workbench.cli import main  # noqa: E402
from workbench.paths import resolve_home  # noqa: E402
from workbench.protocols import CausalLM, SequenceEncoder  # noqa: E402
from workbench.store import open_store  # noqa: E402
from workbench_hf.model import HFCausalLM  # noqa: E402
from workbench_hf.tokenizer import HFTokenizer, HFTokenizerConfig  # noqa: E402

TEXT = "the cat sees 3 birds, and cat's friend waits."


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_gpt2(tmp_path_factory.mktemp("tiny-gpt2") / "model", n_positions=32)


@pytest.fixture(scope="module")
def reference(tiny):
    model = AutoModelForCausalLM.from_pretrained(str(tiny), local_files_only=True).eval()
    return model, AutoTokenizer.from_pretrained(str(tiny), local_files_only=True)


def _tokenizer(path) -> HFTokenizer:
    tokenizer = HFTokenizer(HFTokenizerConfig(path=str(path)))
    tokenizer.fit(["ignored: the vocabulary is the model's"])
    return tokenizer


def _model(tiny, tokenizer, block_size=None) -> HFCausalLM:
    return HFCausalLM.from_folder(tiny, tokenizer.vocab_size, block_size).eval()


# ---------------------------------------------------------------------------------------------
# The tokenizer
# ---------------------------------------------------------------------------------------------


def test_the_tokenizer_gives_the_model_tokenizers_ids_and_round_trips(tiny, reference, tmp_path):
    _, hf_tokenizer = reference
    tokenizer = _tokenizer(tiny)
    text = TEXT + " <|endoftext|> ünïcode"
    ids = tokenizer.encode(text)
    assert ids == hf_tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.decode(ids) == text
    assert tokenizer.decode(torch.tensor(ids)) == text
    assert tokenizer.vocab_size == len(hf_tokenizer) == 320
    assert tokenizer.token_id("<|endoftext|>") == hf_tokenizer.eos_token_id
    with pytest.raises(ValueError, match="no token '<extract>'"):
        tokenizer.token_id("<extract>")
    tokenizer.save(tmp_path / "saved")
    again = HFTokenizer(HFTokenizerConfig(path=str(tiny)))
    again.load(tmp_path / "saved")
    assert again.encode(text) == ids


# ---------------------------------------------------------------------------------------------
# The model protocols
# ---------------------------------------------------------------------------------------------


def test_logits_hidden_states_and_loss_are_transformers_own(tiny, reference):
    hf_model, _ = reference
    tokenizer = _tokenizer(tiny)
    model = _model(tiny, tokenizer)
    assert isinstance(model, CausalLM) and isinstance(model, SequenceEncoder)
    assert model.block_size == 32 and model.hidden_size == 16 and model.vocab_size == 320
    idx = torch.tensor([tokenizer.encode(TEXT)])
    with torch.no_grad():
        theirs = hf_model(idx, labels=idx, output_hidden_states=True)
        logits, _ = model(idx)
        hidden = model.hidden_states(idx)
        _, loss = model(idx[:, :-1], idx[:, 1:])
    assert logits.std() > 0.1
    assert (logits - theirs.logits).abs().max() < 1e-5
    assert (hidden - theirs.hidden_states[-1]).abs().max() < 1e-5
    assert (model.logits_from_hidden(hidden) - logits).abs().max() < 1e-5
    assert abs(loss.item() - theirs.loss.item()) < 1e-5
    targets = idx[:, 1:].clone()
    targets[:, :3] = -1  # ignored positions
    _, partial = model(idx[:, :-1], targets)
    assert abs(partial.item() - loss.item()) > 1e-4


def test_greedy_generation_matches_transformers_and_the_window_slides(tiny, reference):
    hf_model, _ = reference
    tokenizer = _tokenizer(tiny)
    model = _model(tiny, tokenizer)
    prompt = torch.tensor([tokenizer.encode("the owl sees")])
    ours = model.generate(prompt, 20, temperature=0.0)[0]
    theirs = hf_model.generate(
        prompt, max_new_tokens=20, min_new_tokens=20, do_sample=False, pad_token_id=0
    )[0, prompt.size(1) :].tolist()
    assert ours == theirs
    assert len(set(ours)) > 2  # a varied continuation, not one repeated token
    # Past block_size (16 here), the cached path recomputes the window exactly like no cache.
    short = _model(tiny, tokenizer, block_size=16)
    cached = short.generate(prompt, 30, temperature=0.0)
    assert cached == short.generate(prompt, 30, temperature=0.0, use_cache=False)
    assert len(cached[0]) == 30


def test_sampling_stop_sequences_and_batches_follow_the_contract(tiny):
    tokenizer = _tokenizer(tiny)
    model = _model(tiny, tokenizer)
    prompt = torch.tensor([tokenizer.encode("the dog"), tokenizer.encode("the cat")])

    def sample(use_cache: bool) -> list[list[int]]:
        generator = torch.Generator().manual_seed(7)
        return model.generate(
            prompt, 12, temperature=0.8, top_k=20, top_p=0.9, generator=generator,
            use_cache=use_cache,
        )  # fmt: skip

    assert sample(True) == sample(False)
    greedy = model.generate(prompt, 12, temperature=0.0)
    stop = greedy[0][3:5]
    stopped = model.generate(prompt, 12, temperature=0.0, stop_sequences=[stop])
    assert stopped[0] == greedy[0][:3]
    assert model.training is False
    model.train()
    model.generate(prompt, 2, temperature=0.0)
    assert model.training is True  # the mode is restored


def test_optimizer_groups_and_bad_input(tiny, tmp_path):
    tokenizer = _tokenizer(tiny)
    model = _model(tiny, tokenizer)
    groups = model.optimizer_groups(0.1)
    grouped = [p for g in groups for p in g["params"]]
    assert len(grouped) == len({id(p) for p in model.parameters()}) == len(set(map(id, grouped)))
    assert all(p.dim() >= 2 for p in groups[0]["params"])
    with pytest.raises(ValueError, match="the tokenizer has 999 tokens but the model predicts 320"):
        HFCausalLM.from_folder(tiny, 999)
    with pytest.raises(ValueError, match="block_size 64 exceeds the model's 32 positions"):
        HFCausalLM.from_folder(tiny, 320, block_size=64)
    with pytest.raises(ValueError, match="exceeds block_size 32"):
        model(torch.zeros(1, 33, dtype=torch.long))
    with pytest.raises(ValueError, match=f"the model folder {tmp_path / 'gone'} does not exist"):
        HFCausalLM.from_folder(tmp_path / "gone", 320)


# ---------------------------------------------------------------------------------------------
# Every causal-LM stage and evaluation through the CLI
# ---------------------------------------------------------------------------------------------

SYNTHETIC = {"size_chars": 20_000, "seed": 3}


def _config(tiny, name: str, stage: dict, dataset: str, init_from: str | None = None) -> dict:
    return {
        "name": name,
        "seed": 0,
        "stage": stage,
        "architecture": {"name": "hf-causal-lm", "path": str(tiny)},
        "tokenizer": {"name": "hf", "path": str(tiny)},
        "dataset": {"name": dataset, **SYNTHETIC},
        "trainer": {"accelerator": "cpu", "devices": 1, "log_every_n_steps": 1},
        "init_from": init_from,
    }


@pytest.fixture(scope="module")
def lineage(tiny, tmp_path_factory):
    """pretrain -> finetune, reward-model -> ppo, dpo on the tiny GPT-2; ``(store, home, codes)``."""
    root = tmp_path_factory.mktemp("hf-lineage")
    home = root / "home"
    runs = {
        "h-lm": _config(tiny, "h-lm", {"name": "pretrain", "max_steps": 12, "batch_size": 8,
                        "lr": 3e-3, "warmup_steps": 2, "eval_interval": 6, "eval_batches": 1,
                        "sample_tokens": 8}, "synthetic"),
        "h-ft": _config(tiny, "h-ft", {"name": "finetune", "max_steps": 4, "batch_size": 4,
                        "eval_interval": 4}, "synthetic-task", "h-lm"),
        "h-rm": _config(tiny, "h-rm", {"name": "reward-model", "max_steps": 4, "batch_size": 4,
                        "warmup_steps": 1, "eval_interval": 4, "eval_batches": 1},
                        "synthetic-preferences", "h-lm"),
        "h-ppo": _config(tiny, "h-ppo", {"name": "ppo", "reward_run": "h-rm", "rollouts": 2,
                         "rollout_batch_size": 4, "mini_batch_size": 4, "ppo_epochs": 1,
                         "max_new_tokens": 8, "eval_interval": 2, "val_prompts": 4, "samples": 1},
                         "synthetic-prompts", "h-lm"),
        "h-dpo": _config(tiny, "h-dpo", {"name": "dpo", "max_steps": 3, "batch_size": 4,
                         "warmup_steps": 1, "eval_interval": 3, "eval_batches": 1},
                         "synthetic-preferences", "h-lm"),
    }  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(home))
        mp.setenv("OMP_NUM_THREADS", "1")
        mp.delenv("WORKBENCH_PLUGINS", raising=False)
        mp.delenv("WORKBENCH_DISABLE_PLUGINS", raising=False)
        codes = {}
        for name, raw in runs.items():
            path = root / f"{name}.yaml"
            path.write_text(yaml.safe_dump(raw))
            codes[name] = main(["run", str(path)])
        yield open_store(resolve_home(home)), home, codes


def test_every_stage_trains_the_imported_model(lineage):
    store, home, codes = lineage
    assert codes == {"h-lm": 0, "h-ft": 0, "h-rm": 0, "h-ppo": 0, "h-dpo": 0}
    losses = [m.value for m in store.metrics(store.find_run("h-lm").id, "train/loss")]
    assert losses[-1] < losses[0] - 0.5  # pre-training lowers the loss of the random model
    for name in codes:
        assert (resolve_home(home).run_dir(store.find_run(name).id) / "model.pt").is_file()


def test_generate_few_shot_pairs_and_reward_score_work_on_it(lineage, capsys):
    store, home, _ = lineage
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(home))
        prompt = ["generate", "h-lm", "--prompt", "the cat", "--max-new-tokens", "6"]
        assert main([*prompt, "--temperature", "0"]) == 0
        assert capsys.readouterr().out.startswith("the cat")
        few_shot = ["evaluate", "h-lm", "few-shot", "--set", "limit=2", "--set", "shots=[0, 1]",
                    "--set", "seeds=1", "--json"]  # fmt: skip
        assert main(few_shot) == 0
        metrics = json.loads(capsys.readouterr().out)["metrics"]
        assert {"acc/k=0", "acc/k=1"} <= set(metrics)
        assert 0.0 <= metrics["acc/k=1"] <= 1.0
        assert main(["pairs", "generate", "h-lm", "--count", "2", "--max-tokens", "6"]) == 0
        assert "stored 2 comparison pair(s)" in capsys.readouterr().out
        score = ["evaluate", "h-ppo", "reward-score", "--set", "reward_run=h-rm",
                 "--set", "max_prompts=4", "--set", "samples=1", "--set", "reference_run=h-lm"]  # fmt: skip
        assert main(score) == 0
        assert main(["evaluate", "h-ft", "task-accuracy"]) == 0
    ppo = store.evaluations(store.find_run("h-ppo").id)[0].metrics
    assert "reward/mean" in ppo and "kl" in ppo


def test_an_imported_run_exports_back_with_its_trained_weights_and_heads(lineage, tmp_path):
    from safetensors.torch import load_file

    from workbench.registry import load_registry
    from workbench.runner.build import load_run

    store, home, _ = lineage
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(home))
        assert main(["export", "h-rm", "--format", "hf", "-o", str(tmp_path / "rm")]) == 0
    run = store.find_run("h-rm")
    loaded = load_run(run.config, resolve_home(home).run_dir(run.id), load_registry())
    model = AutoModelForCausalLM.from_pretrained(str(tmp_path / "rm"), local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path / "rm"), local_files_only=True)
    assert tokenizer.model_max_length == 32  # its own limit, not the workbench's "no limit"
    idx = torch.tensor([loaded.tokenizer.encode(TEXT)])
    assert tokenizer(TEXT)["input_ids"] == idx[0].tolist()
    with torch.no_grad():
        ours = loaded.model(idx)[0]
        theirs = model.eval()(idx).logits
    assert (ours - theirs).abs().max() < 1e-5
    heads = load_file(str(tmp_path / "rm" / "heads.safetensors"))
    assert torch.equal(heads["reward.linear.weight"], loaded.heads["reward"]["linear.weight"])
