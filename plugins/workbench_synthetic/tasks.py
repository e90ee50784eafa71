"""GPT-1-style labelled tasks: :class:`_TaskWriter` draws ``sentiment``, ``entailment``,
``similarity`` and ``multiple-choice`` records from the world, and :func:`_make_task` turns a
record maker into a balanced, de-duplicated train / val / test split; :data:`TASK_LABELS` and
:data:`TASK_TYPES` describe the tasks.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

from workbench_synthetic.config import SyntheticConfig
from workbench_synthetic.documents import _Writer
from workbench_synthetic.facts import render_fact, templates_for
from workbench_synthetic.lexicon import PERSON_TRAIT_PAIRS, TOWN_TRAIT_PAIRS
from workbench_synthetic.world import FUNCTIONAL_RELATIONS, Fact, World


class _TaskWriter(_Writer):
    """Draws the labelled tasks' records (one rng per task)."""

    def sentiment_record(self, rng: random.Random, label: int) -> dict[str, Any]:
        town = rng.choice(self.w.towns)
        venue = rng.choice(town.venues)
        return {"text": self.review(rng, label, town, venue), "label": label}

    def _slots(self, name: str) -> dict[str, list[Fact]]:
        """A subject's true facts grouped by slot (a relation, or one trait pair)."""
        slots: dict[str, list[Fact]] = {}
        pairs = PERSON_TRAIT_PAIRS if name in self.w.person else TOWN_TRAIT_PAIRS
        for fact in self.w.facts_about(name):
            key = fact.relation
            if fact.relation == "trait":
                key = "trait:" + next(f"{a}/{b}" for a, b in pairs if fact.object in (a, b))
            slots.setdefault(key, []).append(fact)
        return slots

    def entailment_record(self, rng: random.Random, label: int) -> dict[str, Any]:
        """Premise: true facts about one subject. Hypothesis: follows from them (0), is
        undecided by them (1), or contradicts them (2), given functional relations and
        antonyms."""
        w = self.w
        name = rng.choice(w.people).name if rng.random() < 0.8 else rng.choice(w.towns).name
        slots = self._slots(name)
        # lives_in_country follows from lives_in plus the town's country: keep them apart.
        premise_keys = [k for k in slots if k != "lives_in_country"]
        chosen = rng.sample(premise_keys, rng.randint(1, min(3, len(premise_keys))))
        premise = [rng.choice(slots[k]) for k in chosen]
        premise_sentences = self.sentences_about(rng, name, premise)
        fact = rng.choice(premise)
        if label == 0:
            options = ["paraphrase"]
            if fact.relation in FUNCTIONAL_RELATIONS or fact.relation == "trait":
                options.append("deny-other")
            if fact.relation == "lives_in":
                options.append("country")
            option = rng.choice(options)
            if option == "paraphrase":
                hypothesis = self.fact_sentence(rng, fact)
                for _ in range(3):  # prefer other words than the premise's
                    if hypothesis not in premise_sentences:
                        break
                    hypothesis = self.fact_sentence(rng, fact)
            elif option == "deny-other":
                other = rng.choice(w.alternatives(fact))
                hypothesis = self.fact_sentence(rng, Fact(fact.relation, name, other, True))
            else:
                town = w.town[fact.object]
                premise_sentences.append(
                    self.fact_sentence(rng, Fact("in_country", town.name, town.country))
                )
                hypothesis = self.fact_sentence(rng, Fact("lives_in_country", name, town.country))
        elif label == 2:
            if fact.relation == "friend" or rng.random() < 0.4:
                hypothesis = self.fact_sentence(rng, fact.negate())
            else:
                other = rng.choice(w.alternatives(fact))
                hypothesis = self.fact_sentence(rng, Fact(fact.relation, name, other))
        else:
            excluded = set(chosen) | ({"lives_in_country"} if "lives_in" in chosen else set())
            key = rng.choice([k for k in slots if k not in excluded])
            h = rng.choice(slots[key])
            if rng.random() < 0.5:
                h = Fact(h.relation, name, rng.choice(w.alternatives(h)))
            if rng.random() < 0.3:
                h = h.negate()
            hypothesis = self.fact_sentence(rng, h)
        return {"premise": " ".join(premise_sentences), "hypothesis": hypothesis, "label": label}

    def world_entailment_record(self, rng: random.Random, label: int) -> dict[str, Any]:
        """Entailment that needs the world's geography. Every premise says in which town
        someone lives; the hypothesis says in which country the premise's person lives. When
        the premise says where *that person* lives, the hypothesis follows (0) if the town lies
        in the country and contradicts the premise (2) if it lies in another one, which the
        record never says: only the corpus does (``X is a town in Y.``). Neutral (1): the town
        in the premise is someone else's (a friend's, or another person's), and the country
        named is that town's or not at random, so neither the hypothesis alone nor "a town of
        that country is mentioned" gives the label away."""
        w = self.w
        person = rng.choice(w.people)
        name = person.name
        personal = [f for f in w.facts_about(name)
                    if f.relation not in ("lives_in", "lives_in_country", "friend")]  # fmt: skip
        if person.friends and rng.random() < 0.7:
            other = w.person[rng.choice(person.friends)]
            about_other = [
                self.fact_sentence(rng, Fact("friend", name, other.name)),
                self.fact_sentence(rng, Fact("lives_in", other.name, other.home)),
            ]
        else:
            other = rng.choice([p for p in w.people if p.name != name])
            about_other = [self.fact_sentence(rng, Fact("lives_in", other.name, other.home))]
        if label in (0, 2):
            facts = [Fact("lives_in", name, person.home), *rng.sample(personal, rng.randint(0, 1))]
            rng.shuffle(facts)
            sentences = self.sentences_about(rng, name, facts)
            if rng.random() < 0.4:  # someone else's town beside it
                sentences += about_other
            country = w.town[person.home].country
        else:
            sentences = self.sentences_about(rng, name, rng.sample(personal, rng.randint(0, 1)))
            sentences += about_other
            country = w.town[other.home].country
        others = [c.name for c in w.countries if c.name != country]
        claimed = (
            country if label == 0 or (label == 1 and rng.random() < 0.5) else rng.choice(others)
        )
        hypothesis = self.fact_sentence(rng, Fact("lives_in_country", name, claimed))
        return {"premise": " ".join(sentences), "hypothesis": hypothesis, "label": label}

    def similarity_record(self, rng: random.Random, label: int) -> dict[str, Any]:
        """Two fact sentences: the same fact in other words (1) or a different fact (0)."""
        w = self.w
        roll = rng.random()
        if roll < 0.75:
            name = rng.choice(w.people).name
        elif roll < 0.93:
            name = rng.choice(w.towns).name
        else:
            name = rng.choice(w.countries).name
        fact = rng.choice(w.facts_about(name))
        templates = list(templates_for(w, fact))
        first = rng.choice(templates)
        text_a = render_fact(fact, first)
        if label == 1:
            text_b = render_fact(fact, rng.choice([t for t in templates if t != first]))
        else:
            change = rng.random()
            if change < 0.5:
                other = Fact(fact.relation, name, rng.choice(w.alternatives(fact)))
            elif change < 0.75:
                kind = w.kind_of(name)
                pool = {"person": w.people, "town": w.towns, "country": w.countries}[kind or ""]
                subject = rng.choice([e.name for e in pool if e.name not in (name, fact.object)])
                other = Fact(fact.relation, subject, fact.object)
                if w.kind_of(fact.object) == "adj" and w.holds(other) is None:
                    other = Fact(fact.relation, name, w.antonyms[fact.object])
            else:
                other = fact.negate()
            text_b = render_fact(other, rng.choice(templates_for(w, other)))
        return {"text_a": text_a, "text_b": text_b, "label": label}

    def multiple_choice_record(self, rng: random.Random, label: int) -> dict[str, Any]:
        """A short context, a question and ``n_choices`` answers; ``label`` is the correct one.

        Half of the items state the answer in the context; the rest need the world knowledge
        learnt in pre-training.
        """
        w, n = self.w, self.config.n_choices
        question, fact = self.question(rng)
        wrong = rng.sample(w.alternatives(fact), n - 1)
        choices = list(wrong)
        choices.insert(label, fact.object)
        in_context = rng.random() < 0.5
        others = [f for f in w.facts_about(fact.subject) if f.relation != fact.relation]
        context = rng.sample(others, min(len(others), rng.randint(1, 2)))
        kind = w.kind_of(fact.subject)
        pool = {"person": w.people, "town": w.towns, "country": w.countries}[kind or ""]
        decoy = rng.choice([e.name for e in pool if e.name != fact.subject])
        decoy_fact = next(f for f in w.facts_about(decoy) if f.relation == fact.relation)
        context.append(decoy_fact)
        if decoy_fact.object != fact.object and decoy_fact.object not in choices:
            # The decoy's value is a distractor: "pick the word in the context" is not enough.
            choices[(label + 1) % n] = decoy_fact.object
        if in_context:
            context.append(fact)
        rng.shuffle(context)
        text = " ".join(self.fact_sentence(rng, f) for f in context)
        return {
            "context": f"{text} Question: {question}",
            "question": question,
            "choices": choices,
            "label": label,
            "answer_in_context": in_context,
        }


TASK_LABELS: dict[str, list[str]] = {
    "sentiment": ["negative", "positive"],
    "entailment": ["entailment", "neutral", "contradiction"],
    "similarity": ["different", "paraphrase"],
}
TASK_TYPES = {
    "sentiment": "classification",
    "entailment": "entailment",
    "similarity": "similarity",
    "multiple-choice": "multiple_choice",
}
"""GPT-1's input transformation for each task."""


WORLD_TASKS: dict[str, tuple[str, list[str]]] = {
    "world-entailment": ("entailment", ["entailment", "neutral", "contradiction"]),
}
"""Labelled tasks that are not in the corpus's ``extras`` (which stay as they were before these
tasks existed): the ``synthetic-task`` view draws them from the world on request, with
:func:`world_task`. Each maps to its input transformation and its labels."""


def world_task(
    name: str, world: World, config: SyntheticConfig, seed: int
) -> dict[str, list[dict[str, Any]]]:
    """The train / val / test records of one of :data:`WORLD_TASKS`, drawn from ``world`` with
    their own random stream: the same seed and options give the same records."""
    writer = _TaskWriter(world, config)
    makers = {"world-entailment": writer.world_entailment_record}
    n_labels = len(WORLD_TASKS[name][1])
    sizes = (config.task_train_size, config.task_eval_size, config.task_eval_size)
    return _make_task(
        makers[name], n_labels, sizes, random.Random(f"workbench-synthetic/{seed}/task/{name}")
    )


def _record_key(record: Mapping[str, Any]) -> str:
    return "\x00".join(
        str(record[k]) for k in ("text", "premise", "hypothesis", "text_a", "text_b", "context",
                                 "choices") if k in record
    )  # fmt: skip


def _make_task(
    make: Callable[[random.Random, int], dict[str, Any]],
    n_labels: int,
    sizes: tuple[int, int, int],
    rng: random.Random,
) -> dict[str, list[dict[str, Any]]]:
    """Balanced, de-duplicated records split into train / val / test.

    Labels cycle so every class gets its share; a small world may run out of distinct records,
    in which case the task is smaller than asked.
    """
    total = sum(sizes)
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    attempts = 0
    while len(records) < total and attempts < 20 * total:
        label = attempts % n_labels
        attempts += 1
        record = make(rng, label)
        key = _record_key(record)
        if key not in seen:
            seen.add(key)
            records.append(record)
    rng.shuffle(records)
    n_train = round(len(records) * sizes[0] / total)
    n_val = round(len(records) * sizes[1] / total)
    return {
        "train": records[:n_train],
        "val": records[n_train : n_train + n_val],
        "test": records[n_train + n_val :],
    }
