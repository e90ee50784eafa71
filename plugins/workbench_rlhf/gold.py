"""The gold judge: a simulated annotator's rule as the standard an RLHF run is measured by.

The reward model only approximates the labeller; the workbench has the labeller's rule itself, so
it can score what RLHF papers can only estimate. :class:`GoldJudge` wraps an annotator plugin
(default ``factual-polite``) with the synthetic world its prompts came from, and turns its labels
into outcomes (win 1, tie or "both bad" 0.5, loss 0) and, when the annotator offers ``score``, a
gold reward per completion.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OUTCOMES: dict[str, float] = {"a": 1.0, "b": 0.0, "tie": 0.5, "both_bad": 0.5}
"""A label of the pair ``(a=run, b=reference)`` as a win of ``a``: ties count half."""

DEFAULT_JUDGE = "factual-polite"


@dataclass
class GoldJudge:
    """An annotator plugin's rule, bound to the world its prompts were drawn from."""

    name: str
    annotator: Any
    world: Any

    def outcome(self, prompt: str, a: str, b: str, properties: Mapping[str, Any] | None) -> float:
        """1.0 when the rule prefers ``a``, 0.0 when it prefers ``b``, 0.5 for a tie or "both
        bad"."""
        label = self.annotator.label(prompt, a, b, dict(properties or {}), self.world)
        if label not in OUTCOMES:
            raise ValueError(
                f"judge {self.name!r} answered {label!r}; expected a, b, tie, both_bad"
            )
        return OUTCOMES[label]

    @property
    def scores(self) -> bool:
        """Whether the rule gives a number per completion (a gold reward)."""
        return callable(getattr(self.annotator, "score", None))

    def score(self, prompt: str, completion: str, properties: Mapping[str, Any] | None) -> float:
        return float(self.annotator.score(prompt, completion, dict(properties or {}), self.world))


def load_judge(name: str, options: Mapping[str, Any], world: Any) -> GoldJudge:
    """Build the annotator plugin ``name`` with ``options`` (validated by its config)."""
    from workbench.config import validate_options
    from workbench.registry import load_registry

    spec = load_registry().annotator(name)
    config = validate_options(spec, dict(options), "judge_options")
    return GoldJudge(name=name, annotator=spec.factory(config), world=world)


def win_rate(outcomes: Sequence[float]) -> tuple[float, float]:
    """Mean outcome and its standard error (0 for fewer than two outcomes)."""
    if not outcomes:
        raise ValueError("no comparisons to take a win rate of")
    return mean_and_standard_error(outcomes)


def mean_and_standard_error(values: Sequence[float]) -> tuple[float, float]:
    """The mean of ``values`` (at least one) and its standard error (0 for fewer than two)."""
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var / len(values))


def proxy_outcomes(run_scores: Sequence[float], reference_scores: Sequence[float]) -> list[float]:
    """Outcomes judged by a reward model: the higher score wins, equal scores tie."""
    return [
        1.0 if a > b else 0.0 if a < b else 0.5
        for a, b in zip(run_scores, reference_scores, strict=True)
    ]
