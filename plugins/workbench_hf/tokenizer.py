"""The ``hf`` tokenizer: a local transformers tokenizer folder as a workbench tokenizer.

``tokenizer: {name: hf, path: DIR}`` reads ``AutoTokenizer.from_pretrained(DIR)`` from disk only.
``fit`` does not learn anything (the vocabulary is the model's); the run saves a copy with
``save_pretrained`` so that it, and its child runs, no longer need ``DIR`` for the tokenizer.
Text is encoded without the special tokens a tokenizer may add around a sequence (a BOS token),
and decoded without cleaning up spaces, so ``decode(encode(text)) == text`` where the tokenizer
allows it (byte-level BPE does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workbench.specs import TokenizerSpec
from workbench_hf import deps

__all__ = ["HF_TOKENIZER_SPEC", "HFTokenizer", "HFTokenizerConfig", "check_tokenizer_dir"]

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model")


def check_tokenizer_dir(path: str | Path) -> Path:
    """The folder ``path``, refusing one that is missing or holds no tokenizer files."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ValueError(f"hf tokenizer: the folder {folder} does not exist")
    if not any((folder / name).is_file() for name in _TOKENIZER_FILES):
        raise ValueError(
            f"hf tokenizer: {folder} holds no tokenizer ({', '.join(_TOKENIZER_FILES)} expected)"
        )
    return folder


class HFTokenizerConfig(BaseModel):
    """Options of the ``hf`` tokenizer."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        description=(
            "Folder of a transformers tokenizer (tokenizer.json / tokenizer_config.json, as "
            "written by save_pretrained), usually the model's own folder; never downloaded."
        ),
    )

    @field_validator("path")
    @classmethod
    def _folder_exists(cls, value: str) -> str:
        check_tokenizer_dir(value)
        return value


def _load(folder: Path) -> Any:
    transformers = deps.transformers("the hf tokenizer")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"hf tokenizer: cannot load a tokenizer from {folder}: {error}") from error
    return tokenizer


_NO_LIMIT = int(1e30)
"""The workbench encodes whole corpora at once and cuts windows itself: no length warning."""


class HFTokenizer:
    """A transformers tokenizer behind the workbench :class:`~workbench.protocols.Tokenizer`."""

    def __init__(self, config: HFTokenizerConfig) -> None:
        self.config = config
        self._tokenizer: Any = None
        self._model_max_length: int = _NO_LIMIT

    def _require_loaded(self) -> Any:
        if self._tokenizer is None:
            raise RuntimeError("the hf tokenizer is not loaded yet: call fit() or load() first")
        return self._tokenizer

    @property
    def vocab_size(self) -> int:
        """Number of ids, added tokens included; 0 until loaded."""
        return 0 if self._tokenizer is None else len(self._tokenizer)

    @property
    def hf_tokenizer(self) -> Any:
        """The wrapped transformers tokenizer."""
        return self._require_loaded()

    def token_id(self, token: str) -> int:
        """The id of one token of the vocabulary (e.g. ``<|endoftext|>``)."""
        tokenizer = self._require_loaded()
        vocab = tokenizer.get_vocab()
        if token not in vocab:
            specials = ", ".join(tokenizer.all_special_tokens) or "none"
            raise ValueError(
                f"the hf tokenizer has no token {token!r} (special tokens: {specials})"
            )
        return int(vocab[token])

    def _use(self, tokenizer: Any) -> None:
        self._model_max_length = tokenizer.model_max_length
        tokenizer.model_max_length = _NO_LIMIT
        self._tokenizer = tokenizer

    def fit(self, texts: Iterable[str]) -> None:
        """Load the tokenizer from ``config.path`` (its vocabulary is fixed; ``texts`` is unused)."""
        self._use(_load(check_tokenizer_dir(self.config.path)))

    def encode(self, text: str) -> list[int]:
        return list(self._require_loaded().encode(text, add_special_tokens=False))

    def decode(self, ids: Sequence[int]) -> str:
        tolist = getattr(ids, "tolist", None)
        id_list = [int(i) for i in (tolist() if callable(tolist) else ids)]
        return self._require_loaded().decode(
            id_list, skip_special_tokens=False, clean_up_tokenization_spaces=False
        )

    def save_pretrained(self, directory: Path) -> list[str]:
        """``save_pretrained`` of the wrapped tokenizer, with its own ``model_max_length``."""
        tokenizer = self._require_loaded()
        tokenizer.model_max_length = self._model_max_length
        try:
            return list(tokenizer.save_pretrained(str(directory)))
        finally:
            tokenizer.model_max_length = _NO_LIMIT

    def save(self, directory: Path) -> None:
        self.save_pretrained(directory)

    def load(self, directory: Path) -> None:
        self._use(_load(check_tokenizer_dir(directory)))


def _make_hf_tokenizer(config: HFTokenizerConfig) -> HFTokenizer:
    return HFTokenizer(config)


HF_TOKENIZER_SPEC = TokenizerSpec(
    name="hf",
    summary="A local Hugging Face tokenizer folder (e.g. a GPT-2 model's own), never downloaded",
    config=HFTokenizerConfig,
    factory=_make_hf_tokenizer,
)
