"""GPT-1's task input transformations (Radford et al. 2018, figure 1), as pure functions.

Every labelled record becomes one or more token sequences that a left-to-right model reads whole;
the head reads the hidden state at the final ``<extract>`` token of each:

- classification: ``<start> text <extract>``
- entailment: ``<start> premise <delim> hypothesis <extract>``
- similarity: ``<start> a <delim> b <extract>`` and ``<start> b <delim> a <extract>`` (no natural
  order; the two final states are added before the head)
- multiple choice: ``<start> context <delim> choice_i <extract>`` for every choice (one score
  each, softmax over the choices)

The three markers are the tokenizer's special tokens ``<start>``, ``<delim>`` and ``<extract>``
where it has them (``tokenizer: {name: char, special_tokens: [<start>, <delim>, <extract>]}``),
otherwise text the corpus already contains (:class:`TextMarkers`, newlines by default).

Inputs longer than the model's ``block_size`` are cut so that the part that decides the label
survives: the markers are always kept, the second segment (hypothesis, choice) is kept whole when
it fits, and the first segment (text, premise, context) loses tokens *from the left* (its end, next
to the hypothesis or the question, is what matters; a sentiment review's verdict is its last clause).
Similarity trims the longer text first, the same way for both orders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SPECIAL_TOKENS = ("<start>", "<delim>", "<extract>")
"""GPT-1's three markers, as special tokens of the tokenizer."""

Encode = Callable[[str], list[int]]


@dataclass(frozen=True)
class TextMarkers:
    """Text used for a marker that the tokenizer has no special token for. It must be made of
    characters the corpus contains (a char tokenizer refuses others)."""

    start: str = "\n\n"
    delim: str = "\n"
    extract: str = "\n"


@dataclass(frozen=True)
class TaskTokens:
    """The token ids of the three markers (one id each for special tokens, or the encoding of
    their text stand-ins), and which form each takes."""

    start: tuple[int, ...]
    delim: tuple[int, ...]
    extract: tuple[int, ...]
    special: tuple[bool, bool, bool] = (True, True, True)

    @classmethod
    def from_tokenizer(
        cls, tokenizer: Any, markers: TextMarkers | None = None, use_special: bool = True
    ) -> TaskTokens:
        """Each marker is the tokenizer's special token (``token_id("<start>")`` ...) when
        ``use_special`` and the tokenizer has it, else the encoding of its text stand-in."""
        markers = markers or TextMarkers()
        texts = (markers.start, markers.delim, markers.extract)
        lookup = getattr(tokenizer, "token_id", None) if use_special else None
        ids: list[tuple[int, ...]] = []
        special: list[bool] = []
        for token, text in zip(SPECIAL_TOKENS, texts, strict=True):
            found = _special_id(lookup, token)
            if found is not None:
                ids.append((found,))
                special.append(True)
                continue
            encoded = tuple(encode_field(tokenizer.encode, text, f"the {token} stand-in text"))
            if not encoded:
                raise ValueError(f"the text stand-in for {token} encodes to no tokens")
            ids.append(encoded)
            special.append(False)
        return cls(ids[0], ids[1], ids[2], (special[0], special[1], special[2]))

    def describe(self) -> str:
        """Which form each marker takes, e.g. ``<start>=special <delim>=text``."""
        return " ".join(
            f"{name}={'special' if flag else 'text'}"
            for name, flag in zip(SPECIAL_TOKENS, self.special, strict=True)
        )


def _special_id(lookup: Callable[[str], int] | None, token: str) -> int | None:
    if not callable(lookup):
        return None
    try:
        token_id = int(lookup(token))
    except (KeyError, ValueError):
        return None
    return token_id


def encode_field(encode: Encode, text: str, where: str) -> list[int]:
    """``encode(text)``, with an error that names the record field when the tokenizer refuses a
    character it has never seen."""
    try:
        return list(encode(text))
    except ValueError as exc:
        raise ValueError(
            f"{where}: {exc}. The fine-tuning text must use the characters of the corpus the "
            "tokenizer was fitted on (pre-train on a corpus containing them, or use the char "
            "tokenizer's unknown: skip)"
        ) from None


def keep_right(ids: Sequence[int], budget: int) -> list[int]:
    """The last ``budget`` ids (cut from the left)."""
    if budget <= 0:
        return []
    return list(ids[-budget:])


def pair_sequence(
    first: Sequence[int],
    second: Sequence[int] | None,
    tokens: TaskTokens,
    block_size: int,
) -> list[int]:
    """``start first [delim second] extract``, cutting ``first`` from the left (then, only if
    still too long, ``second`` from the left) to fit ``block_size``."""
    overhead = len(tokens.start) + len(tokens.extract)
    if second is not None:
        overhead += len(tokens.delim)
    room = block_size - overhead
    if room < 2:
        raise ValueError(
            f"block_size {block_size} leaves no room for text beside the markers "
            f"({overhead} tokens)"
        )
    if second is None:
        return [*tokens.start, *keep_right(first, room), *tokens.extract]
    second = keep_right(second, room - 1)
    first = keep_right(first, room - len(second))
    return [*tokens.start, *first, *tokens.delim, *second, *tokens.extract]


def split_budget(len_a: int, len_b: int, room: int) -> tuple[int, int]:
    """How many tokens each of two texts keeps when together they must fit ``room``: both whole
    if they fit, else the shorter whole (up to half) and the longer the rest. Swapping the inputs
    swaps the outputs (the similarity transformation relies on that)."""
    if len_a + len_b <= room:
        return len_a, len_b
    half = room // 2
    keep_a, keep_b = min(len_a, half), min(len_b, half)
    spare = room - keep_a - keep_b
    if len_a > len_b:
        keep_a += min(spare, len_a - keep_a)
    elif len_b > len_a:
        keep_b += min(spare, len_b - keep_b)
    return keep_a, keep_b


def record_sequences(
    record: Mapping[str, Any],
    task_type: str,
    encode: Encode,
    tokens: TaskTokens,
    block_size: int,
) -> list[list[int]]:
    """The token sequences of one record: one for classification and entailment, two for
    similarity (both orders), one per choice for multiple choice."""

    def field(name: str, value: str | None = None) -> list[int]:
        text = record[name] if value is None else value
        if not isinstance(text, str):
            raise ValueError(f"field {name!r} must be a string, got {type(text).__name__}")
        return encode_field(encode, text, f"field {name!r}")

    if task_type == "classification":
        return [pair_sequence(field("text"), None, tokens, block_size)]
    if task_type == "entailment":
        return [pair_sequence(field("premise"), field("hypothesis"), tokens, block_size)]
    if task_type == "similarity":
        a, b = field("text_a"), field("text_b")
        room = block_size - len(tokens.start) - len(tokens.delim) - len(tokens.extract)
        keep_a, keep_b = split_budget(len(a), len(b), room)
        a, b = keep_right(a, keep_a), keep_right(b, keep_b)
        return [
            [*tokens.start, *a, *tokens.delim, *b, *tokens.extract],
            [*tokens.start, *b, *tokens.delim, *a, *tokens.extract],
        ]
    if task_type == "multiple_choice":
        context = field("context")
        choices = record["choices"]
        return [
            pair_sequence(context, field("choices", choice), tokens, block_size)
            for choice in choices
        ]
    raise ValueError(f"unknown task_type {task_type!r}")


def lm_targets(sequence: Sequence[int]) -> list[int]:
    """Next-token targets for the auxiliary LM loss: ``sequence[1:]`` and ``-1`` (ignored) at the
    last position."""
    return [*sequence[1:], -1]
