"""The invented world a corpus is rendered from: its entities (:class:`Person`, :class:`Town`,
:class:`Country`, :class:`Venue`), the :class:`Fact` propositions it makes true or false, the
:class:`World` that holds and queries them, and :func:`generate_world`, which invents a seeded
world with unique names that never collide with the lexicon.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench_synthetic.lexicon import (
    ANTONYM_PAIRS,
    FOODS,
    JOBS,
    PERSON_TRAIT_PAIRS,
    PETS,
    REVIEW_ASPECTS,
    TOWN_TRAIT_PAIRS,
    VENUE_COLOURS,
    VENUE_KINDS,
    VENUE_NOUNS,
)


@dataclass
class Venue:
    name: str
    """Without the article, e.g. ``"Silver Kettle"``; written ``the Silver Kettle``."""
    kind: str


@dataclass
class Person:
    name: str
    pronoun: str
    """``"he"`` or ``"she"``."""
    home: str
    """A town's name."""
    job: str
    pet: str
    food: str
    traits: list[str]
    """One adjective of each of :data:`PERSON_TRAIT_PAIRS`, in that order."""
    friends: list[str] = field(default_factory=list)


@dataclass
class Town:
    name: str
    country: str
    traits: list[str]
    """One adjective of each of :data:`TOWN_TRAIT_PAIRS`, in that order."""
    venues: list[Venue] = field(default_factory=list)


@dataclass
class Country:
    name: str
    capital: str


@dataclass(frozen=True)
class Fact:
    """One proposition about the world: ``relation(subject, object)``, possibly negated."""

    relation: str
    subject: str
    object: str
    negated: bool = False

    def negate(self) -> Fact:
        return Fact(self.relation, self.subject, self.object, not self.negated)


FUNCTIONAL_RELATIONS = (
    "lives_in",
    "lives_in_country",
    "job",
    "pet",
    "likes",
    "in_country",
    "capital",
)
"""Relations with exactly one true object per subject."""


@dataclass
class World:
    """The invented facts a corpus is rendered from (JSON form: :meth:`to_dict`)."""

    people: list[Person]
    towns: list[Town]
    countries: list[Country]
    antonyms: dict[str, str]
    """Both directions: ``antonyms["hot"] == "cold"`` and ``antonyms["cold"] == "hot"``."""

    def __post_init__(self) -> None:
        self.person = {p.name: p for p in self.people}
        self.town = {t.name: t for t in self.towns}
        self.country = {c.name: c for c in self.countries}
        self.towns_of: dict[str, list[str]] = {c.name: [] for c in self.countries}
        self.residents: dict[str, list[str]] = {t.name: [] for t in self.towns}
        for t in self.towns:
            self.towns_of[t.country].append(t.name)
        for p in self.people:
            self.residents[p.home].append(p.name)
        self._kinds: dict[str, str] = {}
        for kind, words in (
            ("job", JOBS),
            ("pet", PETS),
            ("food", FOODS),
            ("adj", self.antonyms),
            ("person", self.person),
            ("town", self.town),
            ("country", self.country),
        ):
            for word in words:
                self._kinds[word] = kind

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form (what ``extras["world"]`` holds)."""
        return {
            "people": [
                {
                    "name": p.name,
                    "pronoun": p.pronoun,
                    "home": p.home,
                    "job": p.job,
                    "pet": p.pet,
                    "food": p.food,
                    "traits": list(p.traits),
                    "friends": list(p.friends),
                }
                for p in self.people
            ],
            "towns": [
                {
                    "name": t.name,
                    "country": t.country,
                    "traits": list(t.traits),
                    "venues": [{"name": v.name, "kind": v.kind} for v in t.venues],
                }
                for t in self.towns
            ],
            "countries": [{"name": c.name, "capital": c.capital} for c in self.countries],
            "antonyms": dict(self.antonyms),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> World:
        return cls(
            people=[Person(**{**p, "traits": list(p["traits"]), "friends": list(p["friends"])})
                    for p in data["people"]],
            towns=[
                Town(
                    name=t["name"],
                    country=t["country"],
                    traits=list(t["traits"]),
                    venues=[Venue(**v) for v in t["venues"]],
                )
                for t in data["towns"]
            ],
            countries=[Country(**c) for c in data["countries"]],
            antonyms=dict(data["antonyms"]),
        )  # fmt: skip

    # -- queries --------------------------------------------------------------------------
    def kind_of(self, word: str) -> str | None:
        """``person``, ``town``, ``country``, ``job``, ``pet``, ``food``, ``adj`` or None."""
        return self._kinds.get(word)

    def country_of_person(self, name: str) -> str:
        return self.town[self.person[name].home].country

    def holds(self, fact: Fact) -> bool | None:
        """Whether the world makes ``fact`` true (False: false; None: not about this world)."""
        value = self._holds_positive(fact.relation, fact.subject, fact.object)
        if value is None:
            return None
        return not value if fact.negated else value

    def _holds_positive(self, relation: str, s: str, o: str) -> bool | None:
        p, t, c = self.person.get(s), self.town.get(s), self.country.get(s)
        if relation == "lives_in" and p and o in self.town:
            return p.home == o
        if relation == "lives_in_country" and p and o in self.country:
            return self.country_of_person(s) == o
        if relation == "job" and p and o in JOBS:
            return p.job == o
        if relation == "pet" and p and o in PETS:
            return p.pet == o
        if relation == "likes" and p and o in FOODS:
            return p.food == o
        if relation == "friend" and p and o in self.person:
            return o in p.friends
        if relation == "in_country" and t and o in self.country:
            return t.country == o
        if relation == "capital" and c and o in self.town:
            return c.capital == o
        if relation == "trait" and (p or t):
            traits = p.traits if p else t.traits  # type: ignore[union-attr]
            if o in traits:
                return True
            if self.antonyms.get(o) in traits:
                return False
        return None

    def facts_about(self, name: str) -> list[Fact]:
        """Every true, positive fact with ``name`` as subject."""
        if name in self.person:
            p = self.person[name]
            facts = [
                Fact("lives_in", name, p.home),
                Fact("lives_in_country", name, self.country_of_person(name)),
                Fact("job", name, p.job),
                Fact("pet", name, p.pet),
                Fact("likes", name, p.food),
            ]
            facts += [Fact("trait", name, adj) for adj in p.traits]
            facts += [Fact("friend", name, f) for f in p.friends]
            return facts
        if name in self.town:
            t = self.town[name]
            return [Fact("in_country", name, t.country)] + [
                Fact("trait", name, adj) for adj in t.traits
            ]
        if name in self.country:
            return [Fact("capital", name, self.country[name].capital)]
        return []

    def alternatives(self, fact: Fact) -> list[str]:
        """Objects that would make a functional fact (or a trait) false: same kind, other value."""
        o = fact.object
        if fact.relation == "trait":
            return [self.antonyms[o]]
        pools: dict[str, Sequence[str]] = {
            "lives_in": [t.name for t in self.towns],
            "lives_in_country": [c.name for c in self.countries],
            "job": JOBS,
            "pet": PETS,
            "likes": FOODS,
            "in_country": [c.name for c in self.countries],
            "capital": [t.name for t in self.towns],
            "friend": [p.name for p in self.people],
        }
        pool = pools[fact.relation]
        if fact.relation == "friend":
            friends = set(self.person[fact.subject].friends) | {fact.subject}
            return [x for x in pool if x not in friends]
        return [x for x in pool if x != o]


# -- building a world ------------------------------------------------------------------------

_ONSETS = ("b", "br", "d", "dr", "f", "g", "gr", "h", "k", "kr", "l", "m", "n", "p", "pr", "r",
           "s", "st", "t", "tr", "v", "z")  # fmt: skip
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "o")
_CODAS = ("", "", "", "n", "l", "r", "s")
_TOWN_SUFFIXES = ("ton", "vik", "by", "ford", "holm", "wick", "dale", "mere")
_COUNTRY_SUFFIXES = ("ia", "and", "ar", "esh", "ory")


def _reserved_words() -> set[str]:
    words = {w for pair in ANTONYM_PAIRS for w in pair}
    words |= set(JOBS) | set(PETS) | set(FOODS)
    for _, (aspects, pos, neg) in REVIEW_ASPECTS.items():
        words |= {a for a, _ in aspects} | set(pos) | set(neg)
    words |= {w.lower() for w in VENUE_COLOURS + VENUE_NOUNS}
    return words


_RESERVED = _reserved_words()


class _Names:
    """Unique invented names; morphology tells people, towns and countries apart."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.used = rng, set(_RESERVED)

    def _syllable(self) -> str:
        return self.rng.choice(_ONSETS) + self.rng.choice(_VOWELS)

    def _unique(self, make: Callable[[], str]) -> str:
        while True:
            name = make()
            if name.lower() not in self.used and 3 <= len(name) <= 11:
                self.used.add(name.lower())
                return name.capitalize()

    def person(self) -> str:
        return self._unique(lambda: self._syllable() + self._syllable() + self.rng.choice(_CODAS))

    def town(self) -> str:
        return self._unique(
            lambda: (
                self._syllable()
                + (self._syllable() if self.rng.random() < 0.4 else "")
                + self.rng.choice(_TOWN_SUFFIXES)
            )
        )

    def country(self) -> str:
        return self._unique(
            lambda: self._syllable() + self.rng.choice(_ONSETS) + self.rng.choice(_COUNTRY_SUFFIXES)
        )


def generate_world(n_entities: int, seed: int) -> World:
    """Invent ``n_entities`` people, towns and countries (about 5% countries, 20% towns)."""
    if n_entities < 20:
        raise ValueError("a world needs at least 20 entities")
    rng = random.Random(f"workbench-synthetic/{seed}/world")
    names = _Names(rng)
    n_countries = max(4, round(n_entities * 0.05))
    n_towns = max(2 * n_countries, round(n_entities * 0.2))
    n_people = n_entities - n_countries - n_towns

    country_names = [names.country() for _ in range(n_countries)]
    towns: list[Town] = []
    for i in range(n_towns):
        # Every country gets at least two towns; the first is its capital.
        country = (
            country_names[i % n_countries] if i < 2 * n_countries else rng.choice(country_names)
        )
        venues: list[Venue] = []
        for _ in range(rng.randint(1, 2)):
            venue = Venue(f"{rng.choice(VENUE_COLOURS)} {rng.choice(VENUE_NOUNS)}",
                          rng.choice(VENUE_KINDS))  # fmt: skip
            if all(v.name != venue.name for v in venues):
                venues.append(venue)
        towns.append(
            Town(names.town(), country, [rng.choice(pair) for pair in TOWN_TRAIT_PAIRS], venues)
        )
    countries = [
        Country(name, next(t.name for t in towns if t.country == name)) for name in country_names
    ]
    people = [
        Person(
            name=names.person(),
            pronoun=rng.choice(("he", "she")),
            home=rng.choice(towns).name,
            job=rng.choice(JOBS),
            pet=rng.choice(PETS),
            food=rng.choice(FOODS),
            traits=[rng.choice(pair) for pair in PERSON_TRAIT_PAIRS],
        )
        for _ in range(n_people)
    ]
    for person in people:
        for _ in range(rng.randint(1, 2)):
            other = rng.choice(people)
            if (
                other is not person
                and other.name not in person.friends
                and len(person.friends) < 3
                and len(other.friends) < 3
            ):
                person.friends.append(other.name)
                other.friends.append(person.name)
    antonyms = {a: b for a, b in ANTONYM_PAIRS} | {b: a for a, b in ANTONYM_PAIRS}
    return World(people, towns, countries, antonyms)


def as_world(world: World | Mapping[str, Any]) -> World:
    """``world`` as a :class:`World`: itself, or rebuilt from its :meth:`World.to_dict` form.

    Datasets carry the world as a plain dict (``extras["world"]``); the helpers that check facts
    against it accept either form. The last few rebuilt worlds are cached by the identity of
    their dict, so checking many completions against one dataset's world rebuilds it once.
    """
    if isinstance(world, World):
        return world
    key = id(world)
    cached = _WORLD_CACHE.get(key)
    if cached is None or cached[0] is not world:
        if len(_WORLD_CACHE) >= 8:
            _WORLD_CACHE.clear()
        cached = _WORLD_CACHE[key] = (world, World.from_dict(world))
    return cached[1]


_WORLD_CACHE: dict[int, tuple[Mapping[str, Any], World]] = {}
