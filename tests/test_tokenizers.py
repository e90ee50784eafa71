"""Tests for the built-in ``char`` and ``bpe`` tokenizers (``workbench_text.tokenizers``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from workbench.protocols import Tokenizer
from workbench_text.tokenizers import (
    BPE_SPEC,
    CHAR_SPEC,
    BPEConfig,
    BPETokenizer,
    CharConfig,
    CharTokenizer,
)

CORPUS = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\n"
    "All:\nSpeak, speak.\n\n"
    "First Citizen:\nYou are all resolved rather to die than to famish?\n\n"
    "All:\nResolved. resolved.\n"
) * 20 + "Café naïve — 東京 😀 e\u0301\n"


def _char(texts: list[str], unknown: str = "error") -> CharTokenizer:
    tokenizer = CharTokenizer(CharConfig(unknown=unknown))
    tokenizer.fit(texts)
    return tokenizer


# ---------------------------------------------------------------------------------------------
# char
# ---------------------------------------------------------------------------------------------


def test_char_fit_encode_decode() -> None:
    tokenizer = _char(["hello world"])
    assert tokenizer.vocab_size == len(set("hello world")) == 8
    ids = tokenizer.encode("hello world")
    assert len(ids) == len("hello world")
    assert all(0 <= i < tokenizer.vocab_size for i in ids)
    assert tokenizer.decode(ids) == "hello world"
    assert tokenizer.decode([]) == ""
    assert tokenizer.encode("") == []


def test_char_vocab_is_sorted_and_deterministic() -> None:
    a = _char(["banana", "apple\n"])
    b = _char(["\nelppa", "ananab"])
    assert a.chars == b.chars == sorted(set("banana apple\n") - {" "})
    # ids follow code point order
    assert a.encode("\nab") == [0, 1, 2]


def test_char_fit_accepts_a_lone_string_and_refits() -> None:
    tokenizer = _char(["xyz"])
    tokenizer.fit("abc")  # a plain string is one text, not an iterable of texts
    assert tokenizer.chars == ["a", "b", "c"]


def test_char_unknown_character_error_names_it_and_its_position() -> None:
    tokenizer = _char(["abc"])
    with pytest.raises(ValueError, match=r"unknown character '\\n' at position 3"):
        tokenizer.encode("abc\nabc")
    with pytest.raises(ValueError, match=r"'😀' at position 1"):
        tokenizer.encode("a😀")


def test_char_unknown_skip_drops_the_character() -> None:
    tokenizer = _char(["abc"], unknown="skip")
    assert tokenizer.decode(tokenizer.encode("a-b-c!")) == "abc"


def test_char_decode_rejects_out_of_range_ids() -> None:
    tokenizer = _char(["abc"])
    with pytest.raises(ValueError, match="token id 3"):
        tokenizer.decode([0, 3])
    with pytest.raises(ValueError, match="token id -1"):
        tokenizer.decode([-1])


def test_char_save_and_load(tmp_path: Path) -> None:
    tokenizer = _char([CORPUS])
    tokenizer.save(tmp_path / "tok")
    payload = json.loads((tmp_path / "tok" / "tokenizer.json").read_text(encoding="utf-8"))
    assert payload["type"] == "char"
    assert payload["chars"] == tokenizer.chars

    restored = CharTokenizer()
    restored.load(tmp_path / "tok")
    assert restored.vocab_size == tokenizer.vocab_size
    assert restored.encode(CORPUS) == tokenizer.encode(CORPUS)
    assert restored.decode(tokenizer.encode(CORPUS)) == CORPUS


def test_char_load_rejects_other_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        CharTokenizer().load(tmp_path)
    (tmp_path / "tokenizer.json").write_text('{"type": "bpe"}', encoding="utf-8")
    with pytest.raises(ValueError, match="char tokenizer"):
        CharTokenizer().load(tmp_path)


def test_char_before_fit_errors(tmp_path: Path) -> None:
    tokenizer = CharTokenizer()
    assert tokenizer.vocab_size == 0
    with pytest.raises(RuntimeError, match="fit"):
        tokenizer.encode("a")
    with pytest.raises(RuntimeError, match="fit"):
        tokenizer.decode([0])
    with pytest.raises(RuntimeError, match="fit"):
        tokenizer.save(tmp_path)


def test_char_encodes_a_megabyte_quickly() -> None:
    text = CORPUS * (1_000_000 // len(CORPUS) + 1)
    tokenizer = _char([text])
    start = time.perf_counter()
    ids = tokenizer.encode(text)
    elapsed = time.perf_counter() - start
    assert len(ids) == len(text)
    assert tokenizer.decode(ids) == text
    assert elapsed < 5.0


def test_char_config_rejects_unknown_values() -> None:
    with pytest.raises(ValidationError, match="unknown"):
        CharConfig(unknown="replace")
    with pytest.raises(ValidationError, match="extra"):
        CharConfig.model_validate({"unknown": "skip", "lowercase": True})


# ---------------------------------------------------------------------------------------------
# bpe
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bpe() -> BPETokenizer:
    tokenizer = BPETokenizer(BPEConfig(vocab_size=400))
    tokenizer.fit([CORPUS])
    return tokenizer


@settings(max_examples=100, deadline=None)
@given(text=st.text())
@example(text="")
@example(text="\x00")
@example(text="  leading spaces and trailing  ")
@example(text="\n\n\r\n\t")
@example(text="e\u0301 a\u0308\u0323 🇫🇷 👩‍👩‍👧 😀")
@example(text="<|endoftext|>between<|endoftext|>")
@example(text="東京 한국어 العربية \U0010ffff \ufeff")
def test_bpe_round_trips_arbitrary_unicode(bpe: BPETokenizer, text: str) -> None:
    ids = bpe.encode(text)
    assert all(0 <= i < bpe.vocab_size for i in ids)
    assert bpe.decode(ids) == text


def test_bpe_merges_and_keeps_special_tokens_whole(bpe: BPETokenizer) -> None:
    text = "First Citizen:\nSpeak, speak."
    assert len(bpe.encode(text)) < len(text.encode("utf-8"))  # merges were learnt
    eot = bpe.special_token_ids["<|endoftext|>"]
    assert bpe.encode("<|endoftext|>") == [eot]


def test_bpe_vocab_size_respected() -> None:
    tokenizer = BPETokenizer(BPEConfig(vocab_size=300, min_frequency=1))
    tokenizer.fit([CORPUS])
    assert tokenizer.vocab_size == 300
    assert max(tokenizer.encode(CORPUS)) < 300

    small = BPETokenizer(BPEConfig(vocab_size=5000))
    small.fit(["tiny text"])  # too little text to reach 5000: the trained size is reported
    assert 257 <= small.vocab_size < 5000


def test_bpe_save_and_load_give_identical_ids(bpe: BPETokenizer, tmp_path: Path) -> None:
    bpe.save(tmp_path)
    assert (tmp_path / "tokenizer.json").is_file()
    restored = BPETokenizer()
    restored.load(tmp_path)
    assert restored.vocab_size == bpe.vocab_size
    sample = CORPUS + " unseen ✓ text\x00"
    assert restored.encode(sample) == bpe.encode(sample)
    assert restored.decode(bpe.encode(sample)) == sample


def test_bpe_load_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        BPETokenizer().load(tmp_path)
    (tmp_path / "tokenizer.json").write_text('{"type": "char", "chars": ["a"]}', encoding="utf-8")
    with pytest.raises(ValueError, match="tokenizer.json"):
        BPETokenizer().load(tmp_path)


def test_bpe_before_fit_errors(tmp_path: Path) -> None:
    tokenizer = BPETokenizer()
    assert tokenizer.vocab_size == 0
    with pytest.raises(RuntimeError, match="not trained"):
        tokenizer.encode("hello")
    with pytest.raises(RuntimeError, match="not trained"):
        tokenizer.decode([1, 2])
    with pytest.raises(RuntimeError, match="not trained"):
        tokenizer.save(tmp_path)


def test_bpe_decode_rejects_out_of_range_ids(bpe: BPETokenizer) -> None:
    with pytest.raises(ValueError, match=f"token id {bpe.vocab_size}"):
        bpe.decode([0, bpe.vocab_size])


def test_bpe_config_bounds() -> None:
    assert BPEConfig().vocab_size == 512
    assert BPEConfig().special_tokens == ["<|endoftext|>"]
    assert BPEConfig(vocab_size=256, special_tokens=[]).vocab_size == 256
    with pytest.raises(ValidationError, match="at least 258"):
        BPEConfig(vocab_size=257, special_tokens=["<a>", "<b>"])
    with pytest.raises(ValidationError, match="vocab_size"):
        BPEConfig(vocab_size=100)
    with pytest.raises(ValidationError, match="vocab_size"):
        BPEConfig(vocab_size=70000)
    with pytest.raises(ValidationError, match="distinct"):
        BPEConfig(special_tokens=["<a>", "<a>"])
    with pytest.raises(ValidationError, match="extra"):
        BPEConfig.model_validate({"vocab_size": 512, "merges": 3})


# ---------------------------------------------------------------------------------------------
# specs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "cls"), [(CHAR_SPEC, CharTokenizer), (BPE_SPEC, BPETokenizer)])
def test_spec_factories_give_unfitted_tokenizers(spec, cls) -> None:
    config = spec.config()
    tokenizer = spec.factory(config)
    assert isinstance(tokenizer, cls)
    assert isinstance(tokenizer, Tokenizer)
    assert tokenizer.config is config
    assert tokenizer.vocab_size == 0
    for name, field in spec.config.model_fields.items():
        assert field.description, f"{spec.name}.{name} has no description"


def test_spec_names() -> None:
    assert (CHAR_SPEC.name, BPE_SPEC.name) == ("char", "bpe")
    assert CHAR_SPEC.summary and BPE_SPEC.summary
