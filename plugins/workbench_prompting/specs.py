"""What the prompting plugin registers that needs torch to run: the ``few-shot`` evaluation and
its options.

Nothing here imports torch: the factory is a :class:`~workbench.specs.LazyFactory` that imports
:mod:`.fewshot` when called.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workbench.protocols import CAUSAL_LM
from workbench.specs import EvaluationSpec, LazyFactory

__all__ = ["DEFAULT_SHOTS", "FEW_SHOT_SPEC", "FewShotConfig"]


DEFAULT_SHOTS = (0, 1, 2, 4, 8)


class FewShotConfig(BaseModel):
    """Options of the few-shot evaluation."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[str] | None = Field(
        None, description="prompt tasks to evaluate (empty: every prompt task of the corpus)"
    )
    shots: list[int] = Field(
        list(DEFAULT_SHOTS), description="numbers of in-context demonstrations k to evaluate"
    )
    seeds: int = Field(3, ge=1, le=50, description="demo-sampling seeds (the spread over them)")
    limit: int | None = Field(
        None, ge=1, description="held-out items per task (empty: all of them)"
    )
    offset: int = Field(
        0, ge=0, description="skip this many held-out items of each task first (to look at one)"
    )
    instruction: bool = Field(True, description="start each prompt with the task's instruction")
    document_separator: bool = Field(
        True,
        description="feed the corpus's document separator before each prompt, as every "
        "document in the training text follows one",
    )
    scoring: Literal["generate", "rank", "both"] = Field(
        "generate",
        description="generate: greedy answer, exact match; rank: pick the most likely of "
        "`choices` candidate outputs (multiple-choice style); both",
    )
    choices: int = Field(4, ge=2, le=20, description="candidates per item when ranking")
    max_new_tokens: int | None = Field(
        None, ge=1, description="answer tokens generated at most (default: longest answer + 2)"
    )
    batch_size: int = Field(64, ge=1, le=4096, description="prompts per forward pass")
    task_file: str | None = Field(
        None,
        description='your own prompt tasks: a JSON Lines file of {"task", "input", '
        '"output"} lines, evaluated instead of the corpus\'s tasks (demonstrations are the '
        "task's other items)",
    )

    @field_validator("shots")
    @classmethod
    def _shots(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("name at least one k")
        if any(k < 0 or k > 64 for k in value):
            raise ValueError("every k must be between 0 and 64")
        return sorted(set(value))


FEW_SHOT_SPEC = EvaluationSpec(
    name="few-shot",
    summary="Zero-, one- and few-shot prompting (GPT-3): exact-match accuracy against the number "
    "of in-context demonstrations, forward passes only",
    config=FewShotConfig,
    factory=LazyFactory("workbench_prompting.fewshot:evaluate_few_shot"),
    requires=CAUSAL_LM,
)
