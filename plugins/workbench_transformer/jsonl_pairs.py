"""The ``jsonl-pairs`` dataset: the user's own ``{"source": ..., "target": ...}`` lines.

One JSON object per line with string fields ``source`` and ``target`` (other fields are ignored;
blank lines are skipped). A line that is not such an object is reported with the file and its line
number. Validation and test come from their own files when given, else from the end of the
training file (after an optional seeded shuffle).
"""

from __future__ import annotations

import random
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workbench.data import Pair, Seq2SeqPairs
from workbench.jsonl import jsonl_objects
from workbench.specs import DatasetContext

__all__ = ["JsonlPairsConfig", "load_jsonl_pairs", "read_pairs"]


class JsonlPairsConfig(BaseModel):
    """Options of ``jsonl-pairs``."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        min_length=1,
        description="JSONL file of training pairs (relative paths start at the current directory)",
    )
    val_path: str | None = Field(
        None, min_length=1, description="JSONL file of validation pairs (default: split off path)"
    )
    test_path: str | None = Field(
        None, min_length=1, description="JSONL file of test pairs (default: split off path)"
    )
    val_fraction: float = Field(
        0.1,
        ge=0.0,
        lt=1.0,
        description="share of path held out for validation when val_path is not given",
    )
    test_fraction: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="share of path held out for testing when test_path is not given",
    )
    shuffle: bool = Field(
        True, description="shuffle path's pairs (with the seed) before splitting off val / test"
    )
    seed: int | None = Field(None, description="seed of the shuffle (default: the run's seed)")
    encoding: str = Field("utf-8", min_length=1, description="text encoding of the files")

    @model_validator(mode="after")
    def _room_for_train(self) -> JsonlPairsConfig:
        held = (0.0 if self.val_path else self.val_fraction) + (
            0.0 if self.test_path else self.test_fraction
        )
        if held >= 1.0:
            raise ValueError(
                "val_fraction + test_fraction must be below 1, leaving pairs to train on"
            )
        if self.val_path is None and self.val_fraction == 0:
            raise ValueError(
                "give val_path or a val_fraction above 0: seq2seq needs validation pairs"
            )
        return self


def read_pairs(path: Path, encoding: str = "utf-8") -> list[Pair]:
    """The pairs of one JSONL file; ``ValueError`` names the file and line of a bad line."""
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    pairs: list[Pair] = []
    for where, record in jsonl_objects(path, encoding):
        missing = [key for key in ("source", "target") if key not in record]
        if missing:
            raise ValueError(f"{where}: missing {' and '.join(map(repr, missing))}")
        source, target = record["source"], record["target"]
        if not isinstance(source, str) or not isinstance(target, str):
            raise ValueError(f"{where}: 'source' and 'target' must be strings")
        pairs.append((source, target))
    if not pairs:
        raise ValueError(f"{path}: the file holds no pairs")
    return pairs


def _resolve(path: str) -> Path:
    return (Path.cwd() / Path(path).expanduser()).absolute()


def load_jsonl_pairs(config: JsonlPairsConfig, ctx: DatasetContext) -> Seq2SeqPairs:
    """The ``jsonl-pairs`` dataset."""
    pairs = read_pairs(_resolve(config.path), config.encoding)
    if config.shuffle:
        seed = ctx.seed if config.seed is None else config.seed
        random.Random(f"workbench-transformer/jsonl-pairs/{seed}").shuffle(pairs)
    n = len(pairs)
    n_val = 0 if config.val_path else round(n * config.val_fraction)
    n_test = 0 if config.test_path else round(n * config.test_fraction)
    if config.val_path is None and n_val == 0:
        n_val = 1
    if n - n_val - n_test < 1:
        raise ValueError(
            f"{config.path}: {n} pairs are too few to hold out {n_val} for validation and "
            f"{n_test} for testing"
        )
    train = pairs[: n - n_val - n_test]
    val = pairs[n - n_val - n_test : n - n_test]
    test = pairs[n - n_test :]
    if config.val_path:
        val = read_pairs(_resolve(config.val_path), config.encoding)
    if config.test_path:
        test = read_pairs(_resolve(config.test_path), config.encoding)
    return Seq2SeqPairs(train=train, val=val, test=test)
