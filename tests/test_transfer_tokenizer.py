"""The ``word`` tokenizer: splitting, the frequency-cut vocabulary, special tokens, decoding and
saving."""

from __future__ import annotations

import json

import pytest

from workbench.protocols import Tokenizer
from workbench.registry import load_registry
from workbench_transfer.tokenizer import WordConfig, WordTokenizer, join_words, split_words

TEXT = "The cat sat. The cat ran!\nA dog sat, then the dog's owner (Tom) left -> home."


def fitted(**options) -> WordTokenizer:
    tokenizer = WordTokenizer(WordConfig(**options))
    tokenizer.fit([TEXT])
    return tokenizer


def test_splits_words_numbers_punctuation_and_newlines():
    assert split_words("Prudon's 12 cats -> (sad)!\nOK") == [
        "prudon", "'s", "12", "cats", "->", "(", "sad", ")", "!", "\n", "ok",
    ]  # fmt: skip
    assert split_words("A b\nC", lowercase=False, newlines=False) == ["A", "b", "C"]


def test_vocabulary_starts_with_pad_and_unk_then_words_by_frequency():
    tokenizer = fitted()
    words = tokenizer.words
    assert words[:2] == ["<pad>", "<unk>"]
    assert tokenizer.pad_id == 0 and tokenizer.unk_id == 1
    # "the" (3) before "cat"/"dog"/"sat" (2 each, alphabetical) before words seen once.
    assert words[2:6] == ["the", ".", "cat", "dog"]
    assert tokenizer.vocab_size == len(set(split_words(TEXT))) + 2
    assert isinstance(tokenizer, Tokenizer)


def test_min_count_and_max_size_cut_the_vocabulary():
    assert fitted(min_count=2).words == ["<pad>", "<unk>", "the", ".", "cat", "dog", "sat"]
    assert fitted(max_size=4).words == ["<pad>", "<unk>", "the", "."]


def test_unknown_words_encode_as_unk_and_case_is_folded():
    tokenizer = fitted(min_count=2)
    assert tokenizer.encode("THE Cat flew.") == [2, 4, 1, 3]


def test_decode_rejoins_punctuation_sensibly_and_drops_padding():
    tokenizer = fitted()
    ids = tokenizer.encode("the dog's owner (Tom) sat, then ran!\na cat.")
    assert tokenizer.decode([0, *ids, 0]) == "the dog's owner (tom) sat, then ran!\na cat."
    assert join_words(["a", "->", "b", "\n", "c"]) == "a -> b\nc"
    with pytest.raises(ValueError, match="outside the word vocabulary"):
        tokenizer.decode([tokenizer.vocab_size])


def test_special_tokens_take_the_ids_after_pad_and_unk_and_encode_whole():
    tokenizer = fitted(special_tokens=["<start>", "<extract>"])
    assert tokenizer.special_tokens == ["<pad>", "<unk>", "<start>", "<extract>"]
    assert tokenizer.token_id("<start>") == 2 and tokenizer.token_id("<extract>") == 3
    assert tokenizer.token_id("cat") == tokenizer.encode("cat")[0]
    ids = tokenizer.encode("<start>The cat<extract>")
    assert ids == [2, tokenizer.token_id("the"), tokenizer.token_id("cat"), 3]
    assert tokenizer.decode(ids) == "<start> the cat <extract>"
    with pytest.raises(ValueError, match="no token '<delim>'"):
        tokenizer.token_id("<delim>")


def test_save_and_load_round_trip(tmp_path):
    tokenizer = fitted(special_tokens=["<start>"], min_count=2)
    tokenizer.save(tmp_path)
    payload = json.loads((tmp_path / "tokenizer.json").read_text())
    assert payload["type"] == "word"
    other = WordTokenizer()  # default options: the saved ones win
    other.load(tmp_path)
    assert other.words == tokenizer.words
    assert other.encode(TEXT) == tokenizer.encode(TEXT)
    (tmp_path / "tokenizer.json").write_text(json.dumps({"type": "char", "chars": ["a"]}))
    with pytest.raises(ValueError, match="does not hold a word tokenizer"):
        other.load(tmp_path)


def test_unfitted_and_empty_inputs_are_refused():
    tokenizer = WordTokenizer()
    assert tokenizer.vocab_size == 0
    with pytest.raises(RuntimeError, match="no vocabulary yet"):
        tokenizer.encode("x")
    with pytest.raises(ValueError, match="without words"):
        tokenizer.fit(["   \t "])


def test_registered_with_validated_options():
    registry = load_registry()
    spec = registry.tokenizer("word")
    assert spec.config is WordConfig
    with pytest.raises(ValueError):
        WordConfig(special_tokens=["<a>", "<a>"])
    with pytest.raises(ValueError):
        WordConfig(min_count=0)
