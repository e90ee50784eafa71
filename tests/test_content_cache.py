"""The home's content-addressed cache of tokenizer fits, encodings and the synthetic corpus
(issue 15): a hit does not do the work again and gives the same result; changed content, options
or generator version miss."""

from __future__ import annotations

from pathlib import Path

import torch
from test_synthetic import TINY

from workbench import content_cache
from workbench_text.tokenizers import CharTokenizer


class CountingChar(CharTokenizer):
    """A char tokenizer that counts its fits and encodings."""

    fits = 0
    encodes = 0

    def fit(self, texts) -> None:  # noqa: ANN001
        type(self).fits += 1
        super().fit(texts)

    def encode(self, text: str) -> list[int]:
        type(self).encodes += 1
        return super().encode(text)


IDENTITY = {"tokenizer": "char", "options": {}}


def fitted(texts: list[str], cache: Path, identity: dict = IDENTITY) -> tuple[CountingChar, bool]:
    tok = CountingChar()
    hit = content_cache.fit_tokenizer(tok, texts, identity, cache)
    return tok, hit


def test_a_second_fit_of_the_same_texts_is_loaded_not_fitted(tmp_path: Path) -> None:
    CountingChar.fits = 0
    first, hit1 = fitted(["hello", "world"], tmp_path)
    second, hit2 = fitted(["hello", "world"], tmp_path)
    assert (hit1, hit2) == (False, True)
    assert CountingChar.fits == 1
    assert second.vocab_size == first.vocab_size
    assert second.encode("low") == first.encode("low")


def test_changed_texts_or_options_fit_again(tmp_path: Path) -> None:
    CountingChar.fits = 0
    fitted(["hello", "world"], tmp_path)
    _, hit = fitted(["hello", "worlds"], tmp_path)  # content changed
    assert not hit
    _, hit = fitted(["hellow", "orld"], tmp_path)  # same characters, split differently
    assert not hit
    _, hit = fitted(["hello", "world"], tmp_path, {"tokenizer": "char", "options": {"x": 1}})
    assert not hit
    assert CountingChar.fits == 4


def test_an_unreadable_entry_is_fitted_again(tmp_path: Path) -> None:
    fitted(["hello"], tmp_path)
    (entry,) = (tmp_path / content_cache.TOKENIZERS).iterdir()
    for file in entry.iterdir():
        file.write_text("not a tokenizer")
    CountingChar.fits = 0
    tok, hit = fitted(["hello"], tmp_path)
    assert not hit and CountingChar.fits == 1
    assert tok.decode(tok.encode("hole")) == "hole"
    _, hit = fitted(["hello"], tmp_path)  # stored again, readable this time
    assert hit


def test_an_encoding_is_read_back_until_the_text_or_tokenizer_changes(tmp_path: Path) -> None:
    tok, _ = fitted(["abcdef"], tmp_path)
    CountingChar.encodes = 0
    first = content_cache.encode(tok, "abcabc", tmp_path)
    again = content_cache.encode(tok, "abcabc", tmp_path)
    assert CountingChar.encodes == 1
    assert again.dtype == torch.long and torch.equal(first, again)
    assert torch.equal(first, torch.tensor(tok.encode("abcabc")))

    content_cache.encode(tok, "abcabd", tmp_path)  # another text
    other, _ = fitted(["abcdefg"], tmp_path)  # another vocabulary: other ids possible
    content_cache.encode(other, "abcabc", tmp_path)
    assert CountingChar.encodes == 4  # the first, the check above, the new text, the new vocabulary


def test_the_synthetic_corpus_is_generated_once_per_options_seed_and_version(
    tmp_path: Path, monkeypatch
) -> None:
    from workbench.specs import DatasetContext
    from workbench_synthetic import SyntheticConfig, views

    made: list[int] = []
    real = views.generate_corpus

    def counting(config, seed):  # noqa: ANN001, ANN202
        made.append(seed)
        return real(config, seed)

    monkeypatch.setattr(views, "generate_corpus", counting)
    config = SyntheticConfig(**TINY)
    ctx = DatasetContext(cache_dir=tmp_path, seed=5, home=tmp_path)
    first = views.load_synthetic_corpus(config, ctx)
    again = views.load_synthetic_corpus(config, ctx)
    assert made == [5]  # read back, not generated again
    assert again == first == real(config, 5)

    views.load_synthetic_corpus(config, DatasetContext(cache_dir=tmp_path, seed=6, home=tmp_path))
    views.load_synthetic_corpus(config.model_copy(update={"n_entities": 41}), ctx)
    monkeypatch.setattr(views, "GENERATOR_VERSION", views.GENERATOR_VERSION + 1)
    views.load_synthetic_corpus(config, ctx)  # the generator changed: its old output is stale
    assert made == [5, 6, 5, 5]

    outside = DatasetContext(cache_dir=tmp_path / "elsewhere", seed=5)  # no home: no cache
    views.load_synthetic_corpus(config, outside)
    assert made == [5, 6, 5, 5, 5]
    assert not (tmp_path / "elsewhere").exists()
