"""Prompt tasks designed for in-context learning: per-prompt mappings and a GPT-3-like word task.

Three *episodic* tasks draw a fresh mapping for every prompt, so a query's answer is only
recoverable from the demonstrations of the same prompt (Chan et al. 2022: items whose label
depends on the context; Olsson et al. 2022: copying from context is what induction heads do).
With no demonstration the model can only guess, so ``k = 0`` is honest chance and any rise with
``k`` is in-context learning:

* ``letter-map``: 4 letters, each mapped to a random letter (``q -> f``);
* ``word-map``: 3 invented words, each mapped to a different pet or food (``vop -> owl``);
* ``category-label``: 2 of the kinds the corpus teaches (pets, foods, jobs, towns), each given a
  random capital letter as its label (``bread -> K``, ``owl -> D``, ``soup -> K``).

The lines of an episode draw their inputs independently from the episode's small domain, so
sequences are *bursty*: an input recurs within a prompt, and the more demonstrations there are,
the likelier the query's input (or its kind) has been shown.

One word task, ``random-insertion`` (GPT-3's "random insertion in word"), removes symbols
inserted between the letters of a word of the corpus's vocabulary (``p.a!r-rot -> parrot``); its
held-out inputs never occur in the text.

Held-out *episodes* carry their own demonstration pool (``"demos"``, consistent with the
episode's mapping), from which an evaluator draws the ``k`` demonstrations.
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence

from workbench_synthetic.lexicon import FOODS, JOBS, PETS
from workbench_synthetic.world import _RESERVED, World

LETTER_MAP_DOMAIN = 4
"""Letters per ``letter-map`` prompt."""
WORD_MAP_DOMAIN = 3
"""Invented words per ``word-map`` prompt."""
CATEGORY_LABEL_KINDS = 2
"""Kinds per ``category-label`` prompt."""
WORD_MAP_OUTPUTS: tuple[str, ...] = PETS + FOODS
"""What ``word-map`` maps its invented words to."""
INSERTED_SYMBOLS = ".,;!?-/"
"""Symbols ``random-insertion`` puts between letters."""
INSERTION_WORDS: tuple[str, ...] = tuple(w for w in PETS + FOODS + JOBS if 3 <= len(w) <= 8)
"""Words ``random-insertion`` scrambles: the corpus's pets, foods and jobs."""

_LETTERS = string.ascii_lowercase
_LABELS = string.ascii_uppercase


def category_members(world: World) -> dict[str, list[str]]:
    """The kinds ``category-label`` draws from, with their members."""
    return {
        "pet": list(PETS),
        "food": list(FOODS),
        "job": list(JOBS),
        "town": [t.name for t in world.towns],
    }


def _nonce_word(rng: random.Random) -> str:
    while True:
        word = "".join(rng.choice(_LETTERS) for _ in range(3))
        if word not in _RESERVED:
            return word


def episode(task: str, rng: random.Random, count: int, world: World) -> list[tuple[str, str]]:
    """``count`` ``(input, output)`` lines of one prompt of an episodic ``task``: a mapping drawn
    for this prompt alone, inputs drawn independently (with repeats) from its small domain."""
    if task == "letter-map":
        domain = rng.sample(_LETTERS, LETTER_MAP_DOMAIN)
        mapping = {x: rng.choice(_LETTERS) for x in domain}
        inputs = [rng.choice(domain) for _ in range(count)]
        return [(x, mapping[x]) for x in inputs]
    if task == "word-map":
        domain: list[str] = []
        while len(domain) < WORD_MAP_DOMAIN:
            word = _nonce_word(rng)
            if word not in domain:
                domain.append(word)
        mapping = dict(zip(domain, rng.sample(WORD_MAP_OUTPUTS, WORD_MAP_DOMAIN), strict=True))
        inputs = [rng.choice(domain) for _ in range(count)]
        return [(x, mapping[x]) for x in inputs]
    if task == "category-label":
        members = category_members(world)
        kinds = rng.sample(sorted(members), CATEGORY_LABEL_KINDS)
        labels = dict(zip(kinds, rng.sample(_LABELS, CATEGORY_LABEL_KINDS), strict=True))
        lines = []
        for _ in range(count):
            kind = rng.choice(kinds)
            lines.append((rng.choice(members[kind]), labels[kind]))
        return lines
    raise KeyError(f"not an episodic prompt task: {task!r}")


def heldout_episodes(
    task: str, rng: random.Random, n: int, pool_size: int, world: World
) -> list[dict[str, object]]:
    """``n`` evaluation items of an episodic ``task``: each is one prompt's mapping, as a query
    (``input``, ``output``) and ``pool_size`` demonstrations of the same mapping (``demos``)."""
    items: list[dict[str, object]] = []
    for _ in range(n):
        *pool, (query, answer) = episode(task, rng, pool_size + 1, world)
        items.append(
            {
                "input": query,
                "output": answer,
                "demos": [{"input": i, "output": o} for i, o in pool],
            }
        )
    return items


def insert_symbols(word: str, rng: random.Random) -> str:
    """``word`` with a random symbol in some of the gaps between its letters (at least one)."""
    gaps = [rng.random() < 0.5 for _ in range(len(word) - 1)]
    if not any(gaps):
        gaps[rng.randrange(len(gaps))] = True
    out = [word[0]]
    for letter, gap in zip(word[1:], gaps, strict=True):
        if gap:
            out.append(rng.choice(INSERTED_SYMBOLS))
        out.append(letter)
    return "".join(out)


def remove_symbols(text: str) -> str:
    """The answer of ``random-insertion``: the input without its inserted symbols."""
    return "".join(ch for ch in text if ch not in INSERTED_SYMBOLS)


def random_insertion_input(rng: random.Random, words: Sequence[str] = INSERTION_WORDS) -> str:
    """One ``random-insertion`` input: a vocabulary word with symbols inserted."""
    return insert_symbols(rng.choice(words), rng)
