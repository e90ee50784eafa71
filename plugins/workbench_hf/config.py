"""Options of the ``hf-causal-lm`` architecture, the ``hf`` export format and the ``lm-eval``
evaluation, apart from their modules so that validating a config does not import torch (each
module re-exports its own)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["HFCausalLMConfig", "HFExportConfig", "LmEvalConfig", "check_model_dir"]


def check_model_dir(path: str | Path, what: str = "hf-causal-lm") -> Path:
    """The folder ``path`` as a :class:`Path`, refusing one that is missing or holds no model
    ``config.json`` (the error names the folder)."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise ValueError(f"{what}: the model folder {folder} does not exist")
    if not folder.is_dir():
        raise ValueError(f"{what}: {folder} is not a folder")
    if not (folder / "config.json").is_file():
        raise ValueError(
            f"{what}: {folder} holds no config.json (expected a transformers model folder, as "
            "written by save_pretrained)"
        )
    return folder


class HFCausalLMConfig(BaseModel):
    """Options of the ``hf-causal-lm`` architecture."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        description=(
            "Folder of a transformers causal LM (config.json and weights, as written by "
            "save_pretrained); it is read from disk only, never downloaded, and must stay there "
            "while runs use it."
        ),
    )
    block_size: int | None = Field(
        None,
        ge=1,
        le=1_048_576,
        description="Longest context to use; default: the model's own number of positions.",
    )

    @field_validator("path")
    @classmethod
    def _folder_exists(cls, value: str) -> str:
        check_model_dir(value)
        return value


class HFExportConfig(BaseModel):
    """Options of the ``hf`` export format."""

    model_config = ConfigDict(extra="forbid")

    heads: bool = Field(
        True, description="Also write the run's heads (reward, value, classifier) as safetensors."
    )


class LmEvalConfig(BaseModel):
    """Options of the ``lm-eval`` evaluation."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[str] = Field(
        default_factory=list,
        description=(
            "lm-eval task names to run from include_path; empty: the run's own synthetic prompt "
            "tasks with the few-shot evaluation's prompts"
        ),
    )
    include_path: str | None = Field(
        None,
        description="Folder of lm-eval task YAMLs for 'tasks' (default: the shipped folder)",
    )
    num_fewshot: int | None = Field(
        None, ge=0, le=64, description="lm-eval's own demonstrations for 'tasks' (their default)"
    )
    shots: list[int] = Field(
        default_factory=lambda: [0, 1],
        description="Demonstrations per prompt of the run's prompt tasks (one lm-eval task each)",
    )
    prompt_tasks: list[str] | None = Field(
        None, description="Prompt tasks of the corpus to use (empty: all of them)"
    )
    limit: int | None = Field(
        None, ge=1, description="Held-out items per prompt task (or per lm-eval task with 'tasks')"
    )
    offset: int = Field(0, ge=0, description="Skip this many held-out items of each prompt task")
    instruction: bool = Field(True, description="Start each prompt with the task's instruction")
    document_separator: bool = Field(
        True, description="Start each prompt with the corpus's document separator"
    )
    batch_size: int = Field(
        1, ge=1, le=1024, description="lm-eval batch size (1: no padding, like few-shot)"
    )

    @field_validator("shots")
    @classmethod
    def _shots(cls, value: list[int]) -> list[int]:
        if not value or any(k < 0 for k in value):
            raise ValueError("shots must be a non-empty list of numbers >= 0")
        return sorted(set(value))
