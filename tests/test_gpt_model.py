"""Tests of the ``gpt`` architecture: masking, KV-cache decoding, sampling, tying, training.

All models are tiny (two layers, width 32) so the whole module runs in seconds on a CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import torch
from pydantic import ValidationError

from workbench.protocols import CAUSAL_LM, SEQUENCE_ENCODER, CausalLM
from workbench.specs import ModelContext
from workbench_gpt.architecture import GPT_SPEC, PRESETS, build_gpt
from workbench_gpt.model import GPT, GPTConfig

VOCAB = 16
BLOCK = 16
PATTERN_LEN = 12


def tiny_config(**overrides: object) -> GPTConfig:
    options: dict[str, object] = dict(n_layer=2, n_head=2, n_embd=32, block_size=BLOCK)
    options.update(overrides)
    return GPTConfig.model_validate(options)


def scrambled_model(norm: str = "pre", tie_weights: bool = True, seed: int = 0) -> GPT:
    """A model with large random weights, so that its logits depend strongly on the context."""
    torch.manual_seed(seed)
    model = GPT(tiny_config(norm=norm, tie_weights=tie_weights), VOCAB)
    with torch.no_grad():
        for param in model.parameters():
            param.normal_(0.0, 0.5)
    return model.eval()


def first_stop(tokens: list[int], stops: Sequence[Sequence[int]]) -> list[int]:
    """Reference: ``tokens`` cut before the first stop sequence to complete (longest on ties)."""
    for end in range(1, len(tokens) + 1):
        for stop in sorted(stops, key=len, reverse=True):
            if len(stop) <= end and tokens[end - len(stop) : end] == list(stop):
                return tokens[: end - len(stop)]
    return tokens


@pytest.fixture(scope="module")
def corpus() -> torch.Tensor:
    """A fixed random string of PATTERN_LEN tokens, repeated."""
    gen = torch.Generator().manual_seed(0)
    return torch.randint(0, VOCAB, (PATTERN_LEN,), generator=gen).repeat(40)


def train(model: GPT, data: torch.Tensor, steps: int = 150) -> tuple[float, float]:
    """Fit ``model`` to random windows of ``data``; return the first and last batch loss."""
    gen = torch.Generator().manual_seed(1)
    optimizer = torch.optim.AdamW(model.optimizer_groups(0.0), lr=3e-3)
    model.train()
    losses = []
    for _ in range(steps):
        starts = torch.randint(0, len(data) - BLOCK - 1, (16,), generator=gen)
        x = torch.stack([data[s : s + BLOCK] for s in starts])
        y = torch.stack([data[s + 1 : s + BLOCK + 1] for s in starts])
        _, loss = model(x, y)
        assert loss is not None
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    return losses[0], losses[-1]


@pytest.fixture(scope="module")
def trained(corpus: torch.Tensor) -> dict[str, tuple[GPT, float, float]]:
    """A pre-LN and a post-LN model trained on the repeating corpus, with start and end loss."""
    models = {}
    for norm in ("pre", "post"):
        torch.manual_seed(0)
        model = GPT(tiny_config(norm=norm), VOCAB)
        start, end = train(model, corpus)
        models[norm] = (model, start, end)
    return models


# ---------------------------------------------------------------------------------------------
# Config, presets and spec
# ---------------------------------------------------------------------------------------------


def test_config_rejects_width_not_divisible_by_heads() -> None:
    with pytest.raises(ValidationError, match=r"n_embd \(30\).*n_head \(4\)"):
        GPTConfig(n_embd=30, n_head=4)


def test_config_bounds_and_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        GPTConfig(dropout=1.5)
    with pytest.raises(ValidationError):
        GPTConfig(n_layer=0)
    with pytest.raises(ValidationError):
        GPTConfig(norm="middle")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        GPTConfig.model_validate({"n_layers": 3})


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_validate(name: str) -> None:
    config = GPTConfig.model_validate({**PRESETS[name], "preset": name})
    assert config.n_embd % config.n_head == 0


def test_preset_values() -> None:
    assert PRESETS["gpt1"]["norm"] == "post"
    assert PRESETS["gpt2-small"]["norm"] == "pre"
    assert PRESETS["gpt2-small"]["block_size"] == 1024
    assert PRESETS["nanogpt-gpu"]["dropout"] == 0.2


def test_spec_and_factory() -> None:
    assert GPT_SPEC.name == "gpt"
    assert GPT_SPEC.config is GPTConfig
    assert GPT_SPEC.protocols == (CAUSAL_LM, SEQUENCE_ENCODER)
    assert set(GPT_SPEC.presets) == {"gpt-nano", "nanogpt-cpu", "nanogpt-gpu", "gpt1", "gpt2-small"}
    config = GPTConfig.model_validate(PRESETS["gpt-nano"])
    model = GPT_SPEC.factory(config, ModelContext(vocab_size=40))
    assert isinstance(model, GPT)
    assert model.vocab_size == 40 and model.block_size == 32
    assert isinstance(build_gpt(config, ModelContext(vocab_size=5)), GPT)


def test_satisfies_causal_lm_protocol() -> None:
    model = GPT(tiny_config(), VOCAB)
    assert isinstance(model, CausalLM)
    assert model.config.n_layer == 2


# ---------------------------------------------------------------------------------------------
# Forward pass
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_causal_mask(norm: str) -> None:
    model = scrambled_model(norm)
    idx = torch.randint(0, VOCAB, (2, BLOCK), generator=torch.Generator().manual_seed(3))
    logits, loss = model(idx)
    assert loss is None
    assert logits.shape == (2, BLOCK, VOCAB)
    for pos in (0, 7, BLOCK - 1):
        changed = idx.clone()
        changed[:, pos] = (changed[:, pos] + 1) % VOCAB
        new_logits, _ = model(changed)
        torch.testing.assert_close(new_logits[:, :pos], logits[:, :pos], rtol=0, atol=1e-5)
        assert not torch.allclose(new_logits[:, pos], logits[:, pos], atol=1e-3)


def test_post_norm_has_no_final_layernorm() -> None:
    pre = GPT(tiny_config(norm="pre"), VOCAB)
    post = GPT(tiny_config(norm="post"), VOCAB)
    assert isinstance(pre.transformer.ln_f, torch.nn.LayerNorm)
    assert not any(True for _ in post.transformer.ln_f.parameters())


def test_too_long_sequence_raises() -> None:
    model = GPT(tiny_config(), VOCAB)
    with pytest.raises(ValueError, match="block_size"):
        model(torch.zeros(1, BLOCK + 1, dtype=torch.long))


def test_loss_ignores_minus_one_targets() -> None:
    model = scrambled_model()
    idx = torch.randint(0, VOCAB, (2, 8))
    targets = torch.randint(0, VOCAB, (2, 8))
    targets[:, :3] = -1
    logits, loss = model(idx, targets)
    expected = torch.nn.functional.cross_entropy(
        logits[:, 3:].reshape(-1, VOCAB), targets[:, 3:].reshape(-1)
    )
    assert loss is not None
    torch.testing.assert_close(loss, expected)


def test_hidden_states_feed_the_head() -> None:
    model = scrambled_model("post")
    idx = torch.randint(0, VOCAB, (3, 9))
    hidden = model.hidden_states(idx)
    assert hidden.shape == (3, 9, 32)
    logits, _ = model(idx)
    torch.testing.assert_close(model.lm_head(hidden), logits)


def test_padded_vocab_logits_only_over_real_vocab() -> None:
    torch.manual_seed(0)
    model = GPT(tiny_config(pad_vocab_to=64), 50)
    assert model.vocab_size == 50
    assert model.transformer.wte.weight.shape == (64, 32)
    assert model.lm_head.weight.shape == (64, 32)
    # Make the padding rows the most attractive outputs: they must still never appear.
    with torch.no_grad():
        hidden = model.hidden_states(torch.zeros(1, 1, dtype=torch.long))[0, 0]
        model.lm_head.weight[50:] = hidden * 100
    idx = torch.randint(0, 50, (2, 10))
    targets = torch.randint(0, 50, (2, 10))
    logits, loss = model(idx, targets)
    assert logits.shape == (2, 10, 50)
    assert loss is not None and torch.isfinite(loss)
    assert model.hidden_states(idx).shape == (2, 10, 32)
    gen = torch.Generator().manual_seed(0)
    rows = model.generate(idx, 20, temperature=2.0, generator=gen) + model.generate(
        idx, 20, temperature=0
    )
    assert all(0 <= token < 50 for row in rows for token in row)


def test_weight_tying_shares_tensor_and_gradient() -> None:
    model = scrambled_model()
    wte = model.transformer.wte
    assert model.lm_head.weight is wte.weight
    idx = torch.tensor([[1, 2, 3, 1]])  # tokens outside {1, 2, 3} get gradient only via the head
    targets = torch.tensor([[2, 3, 1, 2]])

    def head_only_gradient() -> torch.Tensor:
        handle = wte.register_forward_hook(lambda _m, _i, out: out.detach())
        try:
            model.zero_grad()
            model(idx, targets)[1].backward()  # type: ignore[union-attr]
        finally:
            handle.remove()
        return wte.weight.grad.clone()  # type: ignore[union-attr]

    model.zero_grad()
    model(idx, targets)[1].backward()  # type: ignore[union-attr]
    both = wte.weight.grad.clone()  # type: ignore[union-attr]
    head = head_only_gradient()
    # The output layer contributes to every row, the embedding lookup only to the rows used.
    assert head[[0, 5, 9]].abs().sum() > 0
    embedding = both - head
    assert embedding[[1, 2, 3]].abs().sum() > 1e-6
    torch.testing.assert_close(embedding[[0, 5, 9]], torch.zeros(3, 32))


def test_untied_weights_are_separate() -> None:
    model = GPT(tiny_config(tie_weights=False), VOCAB)
    assert model.lm_head.weight is not model.transformer.wte.weight


# ---------------------------------------------------------------------------------------------
# Training helpers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tie_weights", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_optimizer_groups_cover_each_parameter_once(tie_weights: bool, bias: bool) -> None:
    model = GPT(tiny_config(tie_weights=tie_weights, bias=bias), VOCAB)
    model.transformer.wpe.weight.requires_grad_(False)
    groups = model.optimizer_groups(0.1)
    decay, no_decay = groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    ids = [id(p) for group in groups for p in group["params"]]
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert len(ids) == len(set(ids))
    assert set(ids) == trainable
    assert all(p.dim() >= 2 for p in decay["params"])
    assert all(p.dim() < 2 for p in no_decay["params"])
    assert any(p is model.transformer.wte.weight for p in decay["params"])
    torch.optim.AdamW(groups, lr=1e-3)  # rejects parameters listed twice


def test_parameter_count_and_flops() -> None:
    model = GPT(tiny_config(), VOCAB)
    total = sum(p.numel() for p in model.parameters())
    assert model.num_parameters(non_embedding=False) == total
    assert model.num_parameters() == total - BLOCK * 32
    untied = GPT(tiny_config(tie_weights=False), VOCAB)
    assert (
        untied.num_parameters()
        == sum(p.numel() for p in untied.parameters()) - (BLOCK + VOCAB) * 32
    )
    n = model.num_parameters()
    assert model.flops_per_token() == 6 * n + 12 * 2 * 2 * 16 * BLOCK
    assert model.flops_per_token(seq_len=4) == 6 * n + 12 * 2 * 2 * 16 * 4


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_learns_repeating_corpus(norm: str, trained: dict[str, tuple[GPT, float, float]]) -> None:
    _, start, end = trained[norm]
    assert start > 2.0  # about ln(16) at initialisation
    assert end < 0.3
    assert end < start / 5


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_cached_decode_matches_full_forward(norm: str) -> None:
    model = scrambled_model(norm, tie_weights=False)
    idx = torch.randint(0, VOCAB, (3, BLOCK), generator=torch.Generator().manual_seed(4))
    full, _ = model(idx)
    cache = model.new_kv_cache()
    # A prefill, a chunk of several tokens (masked attention to the cache), then single steps.
    pieces = [model.decode(idx[:, :5], cache), model.decode(idx[:, 5:9], cache)]
    pieces += [model.decode(idx[:, t : t + 1], cache) for t in range(9, BLOCK)]
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="block_size"):
        model.decode(idx[:, :1], cache)


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_cache_generate_matches_no_cache(
    norm: str, trained: dict[str, tuple[GPT, float, float]], corpus: torch.Tensor
) -> None:
    model, _, _ = trained[norm]
    prompts = torch.stack([corpus[s : s + 4] for s in (0, 3, 7)])
    # 4 + 30 tokens: the window starts sliding past block_size (16) halfway through.
    cached = model.generate(prompts, 30, temperature=0)
    plain = model.generate(prompts, 30, temperature=0, use_cache=False)
    assert cached == plain
    assert all(len(row) == 30 for row in cached)
    # The trained model continues the pattern, so the comparison is over varied tokens.
    expected = [corpus[s + 4 : s + 34].tolist() for s in (0, 3, 7)]
    assert cached == expected
    # A prompt longer than block_size is cropped the same way by both paths.
    long_prompts = torch.stack([corpus[s : s + BLOCK + 5] for s in (1, 2)])
    assert model.generate(long_prompts, 6, temperature=0) == model.generate(
        long_prompts, 6, temperature=0, use_cache=False
    )


@pytest.mark.parametrize("tie_weights", [True, False])
def test_cache_generate_matches_no_cache_scrambled(tie_weights: bool) -> None:
    model = scrambled_model("post", tie_weights=tie_weights, seed=5)
    prompts = torch.randint(0, VOCAB, (4, 3), generator=torch.Generator().manual_seed(6))
    assert model.generate(prompts, 40, temperature=0) == model.generate(
        prompts, 40, temperature=0, use_cache=False
    )
    sampled = [
        model.generate(prompts, 25, use_cache=use_cache, generator=torch.Generator().manual_seed(7))
        for use_cache in (True, False)
    ]
    assert sampled[0] == sampled[1]


def test_stop_sequences(trained: dict[str, tuple[GPT, float, float]], corpus: torch.Tensor) -> None:
    model, _, _ = trained["pre"]
    prompts = torch.stack([corpus[s : s + 4] for s in (0, 4, 8)])
    full = model.generate(prompts, 30, temperature=0)
    pattern = corpus[:PATTERN_LEN].tolist()
    stops = [pattern[6:8], pattern[2:5], []]  # the empty one is ignored

    calls = []
    handle = model.lm_head.register_forward_hook(lambda *_: calls.append(1))
    try:
        stopped = model.generate(prompts, 30, temperature=0, stop_sequences=stops)
    finally:
        handle.remove()
    expected = [first_stop(row, stops[:2]) for row in full]
    assert stopped == expected
    for row, out in zip(full, stopped, strict=True):
        assert len(out) < len(row)
        assert row[: len(out)] == out  # a prefix of the unstopped output, stop tokens excluded
    # Every row has stopped within one pattern period, so generation ended early.
    assert len(calls) <= PATTERN_LEN + 3


def test_stop_sequence_only_some_rows(
    trained: dict[str, tuple[GPT, float, float]], corpus: torch.Tensor
) -> None:
    model, _, _ = trained["pre"]
    prompts = torch.stack([corpus[s : s + 4] for s in (0, 5)])
    full = model.generate(prompts, 6, temperature=0)
    stop = full[0][2:4]
    stopped = model.generate(prompts, 6, temperature=0, stop_sequences=[stop])
    assert stopped == [first_stop(row, [stop]) for row in full]
    assert stopped[0] == full[0][:2]


def test_top_k_one_and_tiny_top_p_are_greedy() -> None:
    model = scrambled_model("post", tie_weights=False, seed=2)
    prompts = torch.randint(0, VOCAB, (3, 4), generator=torch.Generator().manual_seed(8))
    greedy = model.generate(prompts, 12, temperature=0)
    gen = torch.Generator().manual_seed(0)
    assert model.generate(prompts, 12, temperature=1.5, top_k=1, generator=gen) == greedy
    assert model.generate(prompts, 12, temperature=1.5, top_p=1e-6, generator=gen) == greedy


def test_sampling_is_reproducible_and_filters_apply() -> None:
    model = scrambled_model(seed=3)
    prompts = torch.randint(0, VOCAB, (2, 4))

    def sample(**kwargs: object) -> list[list[int]]:
        return model.generate(prompts, 15, generator=torch.Generator().manual_seed(11), **kwargs)  # type: ignore[arg-type]

    assert sample() == sample()
    assert sample(top_k=4, top_p=0.9) == sample(top_k=4, top_p=0.9)
    # With top_k, each sampled token is among the k most likely given its context.
    out = sample(top_k=2)
    for row, prompt in zip(out, prompts, strict=True):
        context = prompt.tolist()
        for token in row:
            logits, _ = model(torch.tensor([context[-BLOCK:]]))
            assert token in torch.topk(logits[0, -1], 2).indices.tolist()
            context.append(token)


def test_generate_restores_mode_and_validates() -> None:
    model = GPT(tiny_config(dropout=0.5), VOCAB)
    prompts = torch.zeros(2, 3, dtype=torch.long)
    model.train()
    first = model.generate(prompts, 5, temperature=0)
    assert model.training
    assert first == model.generate(prompts, 5, temperature=0)  # dropout was off
    model.eval()
    model.generate(prompts, 2, temperature=0)
    assert not model.training
    assert model.generate(prompts, 0) == [[], []]
    with pytest.raises(ValueError):
        model.generate(prompts, 3, temperature=-1.0)
    with pytest.raises(ValueError):
        model.generate(prompts, 3, top_k=0)
    with pytest.raises(ValueError):
        model.generate(prompts, 3, top_p=0.0)
    with pytest.raises(ValueError):
        model.generate(torch.zeros(3, dtype=torch.long), 3)


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_logits_from_hidden_states_equal_the_forward_logits(norm):
    torch.manual_seed(0)
    model = GPT(tiny_config(norm=norm, pad_vocab_to=64), vocab_size=37).eval()
    idx = torch.randint(37, (2, 9))
    logits, _ = model(idx)
    from_hidden = model.logits_from_hidden(model.hidden_states(idx))
    assert from_hidden.shape == (2, 9, 37)
    assert torch.allclose(from_hidden, logits, atol=1e-6)
