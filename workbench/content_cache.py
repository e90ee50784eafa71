"""A cache of data preparation in the home's ``cache/`` folder, addressed by content hash.

Runs of one home often train on the same text with the same tokenizer: a sweep, a rerun with
another learning rate, a resumed run. Fitting the tokenizer and encoding the text then give the
same result every time, so the first run stores it under the SHA-256 of everything it was made
from, and later runs load it:

- :func:`fit_tokenizer` — a tokenizer fitted on a dataset's texts, keyed by the tokenizer
  plugin, its options and version, and the texts;
- :func:`encode` — a text's token ids as a tensor, keyed by the fitted tokenizer's saved files
  and the text;
- :func:`generated` — a dataset a generator makes from its options and seed (the synthetic
  corpus), keyed by the generator's name and version, the options and the seed. The generator's
  version must change whenever the same options and seed would give other data.

A changed text, option, tokenizer or plugin version is a different key, so a stale entry is
never used; an entry that cannot be read is made again. Entries are written to a temporary name
and renamed into place, so runs sharing a home never see half of one. The folder can be deleted
at any time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from workbench.files import atomic_file

T = TypeVar("T")

TOKENIZERS = "tokenizers"
ENCODINGS = "encodings"
GENERATED = "generated"


def _hash_texts(digest: Any, texts: Iterable[str]) -> None:
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))  # so that ["ab", "c"] != ["a", "bc"]
        digest.update(data)


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """SHA-256 of the files a fitted tokenizer saves (its whole vocabulary and rules)."""
    digest = hashlib.sha256()
    with tempfile.TemporaryDirectory() as folder:
        tokenizer.save(Path(folder))
        for file in sorted(Path(folder).rglob("*")):
            if file.is_file():
                digest.update(file.relative_to(folder).as_posix().encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def fit_tokenizer(
    tokenizer: Any, texts: list[str], identity: dict[str, Any], cache_dir: Path
) -> bool:
    """Fit ``tokenizer`` on ``texts``, or load the result of an earlier identical fit. Returns
    True on a cache hit. ``identity`` names what decides the result besides the texts (plugin
    name, options, version) and must be JSON-serialisable."""
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode())
    _hash_texts(digest, texts)
    entry = Path(cache_dir) / TOKENIZERS / digest.hexdigest()
    if entry.is_dir():
        try:
            tokenizer.load(entry)
            return True
        except Exception:  # noqa: BLE001 - an unreadable entry is made again below
            shutil.rmtree(entry, ignore_errors=True)
    tokenizer.fit(texts)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
        tokenizer.save(staging)
        try:
            os.rename(staging, entry)
        except OSError:  # another run stored it first
            shutil.rmtree(staging, ignore_errors=True)
    except OSError:
        pass  # a cache that cannot be written only costs the next run the fit
    return False


def encode(tokenizer: Any, text: str, cache_dir: Path, fingerprint: str | None = None) -> Any:
    """``torch.tensor(tokenizer.encode(text), dtype=torch.long)``, from the cache when this
    tokenizer (by :func:`tokenizer_fingerprint`, or ``fingerprint`` if given) encoded this text
    before."""
    import torch

    digest = hashlib.sha256((fingerprint or tokenizer_fingerprint(tokenizer)).encode())
    _hash_texts(digest, [text])
    entry = Path(cache_dir) / ENCODINGS / f"{digest.hexdigest()}.pt"
    if entry.is_file():
        try:
            ids = torch.load(entry, map_location="cpu", weights_only=True)
            if isinstance(ids, torch.Tensor) and ids.dtype == torch.long and ids.dim() == 1:
                return ids
        except Exception:  # noqa: BLE001 - an unreadable entry is made again below
            pass
    ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    try:
        with atomic_file(entry, "wb") as handle:
            torch.save(ids, handle)
    except OSError:
        pass  # a cache that cannot be written only costs the next run the encoding
    return ids


def generated(identity: dict[str, Any], make: Callable[[], T], cache_dir: Path | None) -> T:
    """``make()``, or what an earlier call with the same ``identity`` (JSON-serialisable: the
    generator's name and version, its options, the seed) stored. Stored with :mod:`pickle`, so
    only in the user's own home; an entry that cannot be read is made again. Without a
    ``cache_dir``, simply ``make()``."""
    import pickle

    if cache_dir is None:
        return make()
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode())
    entry = Path(cache_dir) / GENERATED / f"{digest.hexdigest()}.pickle"
    if entry.is_file():
        try:
            with entry.open("rb") as handle:
                return pickle.load(handle)  # noqa: S301 - written by this code, in the home
        except Exception:  # noqa: BLE001 - an unreadable entry is made again below
            pass
    value = make()
    try:
        with atomic_file(entry, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
    except (OSError, pickle.PicklingError):
        pass
    return value
