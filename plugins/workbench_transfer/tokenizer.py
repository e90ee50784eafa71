"""The ``word`` tokenizer: lowercased words, numbers and punctuation as tokens.

The vocabulary is counted from the training text: words seen at least ``min_count`` times, the
most frequent first, at most ``max_size`` tokens in all. ``<pad>`` (id 0) and ``<unk>`` (id 1)
always come first, then the configured special tokens, then the words. A word outside the
vocabulary encodes as ``<unk>``. This is the unit word2vec, ELMo and ULMFiT worked with; unlike
``char`` and ``bpe`` it does not round-trip text exactly (case and spacing are normalised), so
``decode`` re-joins tokens with the spacing English punctuation expects.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workbench.specs import TokenizerSpec
from workbench.tokenizer_files import (
    TOKENIZER_FILE,
    as_id_list,
    as_texts,
    check_special_tokens,
    read_tokenizer_payload,
    write_atomically,
)

__all__ = ["PAD", "UNK", "WORD_SPEC", "WordConfig", "WordTokenizer", "split_words"]

PAD = "<pad>"
UNK = "<unk>"

# An apostrophe suffix after a letter ("'s", "'t") is its own token so that "Prudon's" shares
# "prudon" with "Prudon"; arrows ("->") and ellipses stay whole, other punctuation is one
# character per token.
_WORD_PATTERN = re.compile(r"(?<=\w)'[^\W\d_]+|[^\W\d_]+|\d+|_+|\n|[-=]+>|\.\.\.|[^\w\s]")
_NO_SPACE_BEFORE = tuple(".,!?;:)]}%")
_NO_SPACE_AFTER = ("(", "[", "{", "\n")


def split_words(text: str, lowercase: bool = True, newlines: bool = True) -> list[str]:
    """The word tokens of ``text``: letter runs, digit runs, punctuation marks and (with
    ``newlines``) one ``"\\n"`` token per line break."""
    if lowercase:
        text = text.lower()
    tokens = _WORD_PATTERN.findall(text)
    return tokens if newlines else [t for t in tokens if t != "\n"]


def join_words(tokens: Sequence[str]) -> str:
    """Words back into text: spaces between words, none before closing punctuation or an
    apostrophe suffix, none after an opening bracket and none around line breaks."""
    parts: list[str] = []
    previous = ""
    for token in tokens:
        glue = not (
            not parts
            or token == "\n"
            or previous in _NO_SPACE_AFTER
            or token.startswith(_NO_SPACE_BEFORE)
            or (token.startswith("'") and len(token) > 1)
        )
        parts.append(" " + token if glue else token)
        previous = token
    return "".join(parts)


class WordConfig(BaseModel):
    """Options of the ``word`` tokenizer."""

    model_config = ConfigDict(extra="forbid")

    min_count: int = Field(
        1, ge=1, le=1_000_000, description="keep words seen at least this often in training text"
    )
    max_size: int = Field(
        20_000,
        ge=3,
        le=1_000_000,
        description="largest vocabulary, counting <pad>, <unk> and the special tokens",
    )
    lowercase: bool = Field(True, description="lowercase text before splitting it into words")
    newlines: bool = Field(True, description="keep each line break as a '\\n' token")
    special_tokens: list[str] = Field(
        default_factory=list,
        max_length=1024,
        description=(
            "extra tokens that take the ids after <pad> (0) and <unk> (1), e.g. ['<bos>', "
            "'<eos>']; where one occurs literally in text it encodes as that single token"
        ),
    )

    _distinct_non_empty = field_validator("special_tokens")(check_special_tokens)


class WordTokenizer:
    """Word-level tokenizer with a frequency-cut vocabulary and an ``<unk>`` token."""

    fit_from_texts = True  # the fitted tokenizer may be cached by content hash

    def __init__(self, config: WordConfig | None = None) -> None:
        self.config = config or WordConfig()
        self._itos: list[str] | None = None
        self._stoi: dict[str, int] = {}
        self._specials: list[str] = []
        self._special_pattern: re.Pattern[str] | None = None

    # -- state -----------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """Number of tokens (specials included); 0 until fitted."""
        return 0 if self._itos is None else len(self._itos)

    @property
    def special_tokens(self) -> list[str]:
        """``<pad>``, ``<unk>`` and the configured special tokens, in id order (a copy)."""
        self._require_fitted()
        return list(self._specials)

    @property
    def pattern(self) -> str:
        """The regular expression whose matches are this tokenizer's tokens (for exporters)."""
        return _WORD_PATTERN.pattern

    @property
    def words(self) -> list[str]:
        """The whole vocabulary in id order (a copy)."""
        return list(self._require_fitted())

    @property
    def pad_id(self) -> int:
        return self.token_id(PAD)

    @property
    def unk_id(self) -> int:
        return self.token_id(UNK)

    def _require_fitted(self) -> list[str]:
        if self._itos is None:
            raise RuntimeError("the word tokenizer has no vocabulary yet: call fit() or load()")
        return self._itos

    def _set_vocab(self, specials: list[str], words: list[str]) -> None:
        self._specials = specials
        self._itos = [*specials, *words]
        self._stoi = {token: i for i, token in enumerate(self._itos)}
        extra = [t for t in specials if t not in (PAD, UNK)]
        self._special_pattern = (
            re.compile(
                "(" + "|".join(re.escape(t) for t in sorted(extra, key=len, reverse=True)) + ")"
            )
            if extra
            else None
        )

    def token_id(self, token: str) -> int:
        """The id of a special token or of a word of the vocabulary."""
        self._require_fitted()
        if token in self._stoi:
            return self._stoi[token]
        shown = ", ".join(self._specials)
        raise ValueError(
            f"the word tokenizer has no token {token!r} (special tokens: {shown}); add it to "
            "the tokenizer's special_tokens"
        )

    def _split(self, text: str) -> list[str]:
        cfg = self.config
        if self._special_pattern is None:
            return split_words(text, cfg.lowercase, cfg.newlines)
        tokens: list[str] = []
        for number, piece in enumerate(self._special_pattern.split(text)):
            # re.split with one group: odd pieces are the special tokens themselves.
            if number % 2:
                tokens.append(piece)
            elif piece:
                tokens.extend(split_words(piece, cfg.lowercase, cfg.newlines))
        return tokens

    # -- Tokenizer protocol ------------------------------------------------------------------

    def fit(self, texts: Iterable[str]) -> None:
        """Count the words of ``texts`` and keep the ``max_size`` most frequent (ties broken
        alphabetically, so the vocabulary is deterministic) seen at least ``min_count`` times."""
        specials = list(dict.fromkeys([PAD, UNK, *self.config.special_tokens]))
        self._set_vocab(specials, [])  # so that _split knows the special tokens
        counts: Counter[str] = Counter()
        for text in as_texts(texts):
            counts.update(self._split(text))
        for token in specials:
            counts.pop(token, None)
        if not counts:
            raise ValueError("cannot fit the word tokenizer on text without words")
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        room = max(0, self.config.max_size - len(specials))
        words = [word for word, count in ranked if count >= self.config.min_count][:room]
        self._set_vocab(specials, words)

    def encode(self, text: str) -> list[int]:
        self._require_fitted()
        unk = self._stoi[UNK]
        return [self._stoi.get(token, unk) for token in self._split(text)]

    def decode(self, ids: Sequence[int]) -> str:
        itos = self._require_fitted()
        tokens = []
        for i in as_id_list(ids):
            if not 0 <= i < len(itos):
                raise ValueError(
                    f"token id {i} is outside the word vocabulary (0..{len(itos) - 1})"
                )
            if i != self._stoi[PAD]:
                tokens.append(itos[i])
        return join_words(tokens)

    def save(self, directory: Path) -> None:
        itos = self._require_fitted()
        payload = {
            "type": "word",
            "special_tokens": self._specials,
            "words": itos[len(self._specials) :],
            "lowercase": self.config.lowercase,
            "newlines": self.config.newlines,
        }
        write_atomically(Path(directory) / TOKENIZER_FILE, json.dumps(payload, ensure_ascii=False))

    def load(self, directory: Path) -> None:
        path, payload = read_tokenizer_payload(directory, "word")
        specials, words = payload.get("special_tokens"), payload.get("words")
        for key, value in (("special_tokens", specials), ("words", words)):
            if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
                raise ValueError(f"{path}: {key!r} must be a list of non-empty strings")
        if specials[:2] != [PAD, UNK] or len(set(specials + words)) != len(specials) + len(words):
            raise ValueError(f"{path}: the vocabulary must start with {PAD}, {UNK} and be distinct")
        # The saved splitting rules win over the config's, or ids would not line up.
        self.config = self.config.model_copy(
            update={
                "lowercase": bool(payload.get("lowercase", True)),
                "newlines": bool(payload.get("newlines", True)),
            }
        )
        self._set_vocab(specials, words)


def _make_word(config: WordConfig) -> WordTokenizer:
    return WordTokenizer(config)


WORD_SPEC = TokenizerSpec(
    name="word",
    summary="Lowercased words and punctuation, vocabulary by frequency with <unk> (word2vec, ULMFiT).",
    config=WordConfig,
    factory=_make_word,
)
