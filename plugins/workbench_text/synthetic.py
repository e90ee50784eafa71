"""The ``synthetic`` dataset: a seeded, English-like corpus about an invented world.

The workbench must run its whole main job on a fresh machine with no network, so it writes its own
default data. :func:`generate_corpus` invents a small :class:`World` (people, towns, countries and
their facts, plus a lexicon of antonyms) and renders it through a template grammar into documents:

* prose for language-model pre-training (biographies, places, short stories, reviews with star
  ratings, question-and-answer dialogues, antonym notes);
* few-shot *prompt documents* (``input -> output`` lines from one of twelve string or world
  functions, 0 to ``max_shots`` demonstrations plus a query), mixed in at ``prompt_fraction``, so
  that in-context learning can emerge;

and derives from the same world, in ``TextCorpus.extras``:

* ``tasks`` / ``labels`` / ``task_types``: GPT-1-style labelled tasks (``sentiment``,
  ``entailment``, ``similarity``, ``multiple-choice``) with train / val / test lists of dicts;
* ``prompt_tasks`` (held-out evaluation items whose inputs never appear as prompt inputs in the
  text), ``prompt_demos`` (items safe to use as demonstrations) and ``prompt_format`` (the exact
  separators, so an evaluator builds the same prompts);
* ``preference_prompts`` and ``preference_properties``: prompts for RLHF and the measurable
  properties of a completion that a person or a simulated annotator can prefer, with pure helper
  functions (:func:`is_true_in_world`, :func:`completion_properties`, ...);
* ``world`` (:meth:`World.to_dict`), ``generator`` (version, seed, options) and ``stats``.

Everything is drawn from ``random.Random`` instances seeded by strings derived from the seed, so the
same seed and options give byte-identical text and identical extras on every machine. The grammar
is described in ``docs/synthetic-corpus.md``.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workbench.data import TextCorpus
from workbench.specs import DatasetContext, DatasetSpec

GENERATOR_VERSION = 1
"""Bumped whenever the same seed and options would produce different text."""

DOC_SEP = "\n\n"
"""Between documents; no document contains it."""

# =============================================================================================
# Lexicon
# =============================================================================================

PERSON_TRAIT_PAIRS: tuple[tuple[str, str], ...] = (
    ("tall", "short"),
    ("young", "old"),
    ("happy", "sad"),
    ("rich", "poor"),
    ("loud", "quiet"),
    ("kind", "cruel"),
    ("strong", "weak"),
    ("brave", "timid"),
    ("calm", "angry"),
    ("wise", "foolish"),
    ("neat", "messy"),
    ("busy", "idle"),
)
"""Every person has exactly one adjective of each pair (a closed world)."""

TOWN_TRAIT_PAIRS: tuple[tuple[str, str], ...] = (
    ("big", "small"),
    ("hot", "cold"),
    ("wet", "dry"),
    ("clean", "dirty"),
    ("safe", "dangerous"),
    ("rich", "poor"),
    ("loud", "quiet"),
)
"""Every town has exactly one adjective of each pair."""

OTHER_ANTONYM_PAIRS: tuple[tuple[str, str], ...] = (
    ("fast", "slow"),
    ("light", "dark"),
    ("early", "late"),
    ("hard", "soft"),
    ("full", "empty"),
    ("high", "low"),
    ("wide", "narrow"),
    ("thick", "thin"),
    ("sweet", "sour"),
    ("smooth", "rough"),
    ("near", "far"),
    ("deep", "shallow"),
    ("sharp", "blunt"),
    ("cheap", "costly"),
    ("bright", "dim"),
    ("open", "closed"),
    ("awake", "asleep"),
    ("warm", "cool"),
)


def _antonym_pairs() -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for pair in PERSON_TRAIT_PAIRS + TOWN_TRAIT_PAIRS + OTHER_ANTONYM_PAIRS:
        if pair not in pairs:
            pairs.append(pair)
    return tuple(pairs)


ANTONYM_PAIRS = _antonym_pairs()
"""The world's lexicon of opposites (each word occurs in one pair only)."""

JOB_ACTIONS: dict[str, str] = {
    "baker": "baked fresh bread",
    "farmer": "worked in the fields",
    "teacher": "taught a class",
    "doctor": "helped the sick",
    "painter": "painted a picture",
    "sailor": "sailed a boat",
    "miner": "dug for stone",
    "weaver": "wove a blanket",
    "singer": "sang a song",
    "builder": "built a wall",
    "fisher": "caught some fish",
    "tailor": "sewed a coat",
    "potter": "made a pot",
    "smith": "forged a blade",
    "guard": "kept watch",
    "merchant": "sold goods at the market",
    "artist": "drew a sketch",
    "archer": "shot arrows at a target",
    "innkeeper": "served guests",
}
JOBS = tuple(JOB_ACTIONS)
PETS = ("cat", "dog", "goat", "horse", "parrot", "rabbit", "owl", "hen", "turtle", "pony")
FOODS = (
    "bread", "apples", "soup", "cheese", "rice", "fish", "honey",
    "plums", "beans", "pears", "cake", "noodles", "eggs", "olives",
)  # fmt: skip

VENUE_COLOURS = ("Red", "Blue", "Green", "Golden", "Silver", "Copper", "Amber", "White", "Black")
VENUE_NOUNS = ("Kettle", "Lamp", "Goose", "Anchor", "Barrel", "Crown", "Lantern", "Bell", "Stag")
VENUE_KINDS = ("inn", "cafe", "bakery", "tavern", "tea house")

# Review grammar: aspect groups, each with its verb agreement and positive / negative adjectives.
REVIEW_ASPECTS: dict[str, tuple[tuple[tuple[str, str], ...], tuple[str, ...], tuple[str, ...]]] = {
    "food": (
        (("food", "was"), ("soup", "was"), ("bread", "was"), ("cake", "was"), ("tea", "was"),
         ("pie", "was")),
        ("delicious", "tasty", "fresh", "excellent", "superb", "lovely"),
        ("bland", "stale", "awful", "greasy", "terrible", "burnt"),
    ),
    "people": (
        (("staff", "were"), ("owner", "was"), ("waiter", "was"), ("cook", "was")),
        ("friendly", "helpful", "welcoming", "attentive", "charming"),
        ("unfriendly", "careless", "grumpy", "lazy", "unhelpful"),
    ),
    "place": (
        (("room", "was"), ("music", "was"), ("view", "was"), ("garden", "was")),
        ("pleasant", "beautiful", "wonderful", "cosy", "lovely"),
        ("noisy", "ugly", "dreary", "gloomy", "shabby"),
    ),
    "price": (
        (("prices", "were"), ("bill", "was")),
        ("fair", "reasonable", "modest"),
        ("unfair", "outrageous", "steep"),
    ),
}  # fmt: skip
REVIEW_INTENSIFIERS = ("very ", "really ", "truly ", "quite ", "", "", "")
REVIEW_OPENERS = (
    "I visited the {venue} in {town}.",
    "We ate at the {venue} last {when}.",
    "{person} took me to the {venue}.",
    "My friends and I stopped at the {venue} in {town}.",
)
WHEN = ("week", "month", "spring", "winter", "summer", "autumn")

POLITE_MARKERS = ("please", "thank", "happy to help", "hope this helps")
RUDE_MARKERS = ("everyone knows that", "what a silly question", "stop asking", "figure it out")
POLITE_PREFIXES = ("Thank you for asking.", "Happy to help.", "Thanks for the question.")
POLITE_SUFFIXES = ("I hope this helps.",)
RUDE_PREFIXES = ("Everyone knows that.", "What a silly question.", "Stop asking me things.")

# =============================================================================================
# Configuration
# =============================================================================================

STRING_PROMPT_TASKS = (
    "reverse",
    "sort",
    "uppercase",
    "shift",
    "first-letter",
    "last-letter",
    "double-letters",
    "count-items",
)
WORLD_PROMPT_TASKS = ("antonym", "capital-of", "country-of", "home-of")
PROMPT_TASK_NAMES = STRING_PROMPT_TASKS + WORLD_PROMPT_TASKS

PROMPT_INSTRUCTIONS: dict[str, str] = {
    "reverse": "Reverse the letters:",
    "sort": "Sort the letters:",
    "uppercase": "Write in capitals:",
    "shift": "Shift each letter by one:",
    "first-letter": "Give the first letter:",
    "last-letter": "Give the last letter:",
    "double-letters": "Double each letter:",
    "count-items": "Count the items:",
    "antonym": "Give the opposite:",
    "capital-of": "Name the capital of the country:",
    "country-of": "Name the country of the town:",
    "home-of": "Name the town where the person lives:",
}

PROMPT_SEPARATOR = " -> "
"""Between a demonstration's input and output."""


class SyntheticConfig(BaseModel):
    """Options of the built-in synthetic corpus (sizes, split fractions, prompt mix, world size)."""

    model_config = ConfigDict(extra="forbid")

    size_chars: int = Field(
        2_000_000,
        ge=1_000,
        le=500_000_000,
        description="approximate size of the training text in characters (val/test come on top)",
    )
    val_fraction: float = Field(0.05, ge=0.0, le=0.3, description="share of text for validation")
    test_fraction: float = Field(0.05, ge=0.0, le=0.3, description="share of text for test")
    prompt_fraction: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="share of documents that are few-shot prompt documents "
        "(raise towards 1.0 for in-context-learning experiments)",
    )
    max_shots: int = Field(
        8, ge=0, le=32, description="largest number of demonstrations before a prompt's query"
    )
    instruction_fraction: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="share of prompt documents that start with the task's instruction line",
    )
    prompt_tasks: list[str] = Field(
        default_factory=lambda: list(PROMPT_TASK_NAMES),
        description="prompt tasks mixed into the text: " + ", ".join(PROMPT_TASK_NAMES),
    )
    prompt_eval_size: int = Field(
        100, ge=1, le=10_000, description="held-out evaluation items per prompt task (at most)"
    )
    n_entities: int = Field(
        200,
        ge=20,
        le=10_000,
        description="people + towns + countries in the invented world",
    )
    task_train_size: int = Field(
        2000, ge=10, le=200_000, description="training examples per labelled task"
    )
    task_eval_size: int = Field(
        500, ge=10, le=50_000, description="validation and test examples (each) per labelled task"
    )
    n_choices: int = Field(4, ge=2, le=4, description="candidate answers per multiple-choice item")
    n_preference_prompts: int = Field(
        300, ge=1, le=100_000, description="prompts for RLHF comparisons"
    )
    dialogue_error_rate: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="share of dialogue answers in the text that state a false fact",
    )
    seed: int | None = Field(
        None, description="generator seed (empty: use the run's seed)", ge=0, le=2**63 - 1
    )

    @field_validator("prompt_tasks")
    @classmethod
    def _known_tasks(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in PROMPT_TASK_NAMES]
        if unknown:
            raise ValueError(
                f"unknown prompt task(s) {unknown}; choose from {list(PROMPT_TASK_NAMES)}"
            )
        if not value:
            raise ValueError("name at least one prompt task")
        return list(dict.fromkeys(value))


# =============================================================================================
# The world
# =============================================================================================


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


# =============================================================================================
# Sentence templates
# =============================================================================================


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
    world = _as_world(world)
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


def _as_world(world: World | Mapping[str, Any]) -> World:
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

# =============================================================================================
# Pure functions for simulated annotators
# =============================================================================================

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_SPLIT.split(text.strip()) if s]


def is_true_in_world(sentence: str, world: World | Mapping[str, Any]) -> bool | None:
    """True if the sentence states a fact of ``world``, False if it states a false one, None if
    it is not a fact sentence of the grammar (``world`` may be ``extras["world"]``)."""
    world = _as_world(world)
    fact = parse_fact(sentence, world)
    return None if fact is None else world.holds(fact)


def fact_check(text: str, world: World | Mapping[str, Any]) -> dict[str, int]:
    """Counts of ``true``, ``false`` and ``unknown`` (unparsed) sentences in ``text``."""
    counts = {"true": 0, "false": 0, "unknown": 0}
    for sentence in split_sentences(text):
        verdict = is_true_in_world(sentence, world)
        counts["unknown" if verdict is None else "true" if verdict else "false"] += 1
    return counts


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
            and _as_world(world).holds(fact)
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


# =============================================================================================
# Prompt tasks
# =============================================================================================


def _shift(word: str) -> str:
    return "".join(chr((ord(ch) - 97 + 1) % 26 + 97) for ch in word)


_STRING_FUNCTIONS: dict[str, Callable[[str], str]] = {
    "reverse": lambda w: w[::-1],
    "sort": lambda w: "".join(sorted(w)),
    "uppercase": str.upper,
    "shift": _shift,
    "first-letter": lambda w: w[0],
    "last-letter": lambda w: w[-1],
    "double-letters": lambda w: "".join(ch + ch for ch in w),
    "count-items": lambda w: str(len(w.split())),
}


def prompt_answer(task: str, inp: str, world: World | Mapping[str, Any] | None = None) -> str:
    """The correct output of prompt task ``task`` for input ``inp`` (world tasks need ``world``)."""
    if task in _STRING_FUNCTIONS:
        return _STRING_FUNCTIONS[task](inp)
    if world is None:
        raise ValueError(f"prompt task {task!r} needs the world")
    w = _as_world(world)
    if task == "antonym":
        return w.antonyms[inp]
    if task == "capital-of":
        return w.country[inp].capital
    if task == "country-of":
        return w.town[inp].country
    if task == "home-of":
        return w.person[inp].home
    raise KeyError(f"unknown prompt task {task!r}")


def _world_task_domain(task: str, world: World) -> list[str]:
    if task == "antonym":
        return [w for pair in ANTONYM_PAIRS for w in pair]
    if task == "capital-of":
        return [c.name for c in world.countries]
    if task == "country-of":
        return [t.name for t in world.towns]
    if task == "home-of":
        return [p.name for p in world.people]
    raise KeyError(task)


def _random_word(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 6)))


def _random_items(rng: random.Random) -> str:
    return " ".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(1, 9)))


def _sample_string_input(task: str, rng: random.Random) -> str:
    return _random_items(rng) if task == "count-items" else _random_word(rng)


PROMPT_FORMAT: dict[str, Any] = {
    "instruction_line": "{instruction}\n",
    "demonstration": "{input}" + PROMPT_SEPARATOR + "{output}\n",
    "query": "{input}" + PROMPT_SEPARATOR.rstrip(),
    "answer": " {output}",
    "stop": "\n",
    "separator": PROMPT_SEPARATOR,
    "document_separator": DOC_SEP,
    "instructions": dict(PROMPT_INSTRUCTIONS),
}
"""How prompt documents are written; ``extras["prompt_format"]`` adds ``max_shots`` and
``instruction_fraction``. A prompt is ``[instruction_line] + k * demonstration + query`` and the
model should continue with ``answer`` followed by ``stop``."""


def build_prompt(
    demonstrations: Iterable[tuple[str, str]] | Iterable[Mapping[str, str]],
    query: str,
    instruction: str | None = None,
) -> str:
    """The prompt an evaluator feeds the model: optional instruction line, ``k`` demonstrations
    (``(input, output)`` pairs or ``{"input", "output"}`` dicts), then ``"<query> ->"``."""
    lines = [] if instruction is None else [instruction + "\n"]
    for demo in demonstrations:
        inp, out = (demo["input"], demo["output"]) if isinstance(demo, Mapping) else demo
        lines.append(f"{inp}{PROMPT_SEPARATOR}{out}\n")
    return "".join(lines) + f"{query}{PROMPT_SEPARATOR.rstrip()}"


@dataclass
class PromptDocument:
    """A parsed prompt document: the task named by its instruction (None without one) and its
    ``input -> output`` pairs, the last of which is the query with its answer."""

    task: str | None
    instruction: str | None
    pairs: list[tuple[str, str]]


_TASK_BY_INSTRUCTION = {text: task for task, text in PROMPT_INSTRUCTIONS.items()}


def parse_prompt_document(document: str) -> PromptDocument | None:
    """Parse a prompt document back; None when ``document`` is not one."""
    lines = document.split("\n")
    instruction = None
    if lines and lines[0] in _TASK_BY_INSTRUCTION:
        instruction = lines.pop(0)
    if not lines:
        return None
    pairs = []
    for line in lines:
        inp, sep, out = line.partition(PROMPT_SEPARATOR)
        if not sep or not inp or not out or PROMPT_SEPARATOR in out:
            return None
        pairs.append((inp, out))
    return PromptDocument(_TASK_BY_INSTRUCTION.get(instruction or ""), instruction, pairs)


def prompt_document_task(doc: PromptDocument, world: World | Mapping[str, Any]) -> str | None:
    """The task a parsed prompt document demonstrates: named by its instruction, else the first
    task whose function maps every input to its output."""
    if doc.task is not None:
        return doc.task
    for task in PROMPT_TASK_NAMES:
        try:
            if all(prompt_answer(task, i, world) == o for i, o in doc.pairs):
                return task
        except (KeyError, IndexError):
            continue
    return None


class _PromptSampler:
    """Draws prompt-task items, keeping the held-out evaluation inputs out of the text."""

    def __init__(self, world: World, config: SyntheticConfig, seed: int) -> None:
        self.world, self.config = world, config
        rng = random.Random(f"workbench-synthetic/{seed}/prompt-heldout")
        n = config.prompt_eval_size
        self.heldout_candidates: dict[str, list[str]] = {}
        for task in STRING_PROMPT_TASKS:
            # Extra candidates: those that turn out to be words of the text are dropped later.
            cands: list[str] = []
            seen: set[str] = set()
            while len(cands) < n + n // 2 + 5:
                word = _sample_string_input(task, rng)
                if word not in seen and word not in _RESERVED:
                    seen.add(word)
                    cands.append(word)
            self.heldout_candidates[task] = cands
        self.blocked_words = {w for t in STRING_PROMPT_TASKS if t != "count-items"
                              for w in self.heldout_candidates[t]}  # fmt: skip
        self.blocked_items = set(self.heldout_candidates["count-items"])
        self.allowed: dict[str, list[str]] = {}
        self.heldout_world: dict[str, list[str]] = {}
        for task in WORLD_PROMPT_TASKS:
            domain = _world_task_domain(task, world)
            order = list(domain)
            rng.shuffle(order)
            n_held = min(n, max(1, len(order) // 4))
            held = set(order[:n_held])
            self.heldout_world[task] = [x for x in domain if x in held]
            self.allowed[task] = [x for x in domain if x not in held]

    def sample(self, task: str, rng: random.Random, count: int) -> list[tuple[str, str]]:
        """Up to ``count`` items with distinct inputs that are not held out."""
        if task in self.allowed:
            inputs = rng.sample(self.allowed[task], min(count, len(self.allowed[task])))
            return [(x, prompt_answer(task, x, self.world)) for x in inputs]
        items: list[tuple[str, str]] = []
        seen: set[str] = set()
        while len(items) < count:
            inp = _sample_string_input(task, rng)
            out = prompt_answer(task, inp)
            if inp in seen:
                continue
            if task == "count-items":
                if inp in self.blocked_items:
                    continue
            elif inp in self.blocked_words or out.lower() in self.blocked_words or inp in _RESERVED:
                # Random words never collide with the lexicon, so no held-out antonym starts a
                # prompt line either.
                continue
            seen.add(inp)
            items.append((inp, out))
        return items

    def document(self, rng: random.Random) -> str:
        task = rng.choice(self.config.prompt_tasks)
        k = rng.randint(0, self.config.max_shots)
        pairs = self.sample(task, rng, k + 1)
        lines = []
        if rng.random() < self.config.instruction_fraction:
            lines.append(PROMPT_INSTRUCTIONS[task])
        lines += [f"{i}{PROMPT_SEPARATOR}{o}" for i, o in pairs]
        return "\n".join(lines)

    def heldout(self, text_words: set[str]) -> dict[str, list[dict[str, str]]]:
        out: dict[str, list[dict[str, str]]] = {}
        for task in PROMPT_TASK_NAMES:
            if task in self.heldout_world:
                inputs = self.heldout_world[task]
            else:
                inputs = [
                    w for w in self.heldout_candidates[task]
                    if task == "count-items" or w not in text_words
                ][: self.config.prompt_eval_size]  # fmt: skip
            out[task] = [{"input": x, "output": prompt_answer(task, x, self.world)} for x in inputs]
        return out


# =============================================================================================
# Pre-training documents
# =============================================================================================


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

    # -- labelled tasks -----------------------------------------------------------------
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


# =============================================================================================
# Labelled tasks
# =============================================================================================

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


# =============================================================================================
# The corpus
# =============================================================================================

DOC_TYPE_WEIGHTS = {
    "biography": 25,
    "place": 12,
    "story": 25,
    "review": 13,
    "dialogue": 20,
    "lexicon": 5,
}
"""Relative frequencies of the prose document types (prompt documents come on top)."""


def generate_corpus(config: SyntheticConfig, seed: int) -> TextCorpus:
    """Generate the corpus: the same ``config`` and ``seed`` give byte-identical results."""
    world = generate_world(config.n_entities, seed)
    writer = _Writer(world, config)

    def stream(name: str) -> random.Random:
        return random.Random(f"workbench-synthetic/{seed}/{name}")

    # Labelled tasks first, so that their review sentences can be kept out of the text.
    sizes = (config.task_train_size, config.task_eval_size, config.task_eval_size)
    n_choices = config.n_choices
    tasks = {
        "sentiment": _make_task(writer.sentiment_record, 2, sizes, stream("task/sentiment")),
        "entailment": _make_task(writer.entailment_record, 3, sizes, stream("task/entailment")),
        "similarity": _make_task(writer.similarity_record, 2, sizes, stream("task/similarity")),
        "multiple-choice": _make_task(
            writer.multiple_choice_record, n_choices, sizes, stream("task/multiple-choice")
        ),
    }
    forbidden_reviews = {r["text"] for split in tasks["sentiment"].values() for r in split}

    sampler = _PromptSampler(world, config, seed)
    rng = stream("text")
    makers: dict[str, Callable[[random.Random], str]] = {
        "biography": writer.biography,
        "place": writer.place,
        "story": writer.story,
        "review": lambda r: writer.reviews(r, forbidden_reviews),
        "dialogue": writer.dialogue,
        "lexicon": writer.lexicon,
    }
    type_names, type_weights = list(DOC_TYPE_WEIGHTS), list(DOC_TYPE_WEIGHTS.values())
    shares = (1.0 - config.val_fraction - config.test_fraction, config.val_fraction,
              config.test_fraction)  # fmt: skip
    docs: tuple[list[str], list[str], list[str]] = ([], [], [])
    chars = [0, 0, 0]
    doc_types: list[Counter[str]] = [Counter(), Counter(), Counter()]
    split_of: dict[str, int] = {}
    max_prompt_chars = 0
    refused = 0
    while chars[0] < config.size_chars:
        # Deterministic quotas: the next document goes to the split furthest below its share.
        # The split is chosen before the document is drawn, so no document type (or length)
        # favours a split.
        split = max(range(3), key=lambda i: (shares[i] * sum(chars) - chars[i], -i))
        if rng.random() < config.prompt_fraction:
            kind, doc = "prompt", sampler.document(rng)
            max_prompt_chars = max(max_prompt_chars, len(doc))
        else:
            kind = rng.choices(type_names, weights=type_weights)[0]
            doc = makers[kind](rng)
        # A document may repeat within its split (short prompt documents do), never across.
        if split_of.setdefault(doc, split) != split:
            refused += 1
            if refused > 10_000:
                raise ValueError(
                    "the options allow too few distinct documents for this size: enlarge "
                    "n_entities, name more prompt_tasks or lower size_chars"
                )
            continue
        refused = 0
        chars[split] += len(doc) + (len(DOC_SEP) if docs[split] else 0)
        docs[split].append(doc)
        doc_types[split][kind] += 1
    train, val, test = (DOC_SEP.join(d) for d in docs)

    text_words = set(re.findall(r"[a-z]+", train + "\n" + val + "\n" + test))
    demo_rng = stream("prompt-demos")
    prompt_demos = {
        task: [{"input": i, "output": o}
               for i, o in sampler.sample(task, demo_rng, config.prompt_eval_size)]
        for task in PROMPT_TASK_NAMES
    }  # fmt: skip
    pref_rng = stream("preference")
    extras: dict[str, Any] = {
        "world": world.to_dict(),
        "tasks": tasks,
        "labels": {
            **TASK_LABELS,
            "multiple-choice": [f"choice {i}" for i in range(n_choices)],
        },
        "task_types": dict(TASK_TYPES),
        "prompt_tasks": sampler.heldout(text_words),
        "prompt_demos": prompt_demos,
        "prompt_format": {
            **PROMPT_FORMAT,
            "instructions": dict(PROMPT_INSTRUCTIONS),
            "max_shots": config.max_shots,
            "instruction_fraction": config.instruction_fraction,
            "tasks_in_text": list(config.prompt_tasks),
        },
        "preference_prompts": [
            writer.preference_prompt(pref_rng) for _ in range(config.n_preference_prompts)
        ],
        "preference_properties": {k: dict(v) for k, v in PREFERENCE_PROPERTIES.items()},
        "generator": {
            "name": "synthetic",
            "version": GENERATOR_VERSION,
            "seed": seed,
            "config": config.model_dump(mode="json"),
        },
        "stats": {
            "chars": {"train": len(train), "val": len(val), "test": len(test)},
            "documents": {
                split: dict(sorted(counter.items()))
                for split, counter in zip(("train", "val", "test"), doc_types, strict=True)
            },
            "max_prompt_document_chars": max_prompt_chars,
        },
    }
    return TextCorpus(train=train, val=val, test=test, extras=extras)


def _factory(config: SyntheticConfig, ctx: DatasetContext) -> TextCorpus:
    return generate_corpus(config, config.seed if config.seed is not None else ctx.seed)


SYNTHETIC_SPEC = DatasetSpec(
    name="synthetic",
    summary="a seeded English-like corpus about an invented world, with labelled tasks, "
    "few-shot prompt tasks and RLHF prompts (no download)",
    config=SyntheticConfig,
    factory=_factory,
    dataset_kind="text",
)
