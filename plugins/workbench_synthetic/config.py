"""Options of the synthetic corpus: :class:`SyntheticConfig` (sizes, split fractions, prompt mix,
world size) and the constants its validation and the text format depend on (the prompt task
names and instructions, the prompt and document separators).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

DOC_SEP = "\n\n"
"""Between documents; no document contains it."""

STRING_PROMPT_TASKS = (
    "reverse",
    "sort",
    "uppercase",
    "shift",
    "first-letter",
    "last-letter",
    "double-letters",
    "count-items",
)
WORLD_PROMPT_TASKS = ("antonym", "capital-of", "country-of", "home-of")
PROMPT_TASK_NAMES = STRING_PROMPT_TASKS + WORLD_PROMPT_TASKS

PROMPT_INSTRUCTIONS: dict[str, str] = {
    "reverse": "Reverse the letters:",
    "sort": "Sort the letters:",
    "uppercase": "Write in capitals:",
    "shift": "Shift each letter by one:",
    "first-letter": "Give the first letter:",
    "last-letter": "Give the last letter:",
    "double-letters": "Double each letter:",
    "count-items": "Count the items:",
    "antonym": "Give the opposite:",
    "capital-of": "Name the capital of the country:",
    "country-of": "Name the country of the town:",
    "home-of": "Name the town where the person lives:",
}

EPISODIC_PROMPT_TASKS = ("letter-map", "word-map", "category-label")
"""Tasks whose mapping is drawn afresh for every prompt: the answer can only come from the
prompt's own demonstrations (see :mod:`.icl`)."""
WORD_PROMPT_TASKS = ("random-insertion",)
"""GPT-3-like word tasks over the corpus's own vocabulary (see :mod:`.icl`)."""
ICL_PROMPT_TASKS = EPISODIC_PROMPT_TASKS + WORD_PROMPT_TASKS
"""Prompt tasks a corpus carries only when ``prompt_tasks`` names them (none by default)."""
ALL_PROMPT_TASK_NAMES = PROMPT_TASK_NAMES + ICL_PROMPT_TASKS

ICL_INSTRUCTIONS: dict[str, str] = {
    "letter-map": "Map each letter:",
    "word-map": "Map each word:",
    "category-label": "Label each word by its kind:",
    "random-insertion": "Remove the symbols:",
}

DOC_TYPES = ("biography", "place", "story", "review", "dialogue", "lexicon")
"""The prose document types (see :mod:`.documents`)."""

PROMPT_SEPARATOR = " -> "
"""Between a demonstration's input and output."""


class SyntheticConfig(BaseModel):
    """Options of the built-in synthetic corpus (sizes, split fractions, prompt mix, world size)."""

    model_config = ConfigDict(extra="forbid")

    size_chars: int = Field(
        2_000_000,
        ge=1_000,
        le=500_000_000,
        description="approximate size of the training text in characters (val/test come on top)",
    )
    val_fraction: float = Field(0.05, ge=0.0, le=0.3, description="share of text for validation")
    test_fraction: float = Field(0.05, ge=0.0, le=0.3, description="share of text for test")
    prompt_fraction: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="share of documents that are few-shot prompt documents "
        "(raise towards 1.0 for in-context-learning experiments)",
    )
    max_shots: int = Field(
        8, ge=0, le=32, description="largest number of demonstrations before a prompt's query"
    )
    instruction_fraction: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="share of prompt documents that start with the task's instruction line",
    )
    prompt_tasks: list[str] = Field(
        default_factory=lambda: list(PROMPT_TASK_NAMES),
        description="prompt tasks mixed into the text: "
        + ", ".join(ALL_PROMPT_TASK_NAMES)
        + " (the last four only when named; see docs/synthetic-corpus.md)",
    )
    prompt_eval_size: int = Field(
        100, ge=1, le=10_000, description="held-out evaluation items per prompt task (at most)"
    )
    n_entities: int = Field(
        200,
        ge=20,
        le=10_000,
        description="people + towns + countries in the invented world",
    )
    task_train_size: int = Field(
        2000, ge=10, le=200_000, description="training examples per labelled task"
    )
    task_eval_size: int = Field(
        500, ge=10, le=50_000, description="validation and test examples (each) per labelled task"
    )
    n_choices: int = Field(4, ge=2, le=4, description="candidate answers per multiple-choice item")
    n_preference_prompts: int = Field(
        300, ge=1, le=100_000, description="prompts for RLHF comparisons"
    )
    dialogue_error_rate: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="share of dialogue answers in the text that state a false fact",
    )
    doc_weights: dict[str, float] | None = Field(
        None,
        description="relative frequencies of the prose document types (biography, place, story, "
        "review, dialogue, lexicon); empty: 25, 12, 25, 13, 20, 5. A type left out is not "
        "written; raise dialogue and biography for a corpus that states the world's facts more "
        "often",
    )
    seed: int | None = Field(
        None, description="generator seed (empty: use the run's seed)", ge=0, le=2**63 - 1
    )

    @field_validator("doc_weights")
    @classmethod
    def _known_doc_types(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return None
        unknown = [name for name in value if name not in DOC_TYPES]
        if unknown:
            raise ValueError(f"unknown document type(s) {unknown}; choose from {list(DOC_TYPES)}")
        if any(weight < 0 for weight in value.values()):
            raise ValueError("document weights cannot be negative")
        if not any(weight > 0 for weight in value.values()):
            raise ValueError("give at least one document type a positive weight")
        return dict(value)

    @field_validator("prompt_tasks")
    @classmethod
    def _known_tasks(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in ALL_PROMPT_TASK_NAMES]
        if unknown:
            raise ValueError(
                f"unknown prompt task(s) {unknown}; choose from {list(ALL_PROMPT_TASK_NAMES)}"
            )
        if not value:
            raise ValueError("name at least one prompt task")
        return list(dict.fromkeys(value))
