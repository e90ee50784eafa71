"""The ``task-accuracy`` evaluation: a fine-tuned run's classifier head scored on a task split.

The head is rebuilt from the run's saved ``classifier`` state and its stage options (the same
input transformation and markers it was trained with); the result is the accuracy, the mean
task loss, the number of records and the accuracy per true label (``accuracy/<label>``).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from workbench.protocols import SEQUENCE_ENCODER
from workbench.specs import EvaluationContext, EvaluationSpec
from workbench_gpt1.batching import encode_records
from workbench_gpt1.config import FinetuneConfig
from workbench_gpt1.finetune import HEAD_NAME, build_head, check_task, task_tokens
from workbench_gpt1.scoring import score_records


class TaskAccuracyConfig(BaseModel):
    """Options of the task-accuracy evaluation."""

    model_config = ConfigDict(extra="forbid")

    split: Literal["val", "test"] = Field("test", description="which split of the task to score")
    max_records: int | None = Field(
        None, ge=1, description="score at most this many records from the start of the split"
    )
    batch_size: int = Field(64, ge=1, description="records per forward pass")
    samples: int = Field(3, ge=0, le=50, description="predictions stored with the run as samples")


def metric_key(label: str) -> str:
    """``accuracy/<label>`` with the label reduced to letters, digits and underscores."""
    return "accuracy/" + (re.sub(r"[^0-9A-Za-z]+", "_", label).strip("_") or "label")


def evaluate_task_accuracy(ctx: EvaluationContext) -> dict[str, float]:
    cfg: TaskAccuracyConfig = ctx.config  # type: ignore[assignment]
    state = ctx.heads.get(HEAD_NAME)
    stage = ctx.run_config.get("stage", {})
    if state is None:
        raise ValueError(
            f"run {ctx.run.id} ({ctx.run.name}) has no {HEAD_NAME!r} head: its stage "
            f"{stage.get('name', '?')!r} trained none; evaluate a finetune run"
        )
    task = check_task(ctx.dataset)
    records = task.split(cfg.split)
    if not records:
        raise ValueError(f"the task has no {cfg.split!r} records")
    if cfg.max_records is not None:
        records = records[: cfg.max_records]
    stage_cfg = FinetuneConfig.from_run_stage(stage)
    head = build_head(stage_cfg, ctx.model, task)
    try:
        head.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(
            f"the saved {HEAD_NAME!r} head does not fit this task "
            f"({task.task_type}, {len(task.labels)} labels): {exc}"
        ) from None
    tokens = task_tokens(stage_cfg, ctx.tokenizer)
    encoded = encode_records(
        records, task.task_type, ctx.tokenizer.encode, tokens, ctx.model.block_size, cfg.split
    )
    device = next(ctx.model.parameters()).device
    head.to(device)
    score = score_records(ctx.model, head, encoded, cfg.batch_size, device)

    for i in range(min(cfg.samples, len(encoded))):
        predicted, truth = score.predictions[i], encoded[i].label
        ctx.log_sample(
            -1,
            ctx.tokenizer.decode(encoded[i].sequences[0]),
            f"  => predicted {task.labels[predicted]} (p={score.probabilities[i]:.2f}), "
            f"true {task.labels[truth]}",
        )
    metrics = {"accuracy": score.accuracy, "loss": score.loss, "n": float(score.n)}
    for label, (correct, total) in score.per_label.items():
        metrics[metric_key(task.labels[label])] = correct / total
    return metrics


TASK_ACCURACY_SPEC = EvaluationSpec(
    name="task-accuracy",
    summary="Accuracy of a fine-tuned run's classifier head on a labelled task's val or test split",
    config=TaskAccuracyConfig,
    factory=evaluate_task_accuracy,
    requires=SEQUENCE_ENCODER,
)
