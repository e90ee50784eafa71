"""Simulated annotators: each labels a comparison pair by one stated rule.

An annotator is ``factory(config)`` -> an object with
``label(prompt, a, b, properties, world) -> "a" | "b" | "tie" | "both_bad"`` (see
:class:`workbench.specs.AnnotatorSpec`). ``properties`` is the prompt's stored record (for the
synthetic corpus's preference prompts: entity, answer, ...) and ``world`` the synthetic world it
was drawn from, or None when the prompt did not come from the synthetic corpus.

The rules measure completions with the synthetic corpus's pure helpers
(:func:`workbench_synthetic.completion_properties` and friends), read, like those, up to the
first newline (the end of the ``A:`` line).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workbench.specs import AnnotatorSpec
from workbench_synthetic import completion_properties, word_count


def first_line(text: str) -> str:
    """A completion as the rules read it: up to its first newline, without leading spaces."""
    return text.lstrip(" ").split("\n", 1)[0]


# -- factual-polite ---------------------------------------------------------------------------

FACTUAL_POLITE_ORDER: tuple[str, ...] = ("factual", "answers_question", "polite")
"""The properties ``factual-polite`` compares, most important first."""


class FactualPoliteConfig(BaseModel):
    """Prefer the factual completion, then the one that answers, then the polite one."""

    model_config = ConfigDict(extra="forbid")

    both_bad_if_unhelpful: bool = Field(
        False,
        description="say 'both bad' (not 'tie') when neither completion is factual nor answers",
    )
    temperature: float = Field(
        0.0,
        ge=0.0,
        le=100.0,
        description="0: always the rule's choice; above 0, a labeller who errs more on close "
        "calls: prefer a with probability sigmoid((score_a - score_b) / temperature) (scores "
        "4 * factual + 2 * answers + polite; equal scores stay a tie)",
    )
    seed: int = Field(0, description="with temperature > 0: the seed of the labeller's draws")


def _unit_draw(seed: int, *texts: str) -> float:
    """A number in [0, 1) fixed by ``seed`` and ``texts``: the same pair gets the same draw."""
    digest = hashlib.blake2b("\x1f".join([str(seed), *texts]).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class FactualPoliteAnnotator:
    """Rule: compare ``factual`` (at least one true fact and no false one), then
    ``answers_question`` (contains the true answer, or a true fact about the entity), then
    ``polite`` (a polite marker and nothing rude); the first property only one completion has
    decides. Otherwise a tie (or "both bad" when asked and neither is factual nor answers).

    With ``temperature`` above 0 the labeller is a noisy one, as people are: where the rule would
    decide, it prefers a with probability ``sigmoid((score_a - score_b) / temperature)``, one
    draw per pair fixed by ``seed`` and the pair's texts. Close calls (a polite answer against a
    curt one: 1 point) flip often, far ones (a true fact against a false one: 4) rarely, so a
    reward model fit to such labels by Bradley-Terry learns how much each property is worth, not
    only their order."""

    def __init__(self, config: FactualPoliteConfig) -> None:
        self.config = config

    def label(
        self,
        prompt: str,
        a: str,
        b: str,
        properties: Mapping[str, Any] | None = None,
        world: Any = None,
    ) -> str:
        if world is None:
            raise ValueError(
                "factual-polite judges facts against the synthetic world; label pairs whose "
                "prompts came from a synthetic dataset (e.g. synthetic-prompts)"
            )
        props = dict(properties or {})
        measured_a = completion_properties(a, props, world)
        measured_b = completion_properties(b, props, world)
        for key in FACTUAL_POLITE_ORDER:
            if bool(measured_a[key]) != bool(measured_b[key]):
                if self.config.temperature > 0:
                    return self._noisy(prompt, a, b, measured_a, measured_b)
                return "a" if measured_a[key] else "b"
        helpful = any(m["factual"] or m["answers_question"] for m in (measured_a, measured_b))
        if self.config.both_bad_if_unhelpful and not helpful:
            return "both_bad"
        return "tie"

    def _noisy(self, prompt: str, a: str, b: str, measured_a: dict, measured_b: dict) -> str:
        """Bradley-Terry on the rule's scores: the further apart, the surer the choice."""
        margin = (_rule_score(measured_a) - _rule_score(measured_b)) / self.config.temperature
        p_a = 1.0 / (1.0 + math.exp(-margin))
        return "a" if _unit_draw(self.config.seed, prompt, a, b) < p_a else "b"

    def score(
        self,
        prompt: str,
        completion: str,
        properties: Mapping[str, Any] | None = None,
        world: Any = None,
    ) -> float:
        """The rule as a number: ``4 * factual + 2 * answers_question + polite``, so that
        comparing two completions' scores decides exactly as :meth:`label` does (a tie when
        equal). The gold reward of the RLHF evaluations."""
        if world is None:
            raise ValueError("factual-polite scores facts against the synthetic world")
        return _rule_score(completion_properties(completion, dict(properties or {}), world))


def _rule_score(measured: Mapping[str, Any]) -> float:
    """``4 * factual + 2 * answers_question + polite``: an earlier property outweighs all later
    ones together."""
    n = len(FACTUAL_POLITE_ORDER)
    return float(
        sum(2 ** (n - 1 - i) * bool(measured[k]) for i, k in enumerate(FACTUAL_POLITE_ORDER))
    )


# -- concise ----------------------------------------------------------------------------------


class ConciseConfig(BaseModel):
    """Prefer the shorter completion (in words), refusing ones that are too short to say
    anything."""

    model_config = ConfigDict(extra="forbid")

    min_words: int = Field(
        1, ge=0, le=1000, description="a completion with fewer words says nothing"
    )
    tolerance: int = Field(
        0, ge=0, le=1000, description="word counts this close (or closer) are a tie"
    )


class ConciseAnnotator:
    """Rule: a completion with fewer than ``min_words`` words is bad (both bad: "both bad";
    one bad: the other wins); otherwise the one with fewer words wins, unless the counts differ
    by at most ``tolerance`` (a tie)."""

    def __init__(self, config: ConciseConfig) -> None:
        self.config = config

    def label(
        self,
        prompt: str,
        a: str,
        b: str,
        properties: Mapping[str, Any] | None = None,
        world: Any = None,
    ) -> str:
        words_a, words_b = word_count(first_line(a)), word_count(first_line(b))
        ok_a, ok_b = words_a >= self.config.min_words, words_b >= self.config.min_words
        if not ok_a and not ok_b:
            return "both_bad"
        if ok_a != ok_b:
            return "a" if ok_a else "b"
        if abs(words_a - words_b) <= self.config.tolerance:
            return "tie"
        return "a" if words_a < words_b else "b"


# -- random -----------------------------------------------------------------------------------


class RandomConfig(BaseModel):
    """Label at random (a baseline: its agreement with anyone is chance)."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(0, ge=0, description="the same seed gives the same label to the same pair")
    tie_probability: float = Field(0.0, ge=0.0, le=1.0, description="chance of a tie")
    both_bad_probability: float = Field(0.0, ge=0.0, le=1.0, description="chance of 'both bad'")


class RandomAnnotator:
    """Rule: "tie" with ``tie_probability``, "both bad" with ``both_bad_probability``, else "a"
    or "b" with equal chance. The draw is seeded by ``seed`` and the pair's texts, so a pair gets
    the same label whenever and in whatever order it is labelled."""

    def __init__(self, config: RandomConfig) -> None:
        if config.tie_probability + config.both_bad_probability > 1.0:
            raise ValueError("tie_probability + both_bad_probability must be at most 1")
        self.config = config

    def label(
        self,
        prompt: str,
        a: str,
        b: str,
        properties: Mapping[str, Any] | None = None,
        world: Any = None,
    ) -> str:
        rng = random.Random(f"workbench-random-annotator/{self.config.seed}/{prompt}\0{a}\0{b}")
        draw = rng.random()
        if draw < self.config.tie_probability:
            return "tie"
        if draw < self.config.tie_probability + self.config.both_bad_probability:
            return "both_bad"
        return rng.choice(("a", "b"))


FACTUAL_POLITE_SPEC = AnnotatorSpec(
    name="factual-polite",
    summary="prefers the factual completion, then the one that answers, then the polite one",
    config=FactualPoliteConfig,
    factory=FactualPoliteAnnotator,
)

CONCISE_SPEC = AnnotatorSpec(
    name="concise",
    summary="prefers the shorter completion (in words); too short to say anything is bad",
    config=ConciseConfig,
    factory=ConciseAnnotator,
)

RANDOM_SPEC = AnnotatorSpec(
    name="random",
    summary="labels at random, seeded per pair (a chance baseline)",
    config=RandomConfig,
    factory=RandomAnnotator,
)
