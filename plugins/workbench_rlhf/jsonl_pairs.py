"""The ``preference-jsonl`` dataset: comparison pairs from JSONL files in TRL's preference format.

One JSON object per line with string fields ``prompt``, ``chosen`` and ``rejected`` (``chosen``
and ``rejected`` are completions of ``prompt``; other keys are kept but ignored). Blank lines are
skipped. Validation comes from ``val_path`` or, without one, from the last ``val_fraction`` of the
training file. Every error names the file, the line and the field.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from workbench.data import PreferencePairs
from workbench.jsonl import jsonl_objects
from workbench.specs import DatasetContext, DatasetSpec

FIELDS = ("prompt", "chosen", "rejected")


class PreferenceJsonlConfig(BaseModel):
    """Where the pairs are and how validation pairs are chosen."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="JSONL file of training pairs {prompt, chosen, rejected}")
    val_path: str | None = Field(
        None, description="JSONL file of validation pairs (empty: split the training file)"
    )
    val_fraction: float = Field(
        0.1, ge=0.0, lt=1.0, description="share of the training file kept for validation "
        "(its last lines) when there is no val_path"
    )  # fmt: skip


def read_pairs(path: Path) -> list[dict[str, str]]:
    """The pairs in ``path``; a ValueError names ``file:line`` and the field at fault."""
    if not path.is_file():
        raise ValueError(f"{path}: preference file not found")
    pairs = []
    for where, record in jsonl_objects(path):
        for key in FIELDS:
            if key not in record:
                raise ValueError(f"{where}: missing field {key!r}")
            if not isinstance(record[key], str):
                kind = type(record[key]).__name__
                hint = (
                    " (conversational message lists are not supported; write the text)"
                    if isinstance(record[key], list)
                    else ""
                )
                raise ValueError(f"{where}: field {key!r} must be a string, got {kind}{hint}")
        pairs.append({key: record[key] for key in FIELDS})
    if not pairs:
        raise ValueError(f"{path}: no preference pairs")
    return pairs


def _resolve(path: str, ctx: DatasetContext) -> Path:
    candidate = Path(path).expanduser()
    if not candidate.is_absolute() and ctx.home is not None and not candidate.exists():
        in_home = ctx.home / candidate
        if in_home.exists():
            return in_home
    return candidate


def load_preference_jsonl(config: PreferenceJsonlConfig, ctx: DatasetContext) -> PreferencePairs:
    train = read_pairs(_resolve(config.path, ctx))
    if config.val_path is not None:
        val = read_pairs(_resolve(config.val_path, ctx))
    else:
        n_val = int(round(len(train) * config.val_fraction))
        if n_val >= len(train):
            raise ValueError(f"{config.path}: val_fraction leaves no training pairs")
        train, val = train[: len(train) - n_val], train[len(train) - n_val :]
    return PreferencePairs(train=train, val=val, extras={"source": config.path})


PREFERENCE_JSONL_SPEC = DatasetSpec(
    name="preference-jsonl",
    summary="comparison pairs from JSONL files in TRL's format {prompt, chosen, rejected}",
    config=PreferenceJsonlConfig,
    factory=load_preference_jsonl,
    dataset_kind="preferences",
)
