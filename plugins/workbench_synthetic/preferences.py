"""RLHF support: the preference prompts drawn from the world (:class:`_PreferenceWriter`) and the
pure helper functions a person or a simulated annotator uses to measure a completion
(:func:`completion_properties` and the checks it combines, with their natural preferences in
:data:`PREFERENCE_PROPERTIES`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

from workbench_synthetic.documents import _Writer
from workbench_synthetic.facts import (
    DESCRIBE_REQUESTS,
    QUESTIONS,
    article,
    fact_check,
    parse_fact,
    render_fact,
    split_sentences,
    templates_for,
)
from workbench_synthetic.lexicon import POLITE_MARKERS, RUDE_MARKERS
from workbench_synthetic.world import World, as_world


def mentions_entity(text: str, entity: str) -> bool:
    """Whether ``text`` names ``entity`` as a whole word."""
    return re.search(rf"\b{re.escape(entity)}\b", text) is not None


def is_complete_sentence(text: str) -> bool:
    """Starts with a capital letter and ends with a full stop (after stripping whitespace)."""
    text = text.strip()
    return len(text) >= 2 and text[0].isupper() and text.endswith(".")


def is_polite(text: str) -> bool:
    """Uses a polite marker ("please", "thank", "happy to help", ...) and no rude one."""
    lower = text.lower()
    return any(m in lower for m in POLITE_MARKERS) and not is_rude(text)


def is_rude(text: str) -> bool:
    """Uses a rude marker ("everyone knows that", "what a silly question", ...)."""
    lower = text.lower()
    return any(m in lower for m in RUDE_MARKERS)


def repetition(text: str, n: int = 3) -> float:
    """Share of word ``n``-grams that repeat an earlier one (0.0: no repetition)."""
    words = re.findall(r"[A-Za-z']+", text.lower())
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    return 1.0 - len(set(grams)) / len(grams)


def word_count(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9']+", text))


PREFERENCE_PROPERTIES: dict[str, dict[str, str]] = {
    "answers_question": {
        "type": "bool",
        "prefer": "true",
        "description": "question prompts: the completion contains the true answer; describe "
        "prompts: it states at least one true fact about the entity",
    },
    "mentions_entity": {
        "type": "bool",
        "prefer": "true",
        "description": "the completion names the entity the prompt asks about",
    },
    "complete_sentence": {
        "type": "bool",
        "prefer": "true",
        "description": "starts with a capital letter and ends with '.'",
    },
    "polite": {
        "type": "bool",
        "prefer": "true",
        "description": "uses 'please', 'thank', 'happy to help' or 'hope this helps' and no rude "
        "phrase",
    },
    "rude": {
        "type": "bool",
        "prefer": "false",
        "description": "uses 'everyone knows that', 'what a silly question', 'stop asking' ...",
    },
    "true_facts": {
        "type": "int",
        "prefer": "higher",
        "description": "sentences that state a true fact of the world",
    },
    "false_facts": {
        "type": "int",
        "prefer": "lower",
        "description": "sentences that state a false fact of the world",
    },
    "factual": {
        "type": "bool",
        "prefer": "true",
        "description": "at least one true fact and no false one",
    },
    "repetition": {
        "type": "float",
        "prefer": "lower",
        "description": "share of word trigrams that repeat an earlier one",
    },
    "words": {
        "type": "int",
        "prefer": "moderate (about 4 to 30)",
        "description": "length in words",
    },
}
"""The measurable properties :func:`completion_properties` returns, with the natural preference."""


def completion_properties(
    completion: str,
    properties: Mapping[str, Any],
    world: World | Mapping[str, Any],
    cut_at_newline: bool = True,
) -> dict[str, Any]:
    """Measure a completion of a preference prompt (``properties`` is the prompt's record).

    The completion is read up to its first newline (the end of an ``A:`` line) unless
    ``cut_at_newline`` is False. Keys and natural preferences: :data:`PREFERENCE_PROPERTIES`.
    """
    if cut_at_newline:
        completion = completion.lstrip(" ").split("\n", 1)[0]
    checked = fact_check(completion, world)
    entity = properties.get("entity", "")
    answer = properties.get("answer")
    if answer is not None:
        answers = re.search(rf"\b{re.escape(answer)}\b", completion) is not None
    else:
        answers = entity != "" and any(
            (fact := parse_fact(s, world)) is not None
            and fact.subject == entity
            and as_world(world).holds(fact)
            for s in split_sentences(completion)
        )
    return {
        "answers_question": answers,
        "mentions_entity": bool(entity) and mentions_entity(completion, entity),
        "complete_sentence": is_complete_sentence(completion),
        "polite": is_polite(completion),
        "rude": is_rude(completion),
        "true_facts": checked["true"],
        "false_facts": checked["false"],
        "factual": checked["true"] > 0 and checked["false"] == 0,
        "repetition": repetition(completion),
        "words": word_count(completion),
    }


class _PreferenceWriter(_Writer):
    """Draws the preference prompts (questions and describe requests) for RLHF."""

    def preference_prompt(self, rng: random.Random) -> dict[str, Any]:
        if rng.random() < 0.3:
            name = rng.choice(self.w.people).name
            request = rng.choice(DESCRIBE_REQUESTS)
            p = self.w.person[name]
            return {
                "prompt": f"Q: {request.format(s=name)}\nA:",
                "properties": {
                    "kind": "describe",
                    "entity": name,
                    "entity_kind": "person",
                    "relation": None,
                    "answer": None,
                    "reference": f"{name} is {article(p.job)} {p.job}. {name} lives in {p.home}.",
                    "polite_request": "please" in request.lower(),
                },
            }
        question, fact = self.question(rng)
        polite = rng.random() < 0.3
        if polite:
            question = QUESTIONS[fact.relation][1].format(s=fact.subject)
        return {
            "prompt": f"Q: {question}\nA:",
            "properties": {
                "kind": "question",
                "entity": fact.subject,
                "entity_kind": self.w.kind_of(fact.subject),
                "relation": fact.relation,
                "answer": fact.object,
                "reference": render_fact(fact, templates_for(self.w, fact)[0]),
                "polite_request": polite,
            },
        }
