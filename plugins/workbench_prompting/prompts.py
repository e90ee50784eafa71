"""Prompt construction for few-shot evaluation, from the format a corpus states in its extras.

A corpus with prompt tasks (the built-in ``synthetic`` corpus) describes, in
``extras["prompt_format"]``, exactly how its prompt documents are written::

    prompt   = [instruction_line] + k * demonstration + query
    expected = answer, then stop

This module reads that description (:class:`PromptFormat`), renders prompts from it, and draws the
demonstrations (:func:`draw_demonstrations`) from the items a corpus marks as safe to show
(``extras["prompt_demos"]``), never from the held-out evaluation items
(``extras["prompt_tasks"]``). Nothing here imports another plugin: the format comes from the data.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Item = Mapping[str, Any]
"""One prompt-task item: ``{"input": ..., "output": ...}``."""

REQUIRED_EXTRAS = ("prompt_tasks", "prompt_demos", "prompt_format")


class NotAPromptCorpus(ValueError):
    """The dataset carries no prompt tasks (it is not the synthetic corpus or a view of it)."""


@dataclass(frozen=True)
class PromptFormat:
    """The templates of a corpus's prompt documents (``extras["prompt_format"]``)."""

    instruction_line: str = "{instruction}\n"
    demonstration: str = "{input} -> {output}\n"
    query: str = "{input} ->"
    answer: str = " {output}"
    stop: str = "\n"
    document_separator: str = "\n\n"
    instructions: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_extras(cls, fmt: Mapping[str, Any]) -> PromptFormat:
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in fmt.items() if key in known})

    def instruction_for(self, task: str) -> str | None:
        return self.instructions.get(task)

    def prompt(
        self, demonstrations: Sequence[Item], query: str, instruction: str | None = None
    ) -> str:
        """``[instruction_line] + demonstrations + query``: the text the model continues."""
        parts = (
            [] if instruction is None else [self.instruction_line.format(instruction=instruction)]
        )
        parts += [
            self.demonstration.format(input=d["input"], output=d["output"]) for d in demonstrations
        ]
        parts.append(self.query.format(input=query))
        return "".join(parts)

    def expected(self, output: str) -> str:
        """What a correct model writes after the prompt, up to (not including) the stop."""
        return self.answer.format(output=output)

    def cut(self, generated: str) -> str:
        """A generation up to its first stop string."""
        return generated.split(self.stop, 1)[0] if self.stop else generated


def prompt_extras(
    dataset: Any,
) -> tuple[dict[str, list[Item]], dict[str, list[Item]], PromptFormat]:
    """``(held-out items, demonstration items, format)`` of a dataset, or a clear error."""
    extras = getattr(dataset, "extras", None)
    if not isinstance(extras, Mapping) or any(key not in extras for key in REQUIRED_EXTRAS):
        name = type(dataset).__name__
        raise NotAPromptCorpus(
            f"few-shot evaluation needs a corpus with prompt tasks (extras "
            f"{', '.join(REQUIRED_EXTRAS)}), such as the 'synthetic' dataset or "
            f"'prompt-task-text'; this run's dataset ({name}) has none"
        )
    return (
        {task: list(items) for task, items in extras["prompt_tasks"].items()},
        {task: list(items) for task, items in extras["prompt_demos"].items()},
        PromptFormat.from_extras(extras["prompt_format"]),
    )


def draw_demonstrations(
    pool: Sequence[Item],
    count: int,
    *,
    seed: int,
    task: str,
    index: int,
    exclude: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[Item]:
    """Up to ``count`` demonstrations for query ``index`` of ``task`` under demo seed ``seed``.

    Drawn without replacement from ``pool``, skipping items whose input is in ``exclude`` (the
    held-out inputs, always including the query's own). The draw for a larger ``count`` starts
    with the draw for a smaller one, so the prompts of one seed are nested across k: the k=4
    prompt holds the k=2 prompt's demonstrations. Deterministic in its arguments.
    """
    allowed = [item for item in pool if item["input"] not in exclude]
    rng = random.Random(f"workbench-few-shot/{seed}/{task}/{index}")
    order = rng.sample(allowed, len(allowed))
    return order[:count]
