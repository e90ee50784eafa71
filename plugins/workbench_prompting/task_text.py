"""The ``prompt-task-text`` dataset: one prompt task of the synthetic corpus written as plain
text, for fine-tuning a pre-trained LM on the task (GPT-3's comparison of prompting with
fine-tuning).

It takes the ``synthetic`` dataset's options as well, so a fine-tuning run names exactly the
corpus its parent was pre-trained on (same seed and options: same world, same held-out items).
The task's demonstration items (``extras["prompt_demos"][task]``, never the held-out ones) become
zero-shot prompt documents in the corpus's own format::

    Reverse the letters:        <- only with `instruction: true`
    trabo -> obart

separated by the corpus's document separator, so the ``pretrain`` stage with
``init_from: <pre-trained run>`` fine-tunes on them. The corpus's prompt extras are carried
along, so the ``few-shot`` evaluation runs on the fine-tuned model unchanged: its ``acc/k=0`` is
the fine-tuned line.
"""

from __future__ import annotations

import random

from pydantic import Field, field_validator

from workbench.data import TextCorpus
from workbench.specs import DatasetContext, DatasetSpec
from workbench_prompting.prompts import PromptFormat
from workbench_synthetic import PROMPT_TASK_NAMES, SyntheticConfig, generate_corpus

OWN_FIELDS = {"task", "instruction", "task_val_items", "repeat"}


class PromptTaskTextConfig(SyntheticConfig):
    """The synthetic corpus's options, plus which prompt task to write and how."""

    task: str = Field("reverse", description="the prompt task: " + ", ".join(PROMPT_TASK_NAMES))
    instruction: bool = Field(True, description="start each example with the task's instruction")
    task_val_items: int = Field(
        10, ge=1, le=1000, description="demonstration items kept for the validation split"
    )
    repeat: int = Field(
        20,
        ge=1,
        le=10_000,
        description="times the training items are written, reshuffled each time",
    )

    @field_validator("task")
    @classmethod
    def _known_task(cls, value: str) -> str:
        if value not in PROMPT_TASK_NAMES:
            raise ValueError(
                f"unknown prompt task {value!r}; choose from {list(PROMPT_TASK_NAMES)}"
            )
        return value


def task_documents(
    items: list[dict[str, str]], fmt: PromptFormat, instruction: str | None
) -> list[str]:
    """One zero-shot prompt document per item: ``[instruction_line] + demonstration``, without
    the demonstration's final stop (documents are joined by the document separator)."""
    head = "" if instruction is None else fmt.instruction_line.format(instruction=instruction)
    return [
        head + fmt.demonstration.format(input=i["input"], output=i["output"]).removesuffix(fmt.stop)
        for i in items
    ]


def load_prompt_task_text(config: PromptTaskTextConfig, ctx: DatasetContext) -> TextCorpus:
    seed = config.seed if config.seed is not None else ctx.seed
    base = SyntheticConfig(**config.model_dump(exclude=OWN_FIELDS))
    extras = generate_corpus(base, seed).extras
    fmt = PromptFormat.from_extras(extras["prompt_format"])
    items = list(extras["prompt_demos"][config.task])
    n_val = min(config.task_val_items, len(items) - 1)
    if n_val < 1:
        raise ValueError(f"prompt task {config.task!r} has too few items to split")
    train_items, val_items = items[: len(items) - n_val], items[len(items) - n_val :]
    instruction = fmt.instruction_for(config.task) if config.instruction else None
    rng = random.Random(f"workbench-prompt-task-text/{seed}/{config.task}")
    train_docs: list[str] = []
    for _ in range(config.repeat):
        train_docs += task_documents(rng.sample(train_items, len(train_items)), fmt, instruction)
    sep = fmt.document_separator
    return TextCorpus(
        train=sep.join(train_docs),
        val=sep.join(task_documents(val_items, fmt, instruction)),
        test="",
        extras={
            "prompt_tasks": extras["prompt_tasks"],
            "prompt_demos": extras["prompt_demos"],
            "prompt_format": extras["prompt_format"],
            "world": extras["world"],
            "generator": extras["generator"],
            "prompt_task_text": {
                "task": config.task,
                "instruction": config.instruction,
                "train_items": len(train_items),
                "val_items": len(val_items),
            },
        },
    )


PROMPT_TASK_TEXT_SPEC = DatasetSpec(
    name="prompt-task-text",
    summary="one prompt task of the synthetic corpus as 'input -> output' text, for fine-tuning "
    "on the task (compare with few-shot prompting)",
    config=PromptTaskTextConfig,
    factory=load_prompt_task_text,
    dataset_kind="text",
)
