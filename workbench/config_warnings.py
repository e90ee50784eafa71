"""Warnings about configs that are valid, run, and make no sense.

A config can pass every plugin's validation and still waste the run: a warm-up as long as the
run (the learning rate never decays), a validation interval past the last step (no validation
curve), a minimum learning rate above the peak. :func:`config_warnings` finds these in a
resolved config and names the field each one is about (``stage.warmup_steps``), so the
dashboard shows them beside that field and the CLI prints them (``warning: ...``) before a run.

The rules read options by their conventional names (``max_steps``, ``warmup_steps``,
``eval_interval``, ...), so they apply to any stage plugin that uses those names and stay
silent for one that does not. A warning never stops a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from workbench.config import ResolvedConfig


@dataclass(frozen=True)
class ConfigWarning:
    """One warning: the config field it is about (dotted, as in error messages) and why."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


def _int(options: Any, name: str) -> int | None:
    value = getattr(options, name, None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(options: Any, name: str) -> float | None:
    value = getattr(options, name, None)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


Rule = Callable[[ResolvedConfig], Iterator[ConfigWarning]]


def _warmup(resolved: ResolvedConfig) -> Iterator[ConfigWarning]:
    stage = resolved.options["stage"]
    steps, warmup = _int(stage, "max_steps"), _int(stage, "warmup_steps")
    if steps is not None and warmup is not None and warmup > 0 and warmup >= steps:
        yield ConfigWarning(
            "stage.warmup_steps",
            f"warmup_steps ({warmup}) ≥ max_steps ({steps}): the run ends still warming up, "
            "so the learning rate never decays",
        )


def _eval_interval(resolved: ResolvedConfig) -> Iterator[ConfigWarning]:
    stage = resolved.options["stage"]
    steps, interval = _int(stage, "max_steps"), _int(stage, "eval_interval")
    if steps is not None and interval is not None and interval > steps:
        yield ConfigWarning(
            "stage.eval_interval",
            f"eval_interval ({interval}) > max_steps ({steps}): validation never runs, so "
            "there is no validation curve",
        )


def _checkpoint_every(resolved: ResolvedConfig) -> Iterator[ConfigWarning]:
    stage = resolved.options["stage"]
    steps, every = _int(stage, "max_steps"), _int(stage, "checkpoint_every")
    if steps is not None and every is not None and every > steps:
        yield ConfigWarning(
            "stage.checkpoint_every",
            f"checkpoint_every ({every}) > max_steps ({steps}): no checkpoint before the end, "
            "so a cancelled run cannot resume",
        )


def _min_lr(resolved: ResolvedConfig) -> Iterator[ConfigWarning]:
    stage = resolved.options["stage"]
    lr, min_lr = _number(stage, "lr"), _number(stage, "min_lr")
    if lr is not None and min_lr is not None and min_lr > lr:
        yield ConfigWarning(
            "stage.min_lr",
            f"min_lr ({min_lr:g}) > lr ({lr:g}): the learning rate never decays",
        )


def _decay_steps(resolved: ResolvedConfig) -> Iterator[ConfigWarning]:
    stage = resolved.options["stage"]
    decay, warmup = _int(stage, "lr_decay_steps"), _int(stage, "warmup_steps")
    if decay is not None and warmup is not None and decay <= warmup:
        yield ConfigWarning(
            "stage.lr_decay_steps",
            f"lr_decay_steps ({decay}) ≤ warmup_steps ({warmup}): the learning rate drops to "
            "its minimum right after warm-up",
        )


def _log_every(resolved: ResolvedConfig) -> Iterator[ConfigWarning]:
    steps = _int(resolved.options["stage"], "max_steps")
    every = resolved.run.trainer.log_every_n_steps
    if steps is not None and every > steps:
        yield ConfigWarning(
            "trainer.log_every_n_steps",
            f"log_every_n_steps ({every}) > max_steps ({steps}): no training loss is logged, "
            "so there is no training curve",
        )


RULES: tuple[Rule, ...] = (
    _warmup,
    _eval_interval,
    _checkpoint_every,
    _min_lr,
    _decay_steps,
    _log_every,
)


def config_warnings(resolved: ResolvedConfig) -> list[ConfigWarning]:
    """Every warning about ``resolved``, in a fixed order (none for a sensible config)."""
    return [warning for rule in RULES for warning in rule(resolved)]


def format_warnings(warnings: list[ConfigWarning]) -> str:
    """The warnings as the CLI prints them: one ``warning: location: message`` line each."""
    return "\n".join(f"warning: {w}" for w in warnings)
