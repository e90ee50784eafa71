"""``GPT.attention_weights``: the recomputed attention probabilities the Playground draws."""

from __future__ import annotations

import pytest
import torch

from workbench_gpt.model import GPT, GPTConfig


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_rows_are_causal_distributions(norm: str) -> None:
    torch.manual_seed(0)
    config = GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=12, norm=norm, dropout=0.1)
    model = GPT(config, vocab_size=11)
    model.train()
    idx = torch.randint(0, 11, (3, 9))
    weights = model.attention_weights(idx)
    assert model.training, "the previous mode is restored"
    assert len(weights) == 2
    for layer in weights:
        assert layer.shape == (3, 2, 9, 9)
        torch.testing.assert_close(layer.sum(-1), torch.ones(3, 2, 9))
        above = torch.ones(9, 9, dtype=torch.bool).triu(diagonal=1)
        assert torch.all(layer[..., above] == 0)
        assert torch.all(layer >= 0)
    assert torch.allclose(weights[0][:, :, 0, 0], torch.ones(3, 2))


def test_weights_reproduce_the_layer_output() -> None:
    """Multiplying the values by the weights gives what the SDPA layer computes."""
    torch.manual_seed(1)
    model = GPT(GPTConfig(n_layer=1, n_head=4, n_embd=16, block_size=8), vocab_size=7).eval()
    idx = torch.randint(0, 7, (2, 8))
    (probs,) = model.attention_weights(idx)
    block = model.transformer.h[0]
    x = model.transformer.wte(idx) + model.transformer.wpe(torch.arange(8))
    h = block.ln_1(x)
    _, _, v = block.attn.c_attn(h).split(16, dim=2)
    v = v.view(2, 8, 4, 4).transpose(1, 2)
    mixed = (probs @ v).transpose(1, 2).reshape(2, 8, 16)
    with torch.no_grad():
        torch.testing.assert_close(block.attn.c_proj(mixed), block.attn(h))


def test_too_long_is_refused() -> None:
    model = GPT(GPTConfig(n_layer=1, n_head=1, n_embd=8, block_size=4), vocab_size=5)
    with pytest.raises(ValueError, match="exceeds block_size"):
        model.attention_weights(torch.zeros(1, 5, dtype=torch.long))
