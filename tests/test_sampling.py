"""The one sampling loop every causal LM's ``generate`` runs (:func:`workbench.sampling.generate_tokens`)."""

from __future__ import annotations

import pytest
import torch

from workbench.sampling import generate_tokens


class Counter(torch.nn.Module):
    """Always most likely: the token after the last one (mod 5)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[int, int]] = []

    def next_logits(self, seq: torch.Tensor, step: int) -> torch.Tensor:
        self.calls.append((step, seq.size(1)))
        assert not self.training
        return torch.nn.functional.one_hot((seq[:, -1] + 1) % 5, 5).float() * 10


def test_the_loop_samples_stops_and_restores_the_mode():
    model = Counter().train()
    idx = torch.tensor([[0], [2]])
    out = generate_tokens(model, idx, 4, model.next_logits, temperature=0.0)
    assert out == [[1, 2, 3, 4], [3, 4, 0, 1]]
    assert model.calls == [(0, 1), (1, 2), (2, 3), (3, 4)] and model.training
    # A row ends at its stop sequence (dropped); the loop ends once every row has.
    model.calls.clear()
    stopped = generate_tokens(model, idx, 9, model.next_logits, temperature=0.0,
                              stop_sequences=[[2, 3], [0, 1]])  # fmt: skip
    assert stopped == [[1], [3, 4]] and len(model.calls) == 4


def test_the_loop_refuses_arguments_no_model_can_honour():
    model = Counter()
    with pytest.raises(ValueError, match="top_k"):
        generate_tokens(model, torch.tensor([[0]]), 2, model.next_logits, top_k=0)
    assert model.calls == []
