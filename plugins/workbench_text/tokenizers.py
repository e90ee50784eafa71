"""The built-in ``char`` and ``bpe`` tokenizers.

``char`` maps every distinct character of the training text to an id (sorted, so the vocabulary is
deterministic: nanoGPT's ``shakespeare_char`` setup, where tinyshakespeare gives 65 tokens).
Optional special tokens (``<pad>``, ``<bos>``, ``<eos>`` for seq2seq) take the first ids, before
the characters.

``bpe`` is a byte-level BPE trained with the Hugging Face ``tokenizers`` library (the GPT-2
recipe): text is turned into UTF-8 bytes, each byte is a base token, and merges learnt from the
corpus are applied on top. Every string, including characters never seen in training, round-trips
exactly through ``decode(encode(text))``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from workbench.specs import TokenizerSpec
from workbench.tokenizer_files import (
    TOKENIZER_FILE,
    as_id_list,
    as_texts,
    check_special_tokens,
    read_tokenizer_file,
    read_tokenizer_payload,
    write_atomically,
)

BYTE_ALPHABET_SIZE = 256
"""Base tokens of a byte-level BPE: one per byte value."""


# ---------------------------------------------------------------------------------------------
# Character-level tokenizer
# ---------------------------------------------------------------------------------------------


class CharConfig(BaseModel):
    """Options of the ``char`` tokenizer."""

    model_config = ConfigDict(extra="forbid")

    unknown: Literal["error", "skip"] = Field(
        default="error",
        description=(
            "What encoding does with a character that was not in the training text: 'error' "
            "raises an error naming the character and its position, 'skip' silently drops it."
        ),
    )
    special_tokens: list[str] = Field(
        default_factory=list,
        max_length=1024,
        description=(
            "Extra tokens that take the first ids (0, 1, ...), before the characters, e.g. "
            "['<pad>', '<bos>', '<eos>'] for seq2seq. They are never produced by encoding text "
            "(a literal '<eos>' in the text encodes as five characters); decoding gives them back "
            "as their strings."
        ),
    )

    _distinct_non_empty = field_validator("special_tokens")(check_special_tokens)


class CharTokenizer:
    """One token per distinct character of the training text, ids in sorted character order after
    the special tokens (if any)."""

    fit_from_texts = True  # the fitted tokenizer may be cached by content hash

    def __init__(self, config: CharConfig | None = None) -> None:
        self.config = config or CharConfig()
        self._chars: list[str] | None = None
        self._specials: list[str] = []
        self._stoi: dict[str, int] = {}
        self._itos: dict[int, str] = {}

    # -- state -----------------------------------------------------------------------------

    @property
    def chars(self) -> list[str]:
        """The vocabulary, in id order (a copy)."""
        return list(self._require_fitted())

    @property
    def special_tokens(self) -> list[str]:
        """The special tokens, in id order (ids ``0 .. len - 1``; a copy)."""
        self._require_fitted()
        return list(self._specials)

    @property
    def vocab_size(self) -> int:
        """Number of special tokens plus characters; 0 until fitted (it does not raise, so that
        ``isinstance(tokenizer, Tokenizer)`` works on an unfitted one under Python 3.11)."""
        return 0 if self._chars is None else len(self._specials) + len(self._chars)

    def _require_fitted(self) -> list[str]:
        if self._chars is None:
            raise RuntimeError(
                "the char tokenizer has no vocabulary yet: call fit() or load() first"
            )
        return self._chars

    def _set_vocab(self, specials: list[str], chars: list[str]) -> None:
        self._chars = chars
        self._specials = specials
        offset = len(specials)
        self._stoi = {c: offset + i for i, c in enumerate(chars)}
        self._itos = dict(enumerate([*specials, *chars]))

    def token_id(self, token: str) -> int:
        """The id of a special token, or of a single character of the vocabulary."""
        self._require_fitted()
        if token in self._specials:
            return self._specials.index(token)
        if token in self._stoi:
            return self._stoi[token]
        shown = ", ".join(self._specials) or "none"
        raise ValueError(
            f"the char tokenizer has no token {token!r} (special tokens: {shown}); add it to "
            "the tokenizer's special_tokens"
        )

    # -- Tokenizer protocol ------------------------------------------------------------------

    def fit(self, texts: Iterable[str]) -> None:
        """Build the vocabulary from every character seen in ``texts`` (replacing any previous one)."""
        seen: set[str] = set()
        for text in as_texts(texts):
            seen.update(text)
        if not seen:
            raise ValueError("cannot fit the char tokenizer on empty text")
        self._set_vocab(list(self.config.special_tokens), sorted(seen))

    def encode(self, text: str) -> list[int]:
        self._require_fitted()
        stoi = self._stoi
        if self.config.unknown == "skip":
            return [stoi[c] for c in text if c in stoi]
        try:
            return [stoi[c] for c in text]
        except KeyError:
            position, char = next((i, c) for i, c in enumerate(text) if c not in stoi)
            raise ValueError(
                f"unknown character {char!r} at position {position}: it was not in the text the "
                "char tokenizer was fitted on (set unknown: skip to drop such characters)"
            ) from None

    def decode(self, ids: Sequence[int]) -> str:
        self._require_fitted()
        itos = self._itos
        id_list = as_id_list(ids)
        try:
            return "".join([itos[i] for i in id_list])
        except KeyError:
            bad = next(i for i in id_list if i not in itos)
            raise ValueError(
                f"token id {bad} is outside the char vocabulary (0..{len(itos) - 1})"
            ) from None

    def save(self, directory: Path) -> None:
        chars = self._require_fitted()
        payload: dict[str, Any] = {"type": "char", "chars": chars}
        if self._specials:
            payload["special_tokens"] = self._specials
        write_atomically(Path(directory) / TOKENIZER_FILE, json.dumps(payload, ensure_ascii=False))

    def load(self, directory: Path) -> None:
        path, payload = read_tokenizer_payload(directory, "char")
        chars = payload.get("chars")
        if (
            not isinstance(chars, list)
            or not chars
            or not all(isinstance(c, str) and len(c) == 1 for c in chars)
            or len(set(chars)) != len(chars)
        ):
            raise ValueError(f"{path}: 'chars' must be a non-empty list of distinct characters")
        specials = payload.get("special_tokens", [])
        if (
            not isinstance(specials, list)
            or not all(isinstance(t, str) and t for t in specials)
            or len(set(specials)) != len(specials)
        ):
            raise ValueError(f"{path}: 'special_tokens' must be a list of distinct strings")
        self._set_vocab(specials, chars)


# ---------------------------------------------------------------------------------------------
# Byte-level BPE tokenizer
# ---------------------------------------------------------------------------------------------


class BPEConfig(BaseModel):
    """Options of the ``bpe`` tokenizer."""

    model_config = ConfigDict(extra="forbid")

    vocab_size: int = Field(
        default=512,
        ge=BYTE_ALPHABET_SIZE,
        le=65536,
        description=(
            "Largest vocabulary to learn, counting the 256 byte tokens and the special tokens "
            "(so at least 256 + the number of special tokens). A small corpus may stop short of it."
        ),
    )
    min_frequency: int = Field(
        default=2,
        ge=1,
        le=1_000_000,
        description="How many times a pair of tokens must occur in the training text to be merged.",
    )
    special_tokens: list[str] = Field(
        default_factory=lambda: ["<|endoftext|>"],
        max_length=1024,
        description=(
            "Tokens kept whole and given the first ids (e.g. the '<|endoftext|>' document "
            "separator); where they occur in text they encode as a single token."
        ),
    )

    _distinct_non_empty = field_validator("special_tokens")(check_special_tokens)

    @model_validator(mode="after")
    def _room_for_bytes(self) -> BPEConfig:
        needed = BYTE_ALPHABET_SIZE + len(self.special_tokens)
        if self.vocab_size < needed:
            raise ValueError(
                f"vocab_size must be at least {needed} (256 byte tokens + "
                f"{len(self.special_tokens)} special tokens), got {self.vocab_size}"
            )
        return self


class BPETokenizer:
    """Byte-level BPE (GPT-2 style) trained with Hugging Face ``tokenizers``."""

    fit_from_texts = True  # the fitted tokenizer may be cached by content hash

    def __init__(self, config: BPEConfig | None = None) -> None:
        self.config = config or BPEConfig()
        self._tokenizer: Any = None  # tokenizers.Tokenizer once fitted or loaded

    # -- state -----------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """The trained vocabulary size (specials included), at most ``config.vocab_size``; 0 until
        fitted (it does not raise, so ``isinstance(tokenizer, Tokenizer)`` works unfitted)."""
        if self._tokenizer is None:
            return 0
        return self._tokenizer.get_vocab_size(with_added_tokens=True)

    @property
    def special_token_ids(self) -> dict[str, int]:
        """Id of each special token of the fitted tokenizer."""
        tokenizer = self._require_fitted()
        return {
            token.content: token_id
            for token_id, token in tokenizer.get_added_tokens_decoder().items()
            if token.special
        }

    def _require_fitted(self) -> Any:
        if self._tokenizer is None:
            raise RuntimeError("the BPE tokenizer is not trained yet: call fit() or load() first")
        return self._tokenizer

    def token_id(self, token: str) -> int:
        """The id of a token of the vocabulary, e.g. a special token such as ``<|endoftext|>``."""
        token_id = self._require_fitted().token_to_id(token)
        if token_id is None:
            shown = ", ".join(self.special_token_ids) or "none"
            raise ValueError(
                f"the BPE tokenizer has no token {token!r} (special tokens: {shown}); add it to "
                "the tokenizer's special_tokens"
            )
        return int(token_id)

    @staticmethod
    def _blank() -> Any:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers

        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        return tokenizer

    # -- Tokenizer protocol ------------------------------------------------------------------

    def fit(self, texts: Iterable[str]) -> None:
        """Learn merges from ``texts`` (replacing any previous training)."""
        from tokenizers import pre_tokenizers, trainers

        trainer = trainers.BpeTrainer(
            vocab_size=self.config.vocab_size,
            min_frequency=self.config.min_frequency,
            special_tokens=list(self.config.special_tokens),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tokenizer = self._blank()
        tokenizer.train_from_iterator(iter(as_texts(texts)), trainer=trainer)
        self._tokenizer = tokenizer

    def encode(self, text: str) -> list[int]:
        return self._require_fitted().encode(text, add_special_tokens=False).ids

    def decode(self, ids: Sequence[int]) -> str:
        tokenizer = self._require_fitted()
        id_list = as_id_list(ids)
        if id_list:
            size = tokenizer.get_vocab_size(with_added_tokens=True)
            low, high = min(id_list), max(id_list)
            if low < 0 or high >= size:
                bad = low if low < 0 else high
                raise ValueError(f"token id {bad} is outside the BPE vocabulary (0..{size - 1})")
        # Special tokens are kept so that decode(encode(text)) == text even when the text
        # contains one of them literally.
        return tokenizer.decode(id_list, skip_special_tokens=False)

    def save(self, directory: Path) -> None:
        tokenizer = self._require_fitted()
        write_atomically(Path(directory) / TOKENIZER_FILE, tokenizer.to_str())

    def load(self, directory: Path) -> None:
        from tokenizers import Tokenizer

        path, text = read_tokenizer_file(directory)
        try:
            tokenizer = Tokenizer.from_str(text)
        except Exception as error:  # the library raises a bare Exception on malformed files
            raise ValueError(f"{path} does not hold a Hugging Face tokenizer: {error}") from error
        self._tokenizer = tokenizer


# ---------------------------------------------------------------------------------------------
# Specs
# ---------------------------------------------------------------------------------------------


def _make_char(config: CharConfig) -> CharTokenizer:
    return CharTokenizer(config)


def _make_bpe(config: BPEConfig) -> BPETokenizer:
    return BPETokenizer(config)


CHAR_SPEC = TokenizerSpec(
    name="char",
    summary="One token per character seen in the training text (nanoGPT shakespeare_char).",
    config=CharConfig,
    factory=_make_char,
)

BPE_SPEC = TokenizerSpec(
    name="bpe",
    summary="Byte-level BPE trained on the corpus (GPT-2 style); round-trips any Unicode text.",
    config=BPEConfig,
    factory=_make_bpe,
)

__all__ = [
    "BPE_SPEC",
    "BPEConfig",
    "BPETokenizer",
    "CHAR_SPEC",
    "CharConfig",
    "CharTokenizer",
    "TOKENIZER_FILE",
]
