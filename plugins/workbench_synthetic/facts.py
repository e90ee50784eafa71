"""Fact sentences: the template grammar that states a :class:`Fact` in English
(:data:`FACT_TEMPLATES`, :data:`NEGATED_TEMPLATES`, question forms), :func:`render_fact` and its
inverse :func:`parse_fact`, and the fact checks built on them (:func:`is_true_in_world`,
:func:`fact_check`) that judge a text against a world.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workbench_synthetic.world import Fact, World, as_world


@dataclass(frozen=True)
class Template:
    """A fact sentence: ``{s}`` subject, ``{o}`` object, ``{a}`` the article ``a``/``an`` of the
    object. ``subject`` / ``obj`` name the entity kinds the slots accept."""

    text: str
    subject: tuple[str, ...]
    obj: str

    @property
    def regex(self) -> re.Pattern[str]:
        return _template_regex(self.text)


def _t(text: str, subject: str, obj: str) -> Template:
    return Template(text, tuple(subject.split("|")), obj)


FACT_TEMPLATES: dict[str, tuple[Template, ...]] = {
    "lives_in": (
        _t("{s} lives in {o}.", "person", "town"),
        _t("{s} has a home in {o}.", "person", "town"),
        _t("The home of {s} is in {o}.", "person", "town"),
    ),
    "lives_in_country": (
        _t("{s} lives in {o}.", "person", "country"),
        _t("{s} lives in the land of {o}.", "person", "country"),
    ),
    "job": (
        _t("{s} is {a} {o}.", "person", "job"),
        _t("{s} works as {a} {o}.", "person", "job"),
        _t("By trade, {s} is {a} {o}.", "person", "job"),
    ),
    "pet": (
        _t("{s} has {a} {o}.", "person", "pet"),
        _t("{s} owns {a} {o}.", "person", "pet"),
        _t("{s} keeps {a} {o} at home.", "person", "pet"),
    ),
    "likes": (
        _t("{s} likes {o}.", "person", "food"),
        _t("{s} loves to eat {o}.", "person", "food"),
        _t("The favourite food of {s} is {o}.", "person", "food"),
    ),
    "trait": (
        _t("{s} is {o}.", "person|town", "adj"),
        _t("People say that {s} is {o}.", "person|town", "adj"),
        _t("{s} is {a} {o} person.", "person", "adj"),
        _t("{s} is {a} {o} town.", "town", "adj"),
    ),
    "friend": (
        _t("{s} is a friend of {o}.", "person", "person"),
        _t("{s} and {o} are friends.", "person", "person"),
        _t("{s} is friends with {o}.", "person", "person"),
    ),
    "in_country": (
        _t("{s} is a town in {o}.", "town", "country"),
        _t("{s} lies in {o}.", "town", "country"),
        _t("The town of {s} is in {o}.", "town", "country"),
    ),
    "capital": (
        _t("The capital of {s} is {o}.", "country", "town"),
        _t("{o} is the capital of {s}.", "country", "town"),
        _t("{s} has its capital at {o}.", "country", "town"),
    ),
}
"""Positive fact sentences, several paraphrases per relation."""

NEGATED_TEMPLATES: dict[str, tuple[Template, ...]] = {
    "lives_in": (_t("{s} does not live in {o}.", "person", "town"),),
    "lives_in_country": (_t("{s} does not live in {o}.", "person", "country"),),
    "job": (_t("{s} is not {a} {o}.", "person", "job"),),
    "pet": (_t("{s} does not have {a} {o}.", "person", "pet"),),
    "likes": (_t("{s} does not like {o}.", "person", "food"),),
    "trait": (_t("{s} is not {o}.", "person|town", "adj"),),
    "friend": (_t("{s} is not a friend of {o}.", "person", "person"),),
    "in_country": (_t("{s} is not in {o}.", "town", "country"),),
    "capital": (_t("{o} is not the capital of {s}.", "country", "town"),),
}
"""Negated fact sentences, one per relation."""

QUESTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "lives_in": (("Where does {s} live?", "In which town does {s} live?"),
                 "Please tell me where {s} lives."),
    "lives_in_country": (("In which country does {s} live?",),
                         "Please tell me which country {s} lives in."),
    "job": (("What does {s} do for a living?", "What is the job of {s}?"),
            "Please tell me what {s} does for a living."),
    "pet": (("What animal does {s} keep?", "Which pet does {s} have?"),
            "Please tell me which pet {s} has."),
    "likes": (("What food does {s} like?", "What does {s} like to eat?"),
              "Please tell me what {s} likes to eat."),
    "in_country": (("In which country is {s}?", "Where is the town of {s}?"),
                   "Please tell me which country {s} is in."),
    "capital": (("What is the capital of {s}?", "Which town is the capital of {s}?"),
                "Please tell me the capital of {s}."),
}  # fmt: skip
"""Questions about a functional relation: plain forms, and one polite request."""

DESCRIBE_REQUESTS = (
    "Tell me about {s}.",
    "Who is {s}?",
    "What do you know about {s}?",
    "Please tell me about {s}.",
    "Could you please describe {s}?",
)
PERSON_RELATIONS = ("lives_in", "lives_in_country", "job", "pet", "likes")


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def render_fact(fact: Fact, template: Template, subject_text: str | None = None) -> str:
    """The sentence ``template`` states ``fact`` with (``subject_text`` replaces the name)."""
    text = template.text.format(s=fact.subject, o=fact.object, a=article(fact.object))
    if subject_text is not None:
        if not template.text.startswith("{s} "):
            raise ValueError(f"template {template.text!r} does not start with its subject")
        text = subject_text + text[len(fact.subject) :]
    return text


def templates_for(world: World, fact: Fact) -> tuple[Template, ...]:
    """The templates that can state ``fact`` (its relation, sign and subject kind)."""
    table = NEGATED_TEMPLATES if fact.negated else FACT_TEMPLATES
    kind = world.kind_of(fact.subject)
    return tuple(t for t in table[fact.relation] if kind in t.subject)


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def _template_regex(text: str) -> re.Pattern[str]:
    pattern = _REGEX_CACHE.get(text)
    if pattern is None:
        parts = []
        for piece in re.split(r"(\{[soa]\})", text):
            if piece == "{s}":
                parts.append(r"(?P<s>[A-Za-z]+)")
            elif piece == "{o}":
                parts.append(r"(?P<o>[A-Za-z]+)")
            elif piece == "{a}":
                parts.append(r"(?:a|an)")
            else:
                parts.append(re.escape(piece))
        pattern = _REGEX_CACHE[text] = re.compile("".join(parts))
    return pattern


def parse_fact(sentence: str, world: World | Mapping[str, Any]) -> Fact | None:
    """The :class:`Fact` a template sentence states, or None when no template matches.

    Only sentences that name their subject parse ("Bravik lives in Tolune."), not pronoun ones.
    """
    world = as_world(world)
    sentence = sentence.strip()
    for negated, table in ((False, FACT_TEMPLATES), (True, NEGATED_TEMPLATES)):
        for relation, templates in table.items():
            for template in templates:
                match = template.regex.fullmatch(sentence)
                if match is None:
                    continue
                s, o = match["s"], match["o"]
                if world.kind_of(s) in template.subject and world.kind_of(o) == template.obj:
                    return Fact(relation, s, o, negated)
    return None


_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_SPLIT.split(text.strip()) if s]


def is_true_in_world(sentence: str, world: World | Mapping[str, Any]) -> bool | None:
    """True if the sentence states a fact of ``world``, False if it states a false one, None if
    it is not a fact sentence of the grammar (``world`` may be ``extras["world"]``)."""
    world = as_world(world)
    fact = parse_fact(sentence, world)
    return None if fact is None else world.holds(fact)


def fact_check(text: str, world: World | Mapping[str, Any]) -> dict[str, int]:
    """Counts of ``true``, ``false`` and ``unknown`` (unparsed) sentences in ``text``."""
    counts = {"true": 0, "false": 0, "unknown": 0}
    for sentence in split_sentences(text):
        verdict = is_true_in_world(sentence, world)
        counts["unknown" if verdict is None else "true" if verdict else "false"] += 1
    return counts
