"""The synthetic world's closed vocabulary: trait and antonym pairs, jobs, pets, foods, venue
names, the review grammar's words and the polite / rude phrases of dialogue answers. Every other
module of the generator draws its words from here, so the lexicon is the single place that fixes
which English words the corpus can contain.
"""

from __future__ import annotations

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
