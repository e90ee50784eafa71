"""The task head: dropout and one linear layer over the final ``<extract>`` hidden states.

How the states of a record's sequences combine depends on the task (GPT-1, figure 1):
classification and entailment read their one sequence; similarity adds the states of its two
orders elementwise before the head; multiple choice scores every choice with a ``(hidden, 1)``
layer and the scores are the logits of a softmax over the choices.
"""

from __future__ import annotations

import torch
from torch import nn

MULTIPLE_CHOICE = "multiple_choice"
SIMILARITY = "similarity"


def head_outputs(task_type: str, n_labels: int) -> int:
    """Width of the head's linear layer: one score per choice, else one logit per label."""
    return 1 if task_type == MULTIPLE_CHOICE else n_labels


class TaskHead(nn.Module):
    """``Dropout -> Linear(hidden_size, n_labels)`` (or ``(hidden_size, 1)`` for multiple choice),
    with the task's way of combining a record's sequences."""

    def __init__(self, hidden_size: int, task_type: str, n_labels: int, dropout: float = 0.1):
        super().__init__()
        self.task_type = task_type
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(hidden_size, head_outputs(task_type, n_labels))
        # GPT-1 initialises new weights like the model's (normal, std 0.02).
        nn.init.normal_(self.linear.weight, std=0.02)
        nn.init.zeros_(self.linear.bias)

    def forward(self, features: torch.Tensor, group: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, n_labels)`` (``(B, K)`` choice scores for multiple choice) from the final
        states ``features`` ``(N, hidden)`` of the rows ``group`` ``(B, K)`` lists per record
        (``-1`` = no such choice, scored ``-inf``)."""
        if self.task_type == MULTIPLE_CHOICE:
            scores = self.linear(self.dropout(features)).squeeze(-1)  # (N,)
            present = group >= 0
            picked = scores[group.clamp(min=0)]
            return picked.masked_fill(~present, float("-inf"))
        if self.task_type == SIMILARITY:
            combined = features[group[:, 0]] + features[group[:, 1]]
            return self.linear(self.dropout(combined))
        return self.linear(self.dropout(features[group[:, 0]]))
