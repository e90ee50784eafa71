"""Tests for the ``text-file`` and ``url`` datasets (``workbench_text.datasets``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pydantic import ValidationError

from workbench.data import TextCorpus
from workbench.specs import DatasetContext
from workbench_text.datasets import (
    TEXT_FILE_SPEC,
    URL_SPEC,
    TextFileConfig,
    UrlConfig,
    split_text,
)


def _ctx(tmp_path: Path) -> DatasetContext:
    return DatasetContext(cache_dir=tmp_path / "cache", seed=0)


def _load_file(tmp_path: Path, **options) -> TextCorpus:
    return TEXT_FILE_SPEC.factory(TEXT_FILE_SPEC.config(**options), _ctx(tmp_path))


def _load_url(tmp_path: Path, **options) -> TextCorpus:
    return URL_SPEC.factory(URL_SPEC.config(**options), _ctx(tmp_path))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _downloads(tmp_path: Path) -> list[str]:
    folder = tmp_path / "cache" / "downloads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------------------------------------
# split_text
# ---------------------------------------------------------------------------------------------


def test_split_text_matches_nanogpt() -> None:
    text = "".join(chr(ord("a") + i % 26) for i in range(1003))
    corpus = split_text(text, 0.1)
    n = len(text)
    assert corpus.train == text[: int(n * 0.9)]
    assert corpus.val == text[int(n * 0.9) :]
    assert corpus.test == ""


def test_split_text_with_test_split() -> None:
    text = "x" * 70 + "y" * 20 + "z" * 10
    corpus = split_text(text, 0.2, 0.1)
    assert (corpus.train, corpus.val, corpus.test) == ("x" * 70, "y" * 20, "z" * 10)
    # decimal fractions are exact: 1 - 0.9 leaves one character of ten for validation
    assert split_text("abcdefghij", 0.9).train == "a"


def test_split_text_too_short() -> None:
    with pytest.raises(ValueError, match="too short"):
        split_text("a", 0.1)
    with pytest.raises(ValueError, match="too short"):
        split_text("abc", 0.1, 0.1)


# ---------------------------------------------------------------------------------------------
# text-file
# ---------------------------------------------------------------------------------------------


def test_text_file_split_sizes_and_order(tmp_path: Path) -> None:
    text = "".join(f"line {i}: é😀\n" for i in range(100))
    (tmp_path / "corpus.txt").write_text(text, encoding="utf-8")
    corpus = _load_file(tmp_path, path=str(tmp_path / "corpus.txt"))
    assert isinstance(corpus, TextCorpus) and corpus.kind == "text"
    assert len(corpus.train) == int(len(text) * 0.9)
    assert corpus.train + corpus.val == text
    assert corpus.test == ""

    corpus = _load_file(
        tmp_path, path=str(tmp_path / "corpus.txt"), val_fraction=0.2, test_fraction=0.1
    )
    assert len(corpus.train) == int(len(text) * 0.7)
    assert len(corpus.test) == int(len(text) * 0.1)
    assert corpus.train + corpus.val + corpus.test == text


def test_text_file_keeps_bytes_as_they_are(tmp_path: Path) -> None:
    (tmp_path / "crlf.txt").write_bytes(b"one\r\ntwo\r\n" * 10)
    corpus = _load_file(tmp_path, path=str(tmp_path / "crlf.txt"))
    assert corpus.train + corpus.val == "one\r\ntwo\r\n" * 10


def test_text_folder_read_recursively_in_sorted_order(tmp_path: Path) -> None:
    root = tmp_path / "books"
    (root / "b" / "deeper").mkdir(parents=True)
    (root / "b.txt").write_text("BBBB" * 10, encoding="utf-8")
    (root / "a.txt").write_text("AAAA" * 10, encoding="utf-8")
    (root / "b" / "deeper" / "c.txt").write_text("CCCC" * 10, encoding="utf-8")
    (root / "notes.md").write_text("ignored", encoding="utf-8")
    corpus = _load_file(tmp_path, path=str(root), val_fraction=0.25)
    expected = "\n".join(["AAAA" * 10, "CCCC" * 10, "BBBB" * 10])  # a.txt, b/deeper/c.txt, b.txt
    assert corpus.train + corpus.val == expected
    assert len(corpus.train) == int(len(expected) * 0.75)


def test_text_file_relative_path_resolved_against_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rel.txt").write_text("relative " * 10, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    corpus = _load_file(tmp_path, path="rel.txt")
    assert corpus.train + corpus.val == "relative " * 10


def test_text_file_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "input.txt"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        _load_file(tmp_path, path=str(missing))


def test_text_file_empty_file_and_folders(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.txt.*empty"):
        _load_file(tmp_path, path=str(tmp_path / "empty.txt"))

    (tmp_path / "nothing").mkdir()
    with pytest.raises(ValueError, match=r"nothing.*no \.txt files"):
        _load_file(tmp_path, path=str(tmp_path / "nothing"))

    (tmp_path / "blank").mkdir()
    (tmp_path / "blank" / "a.txt").write_bytes(b"")
    (tmp_path / "blank" / "b.txt").write_bytes(b"")
    with pytest.raises(ValueError, match=r"blank.*empty"):
        _load_file(tmp_path, path=str(tmp_path / "blank"))


def test_text_file_bad_utf8_names_file_and_offset(tmp_path: Path) -> None:
    data = b"a" * 1234 + b"\xff" + b"b" * 100
    (tmp_path / "corpus.txt").write_bytes(data)
    with pytest.raises(ValueError, match=r"corpus\.txt: invalid utf-8 at byte offset 1234"):
        _load_file(tmp_path, path=str(tmp_path / "corpus.txt"))

    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text("fine " * 20, encoding="utf-8")
    (folder / "bad.txt").write_bytes("é".encode() + b"\xc3")  # truncated sequence at offset 2
    with pytest.raises(ValueError, match=r"bad\.txt: invalid utf-8 at byte offset 2"):
        _load_file(tmp_path, path=str(folder))


def test_text_file_other_encoding(tmp_path: Path) -> None:
    (tmp_path / "latin.txt").write_bytes("café ".encode("latin-1") * 10)
    corpus = _load_file(tmp_path, path=str(tmp_path / "latin.txt"), encoding="latin-1")
    assert corpus.train + corpus.val == "café " * 10


def test_text_file_config_validation() -> None:
    with pytest.raises(ValidationError, match="path"):
        TextFileConfig()
    with pytest.raises(ValidationError, match="val_fraction"):
        TextFileConfig(path="x", val_fraction=0)
    with pytest.raises(ValidationError, match="val_fraction"):
        TextFileConfig(path="x", val_fraction=1.0)
    with pytest.raises(ValidationError, match="below 1"):
        TextFileConfig(path="x", val_fraction=0.6, test_fraction=0.4)
    with pytest.raises(ValidationError, match="encoding"):
        TextFileConfig(path="x", encoding="no-such-codec")
    with pytest.raises(ValidationError, match="extra"):
        TextFileConfig.model_validate({"path": "x", "shuffle": True})


# ---------------------------------------------------------------------------------------------
# url
# ---------------------------------------------------------------------------------------------


@pytest.fixture()
def source(tmp_path: Path) -> tuple[Path, bytes]:
    data = ("To be, or not to be, that is the question. 😀\n" * 50).encode("utf-8")
    path = tmp_path / "served" / "input.txt"
    path.parent.mkdir()
    path.write_bytes(data)
    return path, data


def test_url_file_scheme_with_correct_sha256(tmp_path: Path, source: tuple[Path, bytes]) -> None:
    path, data = source
    corpus = _load_url(tmp_path, url=path.as_uri(), sha256=_sha(data))
    text = data.decode("utf-8")
    assert corpus.train + corpus.val == text
    assert len(corpus.train) == int(len(text) * 0.9)
    assert _downloads(tmp_path) == [f"{_sha(data)}-input.txt"]
    assert (tmp_path / "cache" / "downloads" / f"{_sha(data)}-input.txt").read_bytes() == data


def test_url_custom_filename_and_uppercase_digest(
    tmp_path: Path, source: tuple[Path, bytes]
) -> None:
    path, data = source
    _load_url(tmp_path, url=path.as_uri(), sha256=_sha(data).upper(), filename="shakespeare.txt")
    assert _downloads(tmp_path) == [f"{_sha(data)}-shakespeare.txt"]


def test_url_sha256_mismatch_refused_and_not_kept(
    tmp_path: Path, source: tuple[Path, bytes]
) -> None:
    path, data = source
    wrong = "0" * 64
    with pytest.raises(ValueError) as info:
        _load_url(tmp_path, url=path.as_uri(), sha256=wrong)
    assert wrong in str(info.value)
    assert _sha(data) in str(info.value)
    assert _downloads(tmp_path) == []  # neither the file nor a partial temporary one


def test_url_cached_copy_reused_without_downloading(
    tmp_path: Path, source: tuple[Path, bytes]
) -> None:
    path, data = source
    first = _load_url(tmp_path, url=path.as_uri(), sha256=_sha(data))
    path.unlink()
    second = _load_url(tmp_path, url=path.as_uri(), sha256=_sha(data))
    assert (second.train, second.val) == (first.train, first.val)


def test_url_corrupted_cache_is_downloaded_again(
    tmp_path: Path, source: tuple[Path, bytes]
) -> None:
    path, data = source
    _load_url(tmp_path, url=path.as_uri(), sha256=_sha(data))
    cached = tmp_path / "cache" / "downloads" / f"{_sha(data)}-input.txt"
    cached.write_bytes(b"tampered")
    corpus = _load_url(tmp_path, url=path.as_uri(), sha256=_sha(data))
    assert corpus.train + corpus.val == data.decode("utf-8")
    assert cached.read_bytes() == data
    assert _downloads(tmp_path) == [cached.name]


def test_url_missing_source(tmp_path: Path) -> None:
    missing = tmp_path / "gone.txt"
    with pytest.raises(OSError, match="could not download"):
        _load_url(tmp_path, url=missing.as_uri(), sha256="a" * 64)
    assert _downloads(tmp_path) == []


def test_url_bad_utf8_names_cached_file_and_offset(tmp_path: Path) -> None:
    data = b"hello world " * 10 + b"\x80"
    path = tmp_path / "bin.txt"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=r"bin\.txt: invalid utf-8 at byte offset 120"):
        _load_url(tmp_path, url=path.as_uri(), sha256=_sha(data))


def test_url_config_validation() -> None:
    with pytest.raises(ValidationError, match="sha256"):
        UrlConfig(url="https://example.com/input.txt")  # required
    for bad in ("abc", "g" * 64, "a" * 63, "a" * 65):
        with pytest.raises(ValidationError, match="sha256") as info:
            UrlConfig(url="https://example.com/input.txt", sha256=bad)
        assert "64 hexadecimal" in str(info.value)
    with pytest.raises(ValidationError, match="url"):
        UrlConfig(url="ftp://example.com/input.txt", sha256="a" * 64)
    with pytest.raises(ValidationError, match="filename"):
        UrlConfig(url="https://example.com/x", sha256="a" * 64, filename="../escape.txt")
    with pytest.raises(ValidationError, match="below 1"):
        UrlConfig(url="https://example.com/x", sha256="a" * 64, val_fraction=0.5, test_fraction=0.5)
    config = UrlConfig(url="https://example.com/x", sha256=" " + "AB" * 32 + "\n")
    assert config.sha256 == "ab" * 32


def test_specs_describe_text_datasets() -> None:
    assert (TEXT_FILE_SPEC.name, URL_SPEC.name) == ("text-file", "url")
    assert TEXT_FILE_SPEC.dataset_kind == URL_SPEC.dataset_kind == "text"
    for spec in (TEXT_FILE_SPEC, URL_SPEC):
        for name, field in spec.config.model_fields.items():
            assert field.description, f"{spec.name}.{name} has no description"
