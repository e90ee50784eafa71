"""The ``lstm-lm`` and ``word-vector-lstm`` architectures: losses, generation with the recurrent
state as cache, hidden states, and ``lstm-lm`` under the real ``pretrain`` stage."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import yaml

from workbench.cli import main
from workbench.paths import resolve_home
from workbench.protocols import CausalLM, SequenceEncoder
from workbench.store import open_store
from workbench_transfer.lstm_lm import LSTMLanguageModel, LSTMLMConfig
from workbench_transfer.word_vector_lstm import WordVectorLSTM, WordVectorLSTMConfig

VOCAB = 23


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """Tiny ops on a busy 2-core machine are many times faster on one thread than on two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # for the worker processes, too
    yield
    torch.set_num_threads(threads)


def lstm_lm(**options) -> LSTMLanguageModel:
    torch.manual_seed(0)
    defaults = dict(n_layer=2, n_embd=8, n_hidden=12, block_size=8, dropout=0.0)
    return LSTMLanguageModel(LSTMLMConfig(**{**defaults, **options}), VOCAB)


def test_loss_is_cross_entropy_ignoring_minus_one():
    model = lstm_lm()
    idx = torch.randint(0, VOCAB, (3, 6))
    targets = torch.randint(0, VOCAB, (3, 6))
    targets[0, :4] = -1
    logits, loss = model(idx, targets)
    assert logits.shape == (3, 6, VOCAB)
    kept = targets >= 0
    expected = F.cross_entropy(logits[kept], targets[kept])
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert model(idx)[1] is None


def test_output_layer_is_tied_and_projected_when_wider():
    model = lstm_lm()
    assert model.decoder.weight is model.embedding.weight
    assert model.proj.weight.shape == (8, 12)
    untied = lstm_lm(tie_weights=False)
    assert untied.decoder.weight is not untied.embedding.weight
    assert isinstance(untied.proj, torch.nn.Identity)
    # A tied matrix is counted once; untied, the embedding is left out of the non-embedding count.
    assert model.num_parameters(False) == sum(p.numel() for p in model.parameters())
    assert untied.num_parameters(True) == untied.num_parameters(False) - VOCAB * 8


def test_incremental_generation_equals_recomputation_at_temperature_zero():
    model = lstm_lm()
    # Random weights give near-uniform logits; sharpen them so greedy picks are not near-ties.
    with torch.no_grad():
        model.embedding.weight.mul_(20)
    idx = torch.randint(0, VOCAB, (3, 5))
    # 20 new tokens: well past block_size (8), which an LSTM does not need to crop at.
    cached = model.generate(idx, 20, temperature=0.0)
    recomputed = model.generate(idx, 20, temperature=0.0, use_cache=False)
    assert cached == recomputed
    assert all(len(row) == 20 for row in cached)
    # Greedy continuation is each step's argmax of the full forward pass.
    seq = idx[:1]
    for token in cached[0][:5]:
        assert model(seq)[0][0, -1].argmax().item() == token
        seq = torch.cat([seq, torch.tensor([[token]])], dim=1)
    # The cache is the state: decoding step by step gives the full pass's logits.
    full, _ = model.decode(idx)
    _, state = model.decode(idx[:, :3])
    step, _ = model.decode(idx[:, 3:4], state)
    torch.testing.assert_close(step[:, 0], full[:, 3], atol=1e-5, rtol=1e-5)


def test_generate_sampling_stops_and_restores_training_mode():
    model = lstm_lm()
    model.train()
    idx = torch.randint(0, VOCAB, (2, 3))
    first = model.generate(
        idx, 8, temperature=1.0, top_k=5, generator=torch.Generator().manual_seed(1)
    )
    again = model.generate(
        idx, 8, temperature=1.0, top_k=5, generator=torch.Generator().manual_seed(1)
    )
    assert first == again and model.training
    greedy = model.generate(idx, 8, temperature=0.0)
    assert model.generate(idx, 8, temperature=1.0, top_k=1) == greedy
    assert model.generate(idx, 8, temperature=1.0, top_p=1e-6) == greedy
    stop = greedy[0][2]
    stopped = model.generate(idx[:1], 8, temperature=0.0, stop_sequences=[[stop]])
    assert stopped[0] == greedy[0][: greedy[0].index(stop)]
    with pytest.raises(ValueError, match="top_p"):
        model.generate(idx, 1, top_p=0.0)


def test_hidden_states_top_and_concat_and_causal():
    model = lstm_lm()
    idx = torch.randint(0, VOCAB, (2, 7))
    top = model.hidden_states(idx)
    assert top.shape == (2, 7, model.hidden_size) == (2, 7, 12)
    concat = lstm_lm(features="concat")
    states = concat.hidden_states(idx)
    assert concat.hidden_size == 24 and states.shape == (2, 7, 24)
    torch.testing.assert_close(states[..., 12:], top)
    normed = lstm_lm(features="concat", feature_norm=True).hidden_states(idx)
    torch.testing.assert_close(
        normed[..., 12:].std(-1, unbiased=False), torch.ones(2, 7), atol=1e-2, rtol=0
    )
    torch.testing.assert_close(normed[..., 12:], F.layer_norm(top, (12,)))
    # Left to right: a later token never changes an earlier state.
    changed = idx.clone()
    changed[:, -1] = (changed[:, -1] + 1) % VOCAB
    torch.testing.assert_close(model.hidden_states(changed)[:, :-1], top[:, :-1])
    assert isinstance(model, CausalLM) and isinstance(model, SequenceEncoder)


def test_optimizer_groups_hold_every_trainable_parameter_once():
    model = lstm_lm()
    groups = model.optimizer_groups(0.1)
    params = [p for group in groups for p in group["params"]]
    assert len({id(p) for p in params}) == len(params) == len(list(model.parameters()))
    assert all(p.dim() >= 2 for p in groups[0]["params"]) and groups[0]["weight_decay"] == 0.1
    assert all(p.dim() < 2 for p in groups[1]["params"]) and groups[1]["weight_decay"] == 0.0


def test_word_vector_lstm_encodes_and_can_freeze_its_vectors():
    config = WordVectorLSTMConfig(n_embd=6, n_hidden=10, block_size=16, freeze_embeddings=True)
    model = WordVectorLSTM(config, VOCAB)
    idx = torch.randint(0, VOCAB, (4, 9))
    assert model.hidden_states(idx).shape == (4, 9, model.hidden_size) == (4, 9, 10)
    assert not model.embedding.weight.requires_grad
    trainable = [p for group in model.optimizer_groups(0.0) for p in group["params"]]
    assert all(p is not model.embedding.weight for p in trainable)
    assert isinstance(model, SequenceEncoder) and not isinstance(model, CausalLM)
    # word2vec's initialisation: small uniform vectors.
    assert model.embedding.weight.abs().max() <= 0.5 / 6


def test_lstm_lm_trains_under_the_pretrain_stage_through_the_cli(home, tmp_path, corpus, capsys):
    config = {
        "name": "tiny-lstm",
        "seed": 0,
        "stage": {
            "name": "pretrain",
            "max_steps": 40,
            "batch_size": 8,
            "lr": 1e-2,
            "warmup_steps": 2,
            "eval_interval": 20,
            "eval_batches": 2,
            "sample_tokens": 10,
        },
        "architecture": {"name": "lstm-lm", "preset": "lstm-nano"},
        "tokenizer": {"name": "word"},
        "dataset": {"name": "text-file", "path": str(corpus)},
        "trainer": {"accelerator": "cpu", "devices": 1, "log_every_n_steps": 1},
    }
    path = tmp_path / "lstm.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["run", str(path)]) == 0
    store = open_store(resolve_home(home))
    run = store.get_run(1)
    assert run.status == "succeeded" and run.step == 40
    losses = [m.value for m in store.metrics(1, "train/loss")]
    assert losses[-1] < losses[0] - 1.0  # word-level patterned text is easy to learn
    samples = store.samples(1)
    assert len(samples) == 2 and samples[-1].text.strip()
    capsys.readouterr()
    assert main(["evaluate", "1", "perplexity"]) == 0
    assert "perplexity" in capsys.readouterr().out
