"""The ``jsonl-task`` dataset: a labelled task from the user's JSON Lines files.

One JSON object per line, with the fields of the task type (``text``; ``premise`` and
``hypothesis``; ``text_a`` and ``text_b``; ``context`` and ``choices``) and a ``label``: the
label's name (one of ``labels``) or its index. For multiple choice the label is the index of the
right choice. Blank lines are skipped. Without a ``val`` file, a seeded random ``val_fraction`` of
the training file is held out. Every problem names the file, the line and the field.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workbench.data import LABELLED_TASK, LabelledTask
from workbench.jsonl import jsonl_objects
from workbench.specs import DatasetContext, DatasetSpec

TaskType = Literal["classification", "entailment", "similarity", "multiple_choice"]

TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "classification": ("text",),
    "entailment": ("premise", "hypothesis"),
    "similarity": ("text_a", "text_b"),
    "multiple_choice": ("context",),
}


class JsonlTaskConfig(BaseModel):
    """Options of the jsonl-task dataset."""

    model_config = ConfigDict(extra="forbid")

    train: str = Field(..., min_length=1, description="path of the training JSONL file")
    val: str | None = Field(None, description="path of the validation JSONL file (optional)")
    test: str | None = Field(None, description="path of the test JSONL file (optional)")
    val_fraction: float = Field(
        0.1, gt=0, lt=1, description="share of the training file held out when val is empty"
    )
    task_type: TaskType = Field("classification", description="GPT-1 input transformation")
    labels: list[str] = Field(
        default_factory=list,
        description="label names, in index order (multiple choice: optional, one per choice "
        "position)",
    )
    task_name: str = Field("jsonl", description="the task's name in listings")

    @model_validator(mode="after")
    def _labels_given(self) -> JsonlTaskConfig:
        if self.task_type != "multiple_choice" and len(self.labels) < 2:
            raise ValueError(f"a {self.task_type} task needs at least 2 labels in 'labels'")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels must be distinct")
        return self


def _label_index(value: Any, labels: list[str], n_choices: int | None, where: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{where}: field 'label' must be a label name or an index, got {value!r}")
    if n_choices is not None:
        if not isinstance(value, int) or not 0 <= value < n_choices:
            raise ValueError(
                f"{where}: field 'label' must be the index of the right choice "
                f"(0..{n_choices - 1}), got {value!r}"
            )
        return value
    if isinstance(value, str):
        if value not in labels:
            raise ValueError(f"{where}: field 'label' is {value!r}, not one of {labels}")
        return labels.index(value)
    if isinstance(value, int) and 0 <= value < len(labels):
        return value
    raise ValueError(
        f"{where}: field 'label' must be one of {labels} or an index 0..{len(labels) - 1}, "
        f"got {value!r}"
    )


def parse_record(obj: Any, task_type: str, labels: list[str], where: str) -> dict[str, Any]:
    """One validated record (text fields, ``choices`` for multiple choice, integer ``label``)."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    record: dict[str, Any] = {}
    for key in TEXT_FIELDS[task_type]:
        if key not in obj:
            raise ValueError(f"{where}: missing field {key!r} for a {task_type} task")
        if not isinstance(obj[key], str) or not obj[key]:
            raise ValueError(f"{where}: field {key!r} must be a non-empty string")
        record[key] = obj[key]
    n_choices = None
    if task_type == "multiple_choice":
        choices = obj.get("choices")
        if (
            not isinstance(choices, list)
            or len(choices) < 2
            or not all(isinstance(c, str) and c for c in choices)
        ):
            raise ValueError(f"{where}: field 'choices' must be a list of at least 2 strings")
        record["choices"] = choices
        n_choices = len(choices)
    if "label" not in obj:
        raise ValueError(f"{where}: missing field 'label'")
    record["label"] = _label_index(obj["label"], labels, n_choices, where)
    return record


def read_records(path: Path, task_type: str, labels: list[str]) -> list[dict[str, Any]]:
    """The records of one JSONL file; errors name ``file:line`` and the field."""
    if not path.is_file():
        raise FileNotFoundError(f"task file not found: {path}")
    records = [parse_record(obj, task_type, labels, where) for where, obj in jsonl_objects(path)]
    if not records:
        raise ValueError(f"{path}: no records")
    return records


def load_jsonl_task(config: JsonlTaskConfig, ctx: DatasetContext) -> LabelledTask:
    def read(path: str) -> list[dict[str, Any]]:
        return read_records(Path(path).expanduser(), config.task_type, config.labels)

    train = read(config.train)
    if config.val:
        val = read(config.val)
    else:
        order = list(range(len(train)))
        random.Random(f"workbench-jsonl-task/{ctx.seed}").shuffle(order)
        n_val = max(1, round(len(train) * config.val_fraction))
        if n_val >= len(train):
            raise ValueError(f"{config.train}: too few records to hold out a validation split")
        held = set(order[:n_val])
        val = [train[i] for i in sorted(held)]
        train = [train[i] for i in range(len(train)) if i not in held]
    test = read(config.test) if config.test else []
    labels = list(config.labels)
    if config.task_type == "multiple_choice":
        widest = max(len(r["choices"]) for r in (*train, *val, *test))
        labels = labels or [f"choice {i}" for i in range(widest)]
        if len(labels) < widest:
            raise ValueError(f"labels names {len(labels)} choice positions; records have {widest}")
    return LabelledTask(
        name=config.task_name,
        task_type=config.task_type,
        labels=labels,
        train=train,
        val=val,
        test=test,
    )


JSONL_TASK_SPEC = DatasetSpec(
    name="jsonl-task",
    summary="a labelled task (classification, entailment, similarity, multiple choice) from "
    "JSON Lines files",
    config=JsonlTaskConfig,
    factory=load_jsonl_task,
    dataset_kind=LABELLED_TASK,
)
