"""The ``toy-translation`` dataset: rule-based translation between two invented languages.

**Lanic** (the source) is ordered like English: subject, verb, object, then an optional
prepositional phrase and an optional adverb. A determiner and an optional adjective come before
each noun; plural nouns end in ``-s``; tense is a separate auxiliary word before the verb (``das``
past, ``wil`` future, none for present) and negation the word ``nok`` before that. Lanic has no
agreement.

**Vorrish** (the target) reorders and inflects:

* word order: adverb first, then subject, the prepositional phrase, object, verb (SOV); inside a
  noun phrase the noun comes first, then the adjective, then the determiner; prepositions become
  postpositions after their noun phrase;
* every noun has a gender, ``a`` or ``o``, that Lanic does not show: the noun, its adjective and
  its determiner all end in the gender's vowel, plus ``n`` (noun, adjective) or ``s``
  (determiner) in the plural;
* the object's determiner takes the case ending ``-k``;
* the verb carries the tense (``-et`` past, ``-ov`` future) and agrees in number with the subject
  (``-i`` singular, ``-in`` plural), which sits whole phrases away; negation is the prefix ``na-``.

So ``ta bris bolts das abra en dolm drin sonn`` ("the tall dogs saw a red cat quickly", in
spirit) becomes ``ekra sarman kelan las kolvo taro mok dunetin``: the attention between the two
has to follow a non-monotonic alignment (adverb to the front, object before the verb, the
auxiliary folded into the verb's ending, adjective after its noun) and carry the gender and
number across words.
"""

from __future__ import annotations

import random

from pydantic import Field

from workbench.data import Pair, Seq2SeqPairs
from workbench.specs import DatasetContext
from workbench_transformer.splits import draw_splits
from workbench_transformer.tasks import _SplitSizes

__all__ = ["NOUNS", "ToyTranslationConfig", "make_toy_translation", "translate"]

GRAMMAR_VERSION = 2
"""Goes up whenever the pairs a given seed produces change."""

# Lanic word -> (Vorrish stem, gender)
NOUNS: dict[str, tuple[str, str]] = {
    "bolt": ("sarm", "a"),
    "drin": ("kolv", "o"),
    "fesk": ("muln", "a"),
    "gorp": ("tesk", "o"),
    "hulm": ("brid", "a"),
    "jant": ("polk", "o"),
    "kovi": ("zirn", "a"),
    "lask": ("dunt", "o"),
    "mirt": ("fald", "a"),
    "nosk": ("gebr", "o"),
    "pell": ("hirm", "a"),
    "quon": ("jast", "o"),
    "rilb": ("lomp", "a"),
    "sarn": ("nirk", "o"),
    "tove": ("rusk", "a"),
    "wemb": ("vilt", "o"),
    "yarl": ("kemb", "a"),
    "zund": ("sorv", "o"),
    "brom": ("tald", "a"),
    "cilt": ("wusk", "o"),
    "dwen": ("harp", "a"),
    "frol": ("gint", "o"),
    "gwim": ("pesk", "a"),
    "hask": ("morb", "o"),
}
# Lanic word -> Vorrish stem
ADJECTIVES: dict[str, str] = {
    "bris": "kel",
    "dolm": "tar",
    "frin": "mush",
    "glat": "vor",
    "kerb": "pil",
    "lunt": "dasp",
    "morv": "ren",
    "narp": "sov",
    "plim": "gur",
    "toss": "fen",
    "rusp": "lir",
    "sook": "bah",
    "vint": "dor",
    "wesk": "nim",
}
VERBS: dict[str, str] = {
    "abra": "dun",
    "belk": "sil",
    "corv": "tam",
    "dusk": "wer",
    "elfo": "bon",
    "firn": "gal",
    "gesp": "hor",
    "helt": "kip",
    "imro": "lav",
    "jorn": "mek",
    "kalv": "nup",
    "lirn": "ros",
    "mosp": "tev",
    "nurb": "zal",
}
ADVERBS: dict[str, str] = {
    "sonn": "ekra",
    "vell": "ulmo",
    "parr": "isti",
    "tomm": "avro",
    "kish": "odre",
    "lumm": "iska",
}
# Lanic preposition -> Vorrish postposition
PREPOSITIONS: dict[str, str] = {"ov": "ken", "im": "dar", "sul": "sum", "pra": "pel"}
DETERMINERS: dict[str, str] = {"ta": "l", "en": "m"}  # definite, indefinite
AUXILIARIES: dict[str, str] = {"": "", "das": "et", "wil": "ov"}  # present, past, future


class ToyTranslationConfig(_SplitSizes):
    """Options of ``toy-translation``."""

    adjective_rate: float = Field(
        0.5, ge=0.0, le=1.0, description="chance that a noun phrase has an adjective"
    )
    adverb_rate: float = Field(
        0.4, ge=0.0, le=1.0, description="chance that a sentence has an adverb"
    )
    phrase_rate: float = Field(
        0.4, ge=0.0, le=1.0, description="chance that a sentence has a prepositional phrase"
    )
    negation_rate: float = Field(
        0.3, ge=0.0, le=1.0, description="chance that a sentence is negated"
    )


def _noun_phrase(rng: random.Random, config: ToyTranslationConfig) -> dict:
    return {
        "det": rng.choice(sorted(DETERMINERS)),
        "adj": rng.choice(sorted(ADJECTIVES)) if rng.random() < config.adjective_rate else None,
        "noun": rng.choice(sorted(NOUNS)),
        "plural": rng.random() < 0.5,
    }


def _lanic_np(np: dict) -> list[str]:
    noun = np["noun"] + ("s" if np["plural"] else "")
    return [np["det"], *([np["adj"]] if np["adj"] else []), noun]


def _vorrish_np(np: dict, *, object_case: bool) -> list[str]:
    stem, gender = NOUNS[np["noun"]]
    plural = np["plural"]
    words = [stem + gender + ("n" if plural else "")]
    if np["adj"]:
        words.append(ADJECTIVES[np["adj"]] + gender + ("n" if plural else ""))
    det = DETERMINERS[np["det"]] + gender + ("s" if plural else "") + ("k" if object_case else "")
    words.append(det)
    return words


def translate(sentence: dict) -> Pair:
    """The Lanic source and its Vorrish translation of one sentence structure."""
    subject, obj = sentence["subject"], sentence["object"]
    aux, verb, adverb = sentence["aux"], sentence["verb"], sentence["adverb"]
    phrase, negated = sentence.get("phrase"), sentence.get("negated", False)
    lanic = [
        *_lanic_np(subject),
        *(["nok"] if negated else []),
        *([aux] if aux else []),
        verb,
        *_lanic_np(obj),
        *([phrase["prep"], *_lanic_np(phrase["np"])] if phrase else []),
        *([adverb] if adverb else []),
    ]
    verb_form = (
        ("na" if negated else "")
        + VERBS[verb]
        + AUXILIARIES[aux]
        + ("in" if subject["plural"] else "i")
    )
    vorrish = [
        *([ADVERBS[adverb]] if adverb else []),
        *_vorrish_np(subject, object_case=False),
        *(
            [*_vorrish_np(phrase["np"], object_case=False), PREPOSITIONS[phrase["prep"]]]
            if phrase
            else []
        ),
        *_vorrish_np(obj, object_case=True),
        verb_form,
    ]
    return " ".join(lanic), " ".join(vorrish)


def make_toy_translation(config: ToyTranslationConfig, ctx: DatasetContext) -> Seq2SeqPairs:
    """The ``toy-translation`` dataset: Lanic sources, Vorrish targets."""

    def draw(rng: random.Random) -> Pair:
        sentence = {
            "subject": _noun_phrase(rng, config),
            "aux": rng.choice(sorted(AUXILIARIES)),
            "verb": rng.choice(sorted(VERBS)),
            "object": _noun_phrase(rng, config),
            "adverb": rng.choice(sorted(ADVERBS)) if rng.random() < config.adverb_rate else None,
            "phrase": (
                {"prep": rng.choice(sorted(PREPOSITIONS)), "np": _noun_phrase(rng, config)}
                if rng.random() < config.phrase_rate
                else None
            ),
            "negated": rng.random() < config.negation_rate,
        }
        return translate(sentence)

    return draw_splits(
        "toy-translation",
        draw,
        seed=ctx.seed if config.seed is None else config.seed,
        train_size=config.train_size,
        val_size=config.val_size,
        test_size=config.test_size,
        extras={
            "task": "toy-translation",
            "source_language": "Lanic",
            "target_language": "Vorrish",
            "grammar_version": GRAMMAR_VERSION,
        },
    )
