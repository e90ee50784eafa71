"""The built-in ``text-file`` and ``url`` datasets: raw text split into train / val (/ test).

Both split by characters the way nanoGPT's ``prepare.py`` does: the first part of the text is the
training split, the next part validation, the last part test (``split_text``). ``url`` downloads
into the run's cache, checked against a required SHA-256 digest, and reuses the cached copy.
"""

from __future__ import annotations

import codecs
import hashlib
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from workbench.data import TEXT, TextCorpus
from workbench.files import atomic_file, sha256_of
from workbench.specs import DatasetContext, DatasetSpec

DOWNLOAD_TIMEOUT_S = 60.0
"""Seconds a download may wait on the network before failing."""

_CHUNK = 1 << 20
_SHA256_RE = re.compile(r"[0-9a-fA-F]{64}")
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


# ---------------------------------------------------------------------------------------------
# Splitting and reading
# ---------------------------------------------------------------------------------------------


def split_text(text: str, val_fraction: float, test_fraction: float = 0.0) -> TextCorpus:
    """Split ``text`` by characters: the first ``1 - val - test`` is train, then val, then test.

    Train is ``floor(n * (1 - val - test))`` characters (nanoGPT's ``int(n * 0.9)``), test the last
    ``floor(n * test)`` characters and val what lies between. The fractions are taken as the
    decimals they were written as, so ``1 - 0.9`` is exactly ``0.1`` here.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    val, test = Fraction(str(val_fraction)), Fraction(str(test_fraction))
    if val + test >= 1:
        raise ValueError(
            f"val_fraction + test_fraction must be below 1, got {val_fraction} + {test_fraction}"
        )
    n = len(text)
    n_train = math.floor(n * (1 - val - test))
    n_test = math.floor(n * test)
    n_val = n - n_train - n_test
    if n_train < 1 or n_val < 1 or (test_fraction > 0 and n_test < 1):
        raise ValueError(
            f"a text of {n} characters is too short to split into train / val"
            + (" / test" if test_fraction > 0 else "")
            + f" with val_fraction={val_fraction}, test_fraction={test_fraction}"
        )
    return TextCorpus(
        train=text[:n_train],
        val=text[n_train : n_train + n_val],
        test=text[n_train + n_val :],
    )


def decode_bytes(data: bytes, encoding: str, source: Path | str) -> str:
    """Decode ``data`` read from ``source``; bad bytes raise ``ValueError`` naming the byte offset."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{source}: invalid {encoding} at byte offset {error.start} ({error.reason})"
        ) from error


def _text_files(root: Path) -> list[Path]:
    """The ``.txt`` files under ``root``, recursively, in sorted path order."""
    return sorted(p for p in root.rglob("*") if p.suffix.lower() == ".txt" and p.is_file())


def read_text_path(path: Path, encoding: str = "utf-8") -> str:
    """Read a text file, or every ``.txt`` file under a folder (sorted, joined with newlines).

    Bytes are decoded as they are (no newline translation). Raises ``FileNotFoundError`` for a
    missing path and ``ValueError`` for an empty file or folder or undecodable bytes.
    """
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    if path.is_dir():
        files = _text_files(path)
        if not files:
            raise ValueError(f"{path}: the folder holds no .txt files")
        text = "\n".join(decode_bytes(f.read_bytes(), encoding, f) for f in files)
        if len(text) == len(files) - 1:  # nothing but the separators
            raise ValueError(f"{path}: every .txt file in the folder is empty")
        return text
    text = decode_bytes(path.read_bytes(), encoding, path)
    if not text:
        raise ValueError(f"{path}: the file is empty")
    return text


# ---------------------------------------------------------------------------------------------
# Configs
# ---------------------------------------------------------------------------------------------


def _check_encoding(value: str) -> str:
    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError(f"unknown text encoding {value!r}") from None
    return value


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    if Fraction(str(val_fraction)) + Fraction(str(test_fraction)) >= 1:
        raise ValueError("val_fraction + test_fraction must be below 1, leaving text to train on")


def _val_fraction_field() -> Any:
    return Field(
        default=0.1,
        gt=0.0,
        lt=1.0,
        description="Share of the text (by characters) held out for validation, taken after train.",
    )


def _test_fraction_field() -> Any:
    return Field(
        default=0.0,
        ge=0.0,
        lt=1.0,
        description="Share of the text held out for testing, taken from the very end (0 for none).",
    )


def _encoding_field(what: str) -> Any:
    return Field(
        default="utf-8",
        min_length=1,
        description=f"Text encoding of {what}, e.g. 'utf-8' or 'latin-1'.",
    )


class TextFileConfig(BaseModel):
    """Options of the ``text-file`` dataset."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        min_length=1,
        description=(
            "A text file, or a folder whose .txt files are read recursively in sorted order and "
            "joined with newlines. A relative path is taken from the current directory."
        ),
    )
    val_fraction: float = _val_fraction_field()
    test_fraction: float = _test_fraction_field()
    encoding: str = _encoding_field("the file(s)")

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        return _check_encoding(value)

    @model_validator(mode="after")
    def _room_for_train(self) -> TextFileConfig:
        _check_fractions(self.val_fraction, self.test_fraction)
        return self


class UrlConfig(BaseModel):
    """Options of the ``url`` dataset."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        description="Address of a text file to download: http://, https:// or file://.",
    )
    sha256: str = Field(
        json_schema_extra={"pattern": r"^\s*[0-9a-fA-F]{64}\s*$"},
        description=(
            "SHA-256 digest of the file (64 hexadecimal characters); the download is refused "
            "if it does not match. Compute it with `sha256sum FILE`."
        ),
    )
    val_fraction: float = _val_fraction_field()
    test_fraction: float = _test_fraction_field()
    filename: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Name to cache the download under (default: the last part of the URL).",
    )
    encoding: str = _encoding_field("the downloaded file")

    @field_validator("url")
    @classmethod
    def _supported_scheme(cls, value: str) -> str:
        scheme = urllib.parse.urlsplit(value).scheme.lower()
        if scheme not in ("http", "https", "file"):
            raise ValueError(f"the URL must start with http://, https:// or file://, got {value!r}")
        return value

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        value = value.strip()
        if not _SHA256_RE.fullmatch(value):
            raise ValueError(
                f"sha256 must be 64 hexadecimal characters (a SHA-256 digest), got {value!r}"
            )
        return value.lower()

    @field_validator("filename")
    @classmethod
    def _plain_name(cls, value: str | None) -> str | None:
        if value is not None and (
            "/" in value or "\\" in value or value in (".", "..") or "\x00" in value
        ):
            raise ValueError(f"filename must be a plain file name without folders, got {value!r}")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        return _check_encoding(value)

    @model_validator(mode="after")
    def _room_for_train(self) -> UrlConfig:
        _check_fractions(self.val_fraction, self.test_fraction)
        return self


# ---------------------------------------------------------------------------------------------
# Downloading
# ---------------------------------------------------------------------------------------------


def _cache_name(config: UrlConfig) -> str:
    name = config.filename
    if name is None:
        url_path = urllib.parse.urlsplit(config.url).path
        name = PurePosixPath(urllib.parse.unquote(url_path)).name
    name = _UNSAFE_NAME_CHARS.sub("_", name).strip("._") or "download"
    return f"{config.sha256}-{name}"


def _download(url: str, target: Path, expected_sha256: str) -> None:
    """Fetch ``url`` into ``target``, only if its digest matches; never leaves a partial file."""
    digest = hashlib.sha256()
    request = urllib.request.Request(url, headers={"User-Agent": "workbench"})
    with atomic_file(target, "wb", suffix=".part") as out:
        try:
            with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
                while chunk := response.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        except urllib.error.URLError as error:
            raise OSError(f"could not download {url}: {error.reason}") from error
        actual = digest.hexdigest()
        if actual != expected_sha256:
            raise ValueError(
                f"the download of {url} has SHA-256 {actual}, expected {expected_sha256}; "
                "the file was not kept"
            )


def fetch(config: UrlConfig, cache_dir: Path) -> Path:
    """The verified local copy of ``config.url`` under ``cache_dir/downloads``, downloading it
    when it is not cached yet (or when the cached copy does not match the digest)."""
    target = Path(cache_dir) / "downloads" / _cache_name(config)
    if target.is_file():
        if sha256_of(target) == config.sha256:
            return target
        target.unlink()  # corrupted or tampered with: fetch it again
    _download(config.url, target, config.sha256)
    return target


# ---------------------------------------------------------------------------------------------
# Factories and specs
# ---------------------------------------------------------------------------------------------


def load_text_file(config: TextFileConfig, ctx: DatasetContext | None = None) -> TextCorpus:
    """The ``text-file`` dataset (``ctx`` is unused: nothing is downloaded or generated)."""
    path = (Path.cwd() / Path(config.path).expanduser()).absolute()
    text = read_text_path(path, config.encoding)
    return split_text(text, config.val_fraction, config.test_fraction)


def load_url(config: UrlConfig, ctx: DatasetContext) -> TextCorpus:
    """The ``url`` dataset: download (or reuse) the verified file and split its text."""
    path = fetch(config, ctx.cache_dir)
    text = decode_bytes(path.read_bytes(), config.encoding, path)
    if not text:
        raise ValueError(f"{config.url}: the downloaded file is empty")
    return split_text(text, config.val_fraction, config.test_fraction)


TEXT_FILE_SPEC = DatasetSpec(
    name="text-file",
    summary="A local text file or folder of .txt files, split into train / val (/ test).",
    config=TextFileConfig,
    factory=load_text_file,
    dataset_kind=TEXT,
)

URL_SPEC = DatasetSpec(
    name="url",
    summary="A text file downloaded once (SHA-256 checked) and split into train / val (/ test).",
    config=UrlConfig,
    factory=load_url,
    dataset_kind=TEXT,
)

__all__ = [
    "TEXT_FILE_SPEC",
    "URL_SPEC",
    "TextFileConfig",
    "UrlConfig",
    "decode_bytes",
    "fetch",
    "read_text_path",
    "sha256_of",
    "split_text",
]
