"""Algorithmic seq2seq tasks generated from a seed: ``copy``, ``reverse``, ``sort``, ``addition``.

Sequences are strings of single-character symbols (``0-9`` then ``a-z``) with no separators, so a
character tokenizer gives one token per symbol. ``copy`` is the first task of The Annotated
Transformer: the target is the source. ``addition`` writes two decimal numbers as ``"123+45"``
and asks for ``"168"``.
"""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workbench.data import Pair, Seq2SeqPairs
from workbench.specs import DatasetContext
from workbench_transformer.splits import draw_splits

__all__ = [
    "AdditionConfig",
    "SYMBOLS",
    "SymbolTaskConfig",
    "make_addition",
    "make_symbol_task",
]

SYMBOLS = "0123456789abcdefghijklmnopqrstuvwxyz"
"""The symbol alphabet of copy, reverse and sort; ``num_symbols`` takes its first characters."""

SymbolTask = Literal["copy", "reverse", "sort"]


class _SplitSizes(BaseModel):
    """Options every generated task shares: split sizes and the seed."""

    model_config = ConfigDict(extra="forbid")

    train_size: int = Field(20000, ge=1, le=10_000_000, description="training pairs")
    val_size: int = Field(500, ge=1, le=1_000_000, description="validation pairs (held out)")
    test_size: int = Field(500, ge=0, le=1_000_000, description="test pairs (held out)")
    seed: int | None = Field(None, description="seed of the generator (default: the run's seed)")


class SymbolTaskConfig(_SplitSizes):
    """Options of ``copy``, ``reverse`` and ``sort``."""

    min_length: int = Field(10, ge=1, le=1000, description="shortest sequence, in symbols")
    max_length: int = Field(10, ge=1, le=1000, description="longest sequence, in symbols")
    num_symbols: int = Field(
        10,
        ge=2,
        le=len(SYMBOLS),
        description="distinct symbols: the first num_symbols of 0-9 then a-z",
    )

    @model_validator(mode="after")
    def _ordered_lengths(self) -> SymbolTaskConfig:
        if self.min_length > self.max_length:
            raise ValueError(
                f"min_length ({self.min_length}) must not exceed max_length ({self.max_length})"
            )
        return self


class AdditionConfig(_SplitSizes):
    """Options of ``addition``."""

    max_digits: int = Field(3, ge=1, le=30, description="most digits of each operand")
    min_digits: int = Field(1, ge=1, le=30, description="fewest digits of each operand")

    @model_validator(mode="after")
    def _ordered_digits(self) -> AdditionConfig:
        if self.min_digits > self.max_digits:
            raise ValueError(
                f"min_digits ({self.min_digits}) must not exceed max_digits ({self.max_digits})"
            )
        return self


def _symbol_drawer(task: SymbolTask, config: SymbolTaskConfig):
    alphabet = SYMBOLS[: config.num_symbols]

    def draw(rng: random.Random) -> Pair:
        length = rng.randint(config.min_length, config.max_length)
        source = "".join(rng.choice(alphabet) for _ in range(length))
        if task == "copy":
            target = source
        elif task == "reverse":
            target = source[::-1]
        else:
            target = "".join(sorted(source, key=alphabet.index))
        return source, target

    return draw


def make_symbol_task(
    task: SymbolTask, config: SymbolTaskConfig, ctx: DatasetContext
) -> Seq2SeqPairs:
    """The ``copy``, ``reverse`` or ``sort`` dataset."""
    return draw_splits(
        task,
        _symbol_drawer(task, config),
        seed=ctx.seed if config.seed is None else config.seed,
        train_size=config.train_size,
        val_size=config.val_size,
        test_size=config.test_size,
        extras={"task": task},
    )


def _number(rng: random.Random, min_digits: int, max_digits: int) -> int:
    # Pick the digit count first, so that short numbers are as common as long ones.
    digits = rng.randint(min_digits, max_digits)
    low = 0 if digits == 1 else 10 ** (digits - 1)
    return rng.randint(low, 10**digits - 1)


def make_addition(config: AdditionConfig, ctx: DatasetContext) -> Seq2SeqPairs:
    """The ``addition`` dataset: ``"a+b"`` -> ``"a+b"`` evaluated, in decimal."""

    def draw(rng: random.Random) -> Pair:
        a = _number(rng, config.min_digits, config.max_digits)
        b = _number(rng, config.min_digits, config.max_digits)
        return f"{a}+{b}", str(a + b)

    return draw_splits(
        "addition",
        draw,
        seed=ctx.seed if config.seed is None else config.seed,
        train_size=config.train_size,
        val_size=config.val_size,
        test_size=config.test_size,
        extras={"task": "addition"},
    )
