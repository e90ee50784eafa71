"""Running a sequence encoder and a task head over a :class:`~workbench_gpt1.batching.TaskBatch`:
task logits, the auxiliary LM loss, and whole-split scoring for validation and evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from workbench.protocols import CausalLM
from workbench_gpt1.batching import EncodedRecord, TaskBatch, collate, final_states
from workbench_gpt1.head import TaskHead


def is_causal_lm(model: nn.Module) -> bool:
    """Whether ``model`` implements the causal-LM protocol (so it can give the auxiliary loss)."""
    return isinstance(model, CausalLM)


def lm_loss(model: nn.Module, hidden: torch.Tensor, batch: TaskBatch) -> torch.Tensor:
    """Mean next-token cross-entropy of the batch's rows (padding ignored).

    A model with ``logits_from_hidden`` (the ``gpt`` architecture) turns the hidden states it
    already computed into logits, so the trunk runs once; other causal LMs are called as
    ``model(idx, targets)``.
    """
    project = getattr(model, "logits_from_hidden", None)
    if callable(project):
        logits = project(hidden)
        return F.cross_entropy(
            logits.reshape(-1, logits.size(-1)).float(), batch.targets.reshape(-1), ignore_index=-1
        )
    _, loss = model(batch.ids, batch.targets)
    return loss


def task_forward(
    model: nn.Module, head: TaskHead, batch: TaskBatch, with_lm: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Task logits ``(B, n)`` and, when ``with_lm``, the auxiliary LM loss."""
    hidden = model.hidden_states(batch.ids)
    logits = head(final_states(hidden, batch.last), batch.group)
    return logits, (lm_loss(model, hidden, batch) if with_lm else None)


@dataclass
class SplitScore:
    """Loss, accuracy and predictions over a list of records."""

    loss: float
    accuracy: float
    n: int
    predictions: list[int]
    probabilities: list[float]
    per_label: dict[int, tuple[int, int]] = field(default_factory=dict)
    """label -> (correct, total)."""


@torch.no_grad()
def score_records(
    model: nn.Module,
    head: TaskHead,
    records: Sequence[EncodedRecord],
    batch_size: int,
    device: torch.device | str = "cpu",
) -> SplitScore:
    """Task loss and accuracy of ``records`` (model and head in eval mode while scoring; their
    previous modes are restored)."""
    if not records:
        raise ValueError("no records to score")
    modes = (model.training, head.training)
    model.eval()
    head.eval()
    total_loss, correct = 0.0, 0
    predictions: list[int] = []
    probabilities: list[float] = []
    per_label: dict[int, list[int]] = {}
    try:
        for first in range(0, len(records), batch_size):
            batch = TaskBatch(*(t.to(device) for t in collate(records[first : first + batch_size])))
            logits, _ = task_forward(model, head, batch, with_lm=False)
            logits = logits.float()
            total_loss += float(F.cross_entropy(logits, batch.labels, reduction="sum"))
            probs = logits.softmax(-1)
            best = probs.argmax(-1)
            hits = best == batch.labels
            correct += int(hits.sum())
            predictions.extend(best.tolist())
            probabilities.extend(probs.max(-1).values.tolist())
            for label, hit in zip(batch.labels.tolist(), hits.tolist(), strict=True):
                counts = per_label.setdefault(label, [0, 0])
                counts[0] += int(hit)
                counts[1] += 1
    finally:
        model.train(modes[0])
        head.train(modes[1])
    n = len(records)
    return SplitScore(
        loss=total_loss / n,
        accuracy=correct / n,
        n=n,
        predictions=predictions,
        probabilities=probabilities,
        per_label={label: (c, t) for label, (c, t) in sorted(per_label.items())},
    )
