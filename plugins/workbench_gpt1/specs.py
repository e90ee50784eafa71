"""What the GPT-1 plugin registers that needs torch to run: the ``finetune`` stage and the
``task-accuracy`` evaluation, with their options (the stage's are in :mod:`.config`).

Nothing here imports torch or Lightning: each factory is a :class:`~workbench.specs.LazyFactory`
that imports its module (:mod:`.finetune`, :mod:`.evaluation`) when called.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from workbench.data import LABELLED_TASK
from workbench.protocols import SEQUENCE_ENCODER
from workbench.specs import LABELLED_TASK_ACCURACY, EvaluationSpec, LazyFactory, StageSpec
from workbench_gpt1.config import FinetuneConfig

__all__ = ["FINETUNE_SPEC", "TASK_ACCURACY_SPEC", "TaskAccuracyConfig"]


FINETUNE_SPEC = StageSpec(
    name="finetune",
    summary="GPT-1 supervised fine-tuning: task input transformations, a linear head on the "
    "final <extract> state, and the auxiliary LM loss",
    config=FinetuneConfig,
    factory=LazyFactory("workbench_gpt1.finetune:build_finetune"),
    requires=SEQUENCE_ENCODER,
    dataset_kinds=(LABELLED_TASK,),
)


class TaskAccuracyConfig(BaseModel):
    """Options of the task-accuracy evaluation."""

    model_config = ConfigDict(extra="forbid")

    split: Literal["val", "test"] = Field("test", description="which split of the task to score")
    max_records: int | None = Field(
        None, ge=1, description="score at most this many records from the start of the split"
    )
    batch_size: int = Field(64, ge=1, description="records per forward pass")
    samples: int = Field(3, ge=0, le=50, description="predictions stored with the run as samples")


TASK_ACCURACY_SPEC = EvaluationSpec(
    name="task-accuracy",
    summary="Accuracy of a fine-tuned run's classifier head on a labelled task's val or test split",
    config=TaskAccuracyConfig,
    factory=LazyFactory("workbench_gpt1.evaluation:evaluate_task_accuracy"),
    requires=SEQUENCE_ENCODER,
    measures=(LABELLED_TASK_ACCURACY,),
)
