"""The ``task-accuracy`` evaluation: a fine-tuned run's classifier head scored on a task split.

The head is rebuilt from the run's saved ``classifier`` state and its stage options (the same
input transformation and markers it was trained with); the result is the accuracy, the mean
task loss, the number of records and the accuracy per true label (``accuracy/<label>``).
"""

from __future__ import annotations

import re

from workbench.specs import EvaluationContext
from workbench_gpt1.batching import encode_records
from workbench_gpt1.config import FinetuneConfig
from workbench_gpt1.finetune import HEAD_NAME, build_head, check_task, task_tokens
from workbench_gpt1.scoring import score_records
from workbench_gpt1.specs import TASK_ACCURACY_SPEC, TaskAccuracyConfig

__all__ = ["TASK_ACCURACY_SPEC", "TaskAccuracyConfig", "evaluate_task_accuracy", "metric_key"]


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
