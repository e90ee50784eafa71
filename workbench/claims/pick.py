"""Helpers the claim plugins share: reading a run's config, finding twin runs that differ in
one option only, the accuracy a run measured, and standard errors.

Everything here reads through a :class:`workbench.specs.ClaimContext`; nothing writes."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.specs import LABELLED_TASK_ACCURACY, ClaimContext
from workbench.store import RunRecord

MISSING = object()


def option(run: RunRecord, dotted: str, default: Any = None) -> Any:
    """A value of the run's resolved config by dotted path (``stage.label_smoothing``)."""
    value: Any = run.config
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return default
        value = value[key]
    return value


def _without(config: dict[str, Any], dotted: Iterable[str]) -> dict[str, Any]:
    copy = json.loads(json.dumps(config))
    for path in dotted:
        keys = path.split(".")
        node = copy
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict):
            node.pop(keys[-1], None)
    return copy


def config_key(run: RunRecord, ignore: Iterable[str] = ()) -> str:
    """The run's config as a canonical string, leaving out ``name`` and ``ignore``'s paths."""
    return json.dumps(_without(run.config, ["name", *ignore]), sort_keys=True)


def twins(
    runs: Sequence[RunRecord],
    vary: str | Callable[[RunRecord], Any],
    *,
    ignore: Iterable[str] = (),
) -> list[dict[Any, RunRecord]]:
    """Groups of runs whose configs are the same except in ``vary`` (a dotted option, or a
    function of the run) and in ``ignore``'s options: ``{value: newest run with it}``, only
    groups with at least two values."""
    get = vary if callable(vary) else (lambda run: option(run, vary))
    dropped = list(ignore) + ([] if callable(vary) else [vary])
    groups: dict[str, dict[Any, RunRecord]] = {}
    for run in sorted(runs, key=lambda r: r.id):
        value = get(run)
        key = json.dumps(value, sort_keys=True, default=str)
        groups.setdefault(config_key(run, dropped), {})[key] = run
    return [
        {get(run): run for run in group.values()} for group in groups.values() if len(group) > 1
    ]


@dataclass(frozen=True)
class Measured:
    """A score a run measured: its value, the items behind it (0: unknown) and where it came
    from (an evaluation, or the last logged value of a metric)."""

    value: float
    n: int
    source: str

    @property
    def se(self) -> float:
        return binomial_se(self.value, self.n)


def task_accuracy(ctx: ClaimContext, run: RunRecord) -> Measured | None:
    """A fine-tuned run's accuracy: its newest evaluation of its labelled task (of those the
    registry says measure :data:`~workbench.specs.LABELLED_TASK_ACCURACY`, such as
    ``task-accuracy``), else the last ``val/accuracy`` it logged (None when neither)."""
    found = [ctx.evaluation(run.id, name) for name in ctx.measuring(LABELLED_TASK_ACCURACY)]
    evaluation = max((e for e in found if e is not None), key=lambda e: e.id, default=None)
    if evaluation is not None and "accuracy" in evaluation.metrics:
        split = evaluation.config.get("split", "test")
        return Measured(
            float(evaluation.metrics["accuracy"]),
            int(evaluation.metrics.get("n", 0) or 0),
            f"{evaluation.name} ({split})",
        )
    last = ctx.last(run.id, "val/accuracy")
    return None if last is None else Measured(last, 0, "val/accuracy")


def binomial_se(p: float, n: int) -> float:
    """The standard error of a share ``p`` of ``n`` items (0 when n is unknown)."""
    if n <= 0 or not math.isfinite(p):
        return 0.0
    return math.sqrt(max(p * (1 - p), 0.0) / n)


def run_label(run: RunRecord) -> str:
    return f"{run.id} · {run.name}"


def fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"
