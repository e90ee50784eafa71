"""Pre-training prose: :class:`_Writer` renders the world into biographies, places, short stories,
reviews, question-and-answer dialogues and antonym notes, with the sentence helpers (fact
sentences, pronouns, questions, reviews) that the labelled tasks and preference prompts build on.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from workbench_synthetic.config import SyntheticConfig
from workbench_synthetic.facts import (
    DESCRIBE_REQUESTS,
    PERSON_RELATIONS,
    QUESTIONS,
    article,
    render_fact,
    templates_for,
)
from workbench_synthetic.lexicon import (
    ANTONYM_PAIRS,
    JOB_ACTIONS,
    POLITE_PREFIXES,
    POLITE_SUFFIXES,
    REVIEW_ASPECTS,
    REVIEW_INTENSIFIERS,
    REVIEW_OPENERS,
    RUDE_PREFIXES,
    WHEN,
)
from workbench_synthetic.world import Fact, Town, Venue, World


class _Writer:
    """Renders the world into documents and labelled examples (one rng per stream)."""

    def __init__(self, world: World, config: SyntheticConfig) -> None:
        self.w, self.config = world, config

    # -- small helpers ------------------------------------------------------------------
    def fact_sentence(self, rng: random.Random, fact: Fact, pronoun: str | None = None) -> str:
        templates = templates_for(self.w, fact)
        if pronoun is not None:
            with_subject_first = [t for t in templates if t.text.startswith("{s} ")]
            if with_subject_first:
                return render_fact(fact, rng.choice(with_subject_first), pronoun.capitalize())
        return render_fact(fact, rng.choice(templates))

    def sentences_about(self, rng: random.Random, name: str, facts: Sequence[Fact]) -> list[str]:
        """Fact sentences about one subject; after the first, people are often 'he' / 'she'."""
        p = self.w.person.get(name)
        out = []
        for i, fact in enumerate(facts):
            pronoun = p.pronoun if p and i > 0 and rng.random() < 0.5 else None
            out.append(self.fact_sentence(rng, fact, pronoun))
        return out

    def short_answer(self, fact: Fact) -> str:
        o = fact.object
        text = f"{article(o)} {o}" if fact.relation in ("job", "pet") else o
        return text[0].upper() + text[1:] + "."

    # -- document types -----------------------------------------------------------------
    def biography(self, rng: random.Random) -> str:
        p = rng.choice(self.w.people)
        facts = self.w.facts_about(p.name)
        core, traits, friends = facts[:5], facts[5:17], facts[17:]
        chosen = rng.sample(core[1:], rng.randint(1, 3)) + rng.sample(traits, rng.randint(1, 3))
        if friends and rng.random() < 0.5:
            chosen.append(rng.choice(friends))
        rng.shuffle(chosen)
        if rng.random() < 0.5:
            first = f"{p.name} is {article(p.job)} {p.job} from {p.home}."
            chosen = [f for f in chosen if f.relation not in ("job", "lives_in")]
        else:
            first = self.fact_sentence(rng, core[0])
        sentences = [first] + self.sentences_about(rng, p.name, [core[0]] + chosen)[1:]
        return " ".join(sentences)

    def place(self, rng: random.Random) -> str:
        if rng.random() < 0.25:
            c = rng.choice(self.w.countries)
            towns = self.w.towns_of[c.name]
            others = [t for t in towns if t != c.capital]
            sentences = [
                f"{c.name} is a country.",
                self.fact_sentence(rng, Fact("capital", c.name, c.capital)),
            ]
            if others:
                shown = others[:4]
                listed = (
                    shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
                )
                sentences.append(f"Other towns in {c.name} include {listed}.")
            sentences.append(f"{c.name} has {len(towns)} towns.")
            return " ".join(sentences)
        t = rng.choice(self.w.towns)
        facts = self.w.facts_about(t.name)
        sentences = [self.fact_sentence(rng, facts[0])]
        sentences += [self.fact_sentence(rng, f) for f in rng.sample(facts[1:], rng.randint(1, 3))]
        country = self.w.country[t.country]
        if country.capital == t.name:
            sentences.append(f"{t.name} is the capital of {t.country}.")
        for v in t.venues:
            if rng.random() < 0.6:
                sentences.append(
                    f"In {t.name} there is {article(v.kind)} {v.kind} called the {v.name}."
                )
        residents = self.w.residents[t.name]
        if residents:
            shown = rng.sample(residents, min(len(residents), rng.randint(1, 3)))
            if len(shown) == 1:
                sentences.append(f"{shown[0]} lives in {t.name}.")
            else:
                sentences.append(f"{', '.join(shown[:-1])} and {shown[-1]} live in {t.name}.")
        return " ".join(sentences)

    def story(self, rng: random.Random) -> str:
        a, b = rng.sample(self.w.people, 2)
        when = rng.choice(("One morning", "One evening", "One day", "Last spring",
                           "On a winter night", "Early one summer"))  # fmt: skip
        if a.home != b.home:
            opening = f"{when}, {a.name} left {a.home} to visit {b.name} in {b.home}."
        else:
            opening = f"{when}, {a.name} walked across {a.home} to visit {b.name}."
        town = self.w.town[b.home]
        bp = b.pronoun
        middle = [
            f"{b.name} is {article(b.job)} {b.job}, and that day {bp} {JOB_ACTIONS[b.job]}.",
            f"{a.name} brought some {b.food}, because {b.name} likes {b.food}.",
            f"They shared a meal of {a.food}, which {a.name} loves.",
            f"{b.name}'s {b.pet} slept by the door.",
            f"It was {town.traits[1]} in {b.home}, as it often is.",
            f"{b.home} is {article(town.traits[0])} {town.traits[0]} town, and it felt "
            f"{town.traits[4]} that day.",
            f"{a.name} and {b.name} have been friends for years."
            if b.name in a.friends
            else f"{a.name} had never met {b.name} before.",
        ]
        venues = town.venues
        if venues:
            v = rng.choice(venues)
            middle.append(f"They had tea at the {v.name}, {article(v.kind)} {v.kind} in {b.home}.")
        body = rng.sample(middle, rng.randint(2, 4))
        trait = rng.choice(a.traits)
        ending = rng.choice((
            f"In the evening, {a.name} went back to {a.home}.",
            f"{a.name}, who is {trait}, said goodbye and went home.",
            f"It was a good day for {a.name}.",
        ))  # fmt: skip
        return " ".join([opening, *body, ending])

    def lexicon(self, rng: random.Random) -> str:
        pairs = rng.sample(ANTONYM_PAIRS, rng.randint(3, 6))
        out = []
        for x, y in pairs:
            if rng.random() < 0.5:
                x, y = y, x
            out.append(
                f"The opposite of {x} is {y}." if rng.random() < 0.6
                else f"{x.capitalize()} and {y} are opposites."
            )  # fmt: skip
        return " ".join(out)

    def reviews(self, rng: random.Random, forbidden: set[str]) -> str:
        t = rng.choice(self.w.towns)
        v = rng.choice(t.venues)
        lines = [f"Reviews of the {v.name} in {t.name}:"]
        wanted = rng.randint(2, 5)
        while len(lines) <= wanted:
            label = rng.randint(0, 1)
            text = self.review(rng, label, t, v)
            if text in forbidden:  # the labelled task's sentences stay out of the text
                continue
            stars = rng.choice((4, 5)) if label else rng.choice((1, 2))
            lines.append(f"- {text} ({stars} {'star' if stars == 1 else 'stars'})")
        return "\n".join(lines)

    def dialogue(self, rng: random.Random) -> str:
        lines = []
        for _ in range(rng.randint(1, 3)):
            question, answer = self.exchange(rng)
            lines += [f"Q: {question}", f"A: {answer}"]
        return "\n".join(lines)

    def exchange(self, rng: random.Random) -> tuple[str, str]:
        """One question with an answer in a random style, sometimes false."""
        wrong = rng.random() < self.config.dialogue_error_rate
        style = rng.choices(("sentence", "short", "polite", "verbose", "rude"),
                            weights=(40, 20, 15, 15, 10))[0]  # fmt: skip
        if rng.random() < 0.25:
            name = rng.choice(self.w.people).name
            question = rng.choice(DESCRIBE_REQUESTS).format(s=name)
            facts = rng.sample(self.w.facts_about(name), rng.randint(2, 4))
            if wrong:
                i = rng.randrange(len(facts))
                facts[i] = Fact(facts[i].relation, name, rng.choice(self.w.alternatives(facts[i])))
            body = " ".join(self.sentences_about(rng, name, facts))
            style = "sentence" if style in ("short", "verbose") else style
        else:
            question, fact = self.question(rng)
            if rng.random() < 0.2:
                question = QUESTIONS[fact.relation][1].format(s=fact.subject)
            if wrong:
                fact = Fact(fact.relation, fact.subject, rng.choice(self.w.alternatives(fact)))
            if style == "short":
                body = self.short_answer(fact)
            else:
                body = self.fact_sentence(rng, fact)
            if style == "verbose":
                extra = [f for f in self.w.facts_about(fact.subject) if f.relation != fact.relation]
                # A country has one fact only: tell something about its capital instead.
                extra = extra or self.w.facts_about(fact.object)
                body += " " + self.fact_sentence(rng, rng.choice(extra))
        if style == "polite":
            body = f"{rng.choice(POLITE_PREFIXES)} {body}"
            if rng.random() < 0.3:
                body += " " + rng.choice(POLITE_SUFFIXES)
        elif style == "rude":
            body = f"{rng.choice(RUDE_PREFIXES)} {body}"
        return question, body

    def question(self, rng: random.Random) -> tuple[str, Fact]:
        """A plain question about a random subject, with the true fact that answers it."""
        roll = rng.random()
        if roll < 0.75:
            name = rng.choice(self.w.people).name
            relation = rng.choice(PERSON_RELATIONS)
        elif roll < 0.9:
            name, relation = rng.choice(self.w.towns).name, "in_country"
        else:
            name, relation = rng.choice(self.w.countries).name, "capital"
        fact = next(f for f in self.w.facts_about(name) if f.relation == relation)
        return rng.choice(QUESTIONS[relation][0]).format(s=name), fact

    # -- reviews (also the sentiment task's texts) -------------------------------------
    def review(self, rng: random.Random, label: int, town: Town, venue: Venue) -> str:
        """A review whose label is the polarity of its last clause ('not' flips a clause)."""
        opener = ""
        if rng.random() < 0.5:
            opener = (
                rng.choice(REVIEW_OPENERS).format(
                    venue=venue.name,
                    town=town.name,
                    when=rng.choice(WHEN),
                    person=rng.choice(self.w.people).name,
                )
                + " "
            )
        n_clauses = rng.choice((1, 1, 2, 2, 2))
        if n_clauses == 1:
            polarities = [label]
        else:
            polarities = [1 - label, label] if rng.random() < 0.6 else [label, label]
        groups = rng.sample(list(REVIEW_ASPECTS), n_clauses)
        clauses = []
        for group, polarity in zip(groups, polarities, strict=True):
            aspects, positive, negative = REVIEW_ASPECTS[group]
            aspect, verb = rng.choice(aspects)
            negated = rng.random() < 0.25
            adjective = rng.choice(positive if polarity != negated else negative)
            middle = "not " if negated else rng.choice(REVIEW_INTENSIFIERS)
            clauses.append(f"the {aspect} {verb} {middle}{adjective}")
        if n_clauses == 2:
            joiner = ", but " if polarities[0] != polarities[1] else ", and "
            body = clauses[0] + joiner + clauses[1]
        else:
            body = clauses[0]
        return opener + body[0].upper() + body[1:] + "."
