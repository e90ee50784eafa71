"""The pretrain stage, the perplexity evaluation and reloading a trained GPT."""

from __future__ import annotations

import math

import pytest
import torch
import yaml

from workbench.cli import main
from workbench.paths import resolve_home
from workbench.registry import load_registry
from workbench.runner.build import atomic_torch_save, load_run, load_weights
from workbench.store import open_store
from workbench_gpt.model import GPT, GPTConfig
from workbench_gpt.perplexity import perplexity
from workbench_gpt.pretrain import PretrainConfig, RandomWindows, lr_at


def test_schedule_warms_up_then_decays_to_min_lr():
    cfg = PretrainConfig(lr=1e-3, min_lr=1e-4, warmup_steps=100, max_steps=2000)
    assert lr_at(0, cfg) == pytest.approx(1e-3 / 101)
    assert lr_at(99, cfg) == pytest.approx(1e-3 * 100 / 101)
    assert lr_at(100, cfg) == pytest.approx(1e-3)
    assert lr_at(1050, cfg) == pytest.approx(1e-4 + 0.5 * 9e-4)
    assert lr_at(2000, cfg) == pytest.approx(1e-4)
    assert lr_at(5000, cfg) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="min_lr"):
        PretrainConfig(lr=1e-4, min_lr=1e-3)


def test_windows_are_shifted_by_one_token():
    ids = torch.arange(100)
    x, y = next(iter(RandomWindows(ids, block_size=8, batch_size=4, seed=0)))
    assert x.shape == y.shape == (4, 8)
    assert torch.equal(y, x + 1)
    with pytest.raises(ValueError, match="fewer than block_size"):
        RandomWindows(torch.arange(5), block_size=8, batch_size=1, seed=0)


def test_perplexity_of_a_uniform_model_is_the_vocab_size():
    model = GPT(GPTConfig(n_layer=1, n_head=1, n_embd=8, block_size=8), vocab_size=13)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    ppl, scored = perplexity(model, torch.randint(13, (50,)), batch_size=3)
    assert scored == 49
    assert ppl == pytest.approx(13.0, rel=1e-5)


def test_weights_round_trip_gives_identical_logits(tmp_path):
    torch.manual_seed(0)
    config = GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=16, norm="post")
    model = GPT(config, vocab_size=20)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    data = torch.randint(20, (4, 17))
    for _ in range(5):
        _, loss = model(data[:, :-1], data[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    atomic_torch_save(model.state_dict(), tmp_path / "model.pt")
    fresh = GPT(config, vocab_size=20)
    assert load_weights(fresh, tmp_path / "model.pt") == []
    model.eval()
    fresh.eval()
    assert torch.equal(model(data[:, :-1])[0], fresh(data[:, :-1])[0])
    wrong = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=16), vocab_size=20)
    with pytest.raises(ValueError, match="has shape"):
        load_weights(wrong, tmp_path / "model.pt")


def test_gpt_run_then_checkpoint_model_file_and_perplexity_agree(home, corpus, tmp_path, capsys):
    config = {
        "name": "nano",
        "seed": 3,
        "stage": {
            "name": "pretrain",
            "max_steps": 20,
            "batch_size": 4,
            "eval_interval": 10,
            "eval_batches": 2,
            "sample_tokens": 10,
            "warmup_steps": 2,
        },
        "architecture": {"name": "gpt", "preset": "gpt-nano"},
        "tokenizer": {"name": "char"},
        "dataset": {"name": "text-file", "path": str(corpus)},
        "trainer": {"accelerator": "cpu"},
    }
    path = tmp_path / "nano.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["run", str(path)]) == 0
    paths = resolve_home(home)
    run = open_store(paths).get_run(1)
    loaded = load_run(run.config, paths.run_dir(1), load_registry())
    ckpt = torch.load(paths.run_dir(1) / "checkpoints" / "last.ckpt", weights_only=False)
    from_ckpt = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items()}
    for key, value in loaded.model.state_dict().items():
        assert torch.equal(value, from_ckpt[key]), key
    text = corpus.read_text()
    ids = torch.tensor(loaded.tokenizer.encode(text[-2000:]))
    ppl, _ = perplexity(loaded.model, ids, batch_size=8)
    assert 1.0 < ppl < loaded.tokenizer.vocab_size  # better than uniform after training
    assert math.isfinite(ppl)

    # the perplexity evaluation through the CLI, on another text dataset; samples are stored
    other = tmp_path / "other.txt"
    other.write_text(text[::-1][:3000])
    samples_before = len(open_store(paths).samples(1))
    capsys.readouterr()
    code = main(
        [
            "evaluate",
            "1",
            "perplexity",
            "--set",
            "samples=2",
            "--json",
            "--dataset",
            f"{{name: text-file, path: {other}}}",
        ]
    )
    assert code == 0
    import json

    result = json.loads(capsys.readouterr().out)
    assert result["config"]["dataset"]["path"] == str(other)
    assert result["metrics"]["perplexity"] > 1.0
    assert len(open_store(paths).samples(1)) == samples_before + 2
    assert open_store(paths).evaluations(1)[0].metrics == result["metrics"]
    assert main(["evaluate", "1", "perplexity", "--dataset", "[1, 2]"]) == 2
    capsys.readouterr()
    assert main(["evaluate", "1", "perplexity", "--dataset", "{name: nowhere}"]) == 2
    assert "--dataset: unknown dataset 'nowhere'" in capsys.readouterr().err
    assert main(["evaluate", "1", "perplexity", "--dataset", "{name: text-file, path: 3}"]) == 2


def test_a_resumed_stream_continues_where_it_stopped():
    from types import SimpleNamespace

    from workbench_gpt.pretrain import TokenWindowData

    ids = torch.arange(500)
    full = iter(RandomWindows(ids, block_size=8, batch_size=3, seed=7))
    batches = [next(full) for _ in range(6)]
    resumed = next(iter(RandomWindows(ids, block_size=8, batch_size=3, seed=7, skip=4)))
    assert torch.equal(resumed[0], batches[4][0])
    data = TokenWindowData(ids, ids, block_size=8, batch_size=3, eval_batches=1, seed=7)
    data.trainer = SimpleNamespace(
        global_step=2,
        accumulate_grad_batches=2,
        global_rank=0,
        world_size=1,
        strategy=SimpleNamespace(root_device=torch.device("cpu")),
    )
    x, _ = next(iter(data.train_dataloader()))
    assert torch.equal(x, batches[4][0])


def test_a_sample_prompt_the_tokenizer_cannot_read_fails_before_training(home, write_config):
    # The char tokenizer is fitted on the corpus; 'Ω' is not in it. The run must fail at once,
    # naming the option, not at its first validation minutes later.
    assert main(["run", str(write_config()), "--set", "stage.sample_prompt=Ωx"]) == 1
    run = open_store(resolve_home(home)).get_run(1)
    assert run.status == "failed" and run.step == 0
    assert "stage.sample_prompt 'Ωx': unknown character 'Ω'" in run.error


def test_fused_adamw_on_cpu_only_when_asked_and_the_same_update():
    """``fused_adamw: true`` uses AdamW's fused kernel on the CPU too (default: CUDA only, as
    nanoGPT); it computes the same update, to rounding."""
    from types import SimpleNamespace

    from workbench_gpt.pretrain import CausalLMPretraining

    ctx = SimpleNamespace(tokenizer=None, log_sample=None)

    def trained(**options):
        torch.manual_seed(0)
        model = GPT(GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, dropout=0.0), 11)
        module = CausalLMPretraining(model, PretrainConfig(**options), ctx)
        optimizer = module.configure_optimizers()["optimizer"]
        x = torch.randint(0, 11, (2, 8), generator=torch.Generator().manual_seed(1))
        for _ in range(3):
            model(x, x)[1].backward()
            optimizer.step()
            optimizer.zero_grad()
        return optimizer, torch.cat([p.detach().flatten() for p in model.parameters()])

    default, weights = trained()
    fused, fused_weights = trained(fused_adamw=True)
    assert not default.defaults["fused"] and fused.defaults["fused"]
    assert not torch.equal(weights, trained(lr=2e-3)[1])  # the updates move the weights
    assert torch.allclose(weights, fused_weights, atol=1e-6)
