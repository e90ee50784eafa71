"""The workbench's ``char``, ``word`` and ``bpe`` tokenizers as Hugging Face tokenizer files.

Each becomes a ``tokenizer.json`` (the ``tokenizers`` library's format, which
``PreTrainedTokenizerFast`` reads) giving the same ids for the same text, and a
``tokenizer_config.json`` naming its special tokens:

- ``char``: a BPE model with no merges over the characters (so every character is one token),
  no normaliser and no pre-tokenizer, and a decoder that joins tokens without spaces;
- ``word``: a word-level model with ``<unk>``, a lowercasing normaliser (when the tokenizer
  lowercases), and a pre-tokenizer dropping whitespace other than line breaks (all of it with
  ``newlines: false``) and then isolating the word tokenizer's own pattern;
- ``bpe``: its own ``tokenizer.json`` (it is already a ``tokenizers`` file);
- ``hf``: the tokenizer's own files.

Special tokens become added tokens of the file, with the ids they have in the workbench. One
difference: transformers matches an added token written literally in text (``"<eos>"``), where
the workbench's ``char`` tokenizer (and ``word`` for ``<pad>``/``<unk>``) encodes its characters.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ExportedTokenizer", "export_tokenizer"]

_ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "eos_token": ("<|endoftext|>", "<eos>", "</s>", "<|eos|>", "<|end|>"),
    "bos_token": ("<bos>", "<s>", "<|startoftext|>", "<|bos|>", "<start>"),
    "pad_token": ("<pad>", "<|pad|>"),
    "unk_token": ("<unk>", "<|unk|>"),
}
"""Which special token plays which transformers role, by its text."""


@dataclass
class ExportedTokenizer:
    """What :func:`export_tokenizer` wrote, and the ids of the special tokens by role."""

    files: list[Path]
    special_ids: dict[str, int] = field(default_factory=dict)
    """``{"eos_token": 0, ...}`` for the roles found (``bos_token``, ``eos_token``, ...)."""


def _roles(special_tokens: dict[str, int]) -> dict[str, str]:
    """Transformers roles of the special tokens (GPT-2's ``<|endoftext|>`` is bos, eos and unk)."""
    roles: dict[str, str] = {}
    for role, names in _ROLE_NAMES.items():
        for name in names:
            if name in special_tokens:
                roles[role] = name
                break
    if roles.get("eos_token") == "<|endoftext|>":
        roles.setdefault("bos_token", "<|endoftext|>")
        roles.setdefault("unk_token", "<|endoftext|>")
    return roles


def _char_tokenizer(tokenizer: Any) -> tuple[Any, list[str]]:
    from tokenizers import Tokenizer, decoders, models

    specials = list(tokenizer.special_tokens)
    vocab = {token: i for i, token in enumerate([*specials, *tokenizer.chars])}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.decoder = decoders.Fuse()
    return backend, specials


def _word_tokenizer(tokenizer: Any) -> tuple[Any, list[str]]:
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

    config = tokenizer.config
    words = list(tokenizer.words)
    vocab = {token: i for i, token in enumerate(words)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    if config.lowercase:
        backend.normalizer = normalizers.Lowercase()
    spaces = r"[^\S\n]+" if config.newlines else r"\s+"
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(spaces), behavior="removed"),
            # The word tokenizer's own pattern (re.findall's matches are its tokens).
            pre_tokenizers.Split(Regex(tokenizer.pattern), behavior="isolated"),
        ]
    )
    return backend, list(tokenizer.special_tokens)


def _bpe_tokenizer(tokenizer: Any) -> tuple[Any, list[str]]:
    from tokenizers import Tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save(Path(tmp))
        backend = Tokenizer.from_file(str(Path(tmp) / "tokenizer.json"))
    return backend, list(tokenizer.special_token_ids)


_BUILDERS = {"char": _char_tokenizer, "word": _word_tokenizer, "bpe": _bpe_tokenizer}


def export_tokenizer(
    tokenizer: Any, tokenizer_name: str, out_dir: Path, model_max_length: int
) -> ExportedTokenizer:
    """Write ``tokenizer.json`` and ``tokenizer_config.json`` for a workbench tokenizer.

    ``tokenizer_name`` is the run's tokenizer plugin (``char``, ``word``, ``bpe`` or ``hf``);
    another is refused with a message naming it.
    """
    if tokenizer_name == "hf":
        hf = tokenizer.hf_tokenizer
        files = [Path(p) for p in tokenizer.save_pretrained(out_dir)]
        ids = {}
        for role in _ROLE_NAMES:
            token_id = getattr(hf, f"{role}_id", None)
            if token_id is not None:
                ids[role] = int(token_id)
        return ExportedTokenizer(files=files, special_ids=ids)
    if tokenizer_name not in _BUILDERS:
        raise ValueError(
            f"cannot export the {tokenizer_name!r} tokenizer to Hugging Face (supported: "
            f"{', '.join([*_BUILDERS, 'hf'])})"
        )
    from tokenizers import AddedToken

    backend, specials = _BUILDERS[tokenizer_name](tokenizer)
    ids = {token: tokenizer.token_id(token) for token in specials}
    backend.add_special_tokens(
        [AddedToken(token, special=True, normalized=False) for token in specials]
    )
    for token, token_id in ids.items():
        if backend.token_to_id(token) != token_id:
            raise ValueError(f"special token {token!r} would change id in the exported tokenizer")
    roles = _roles(ids)
    tokenizer_json = out_dir / "tokenizer.json"
    backend.save(str(tokenizer_json))
    config: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": model_max_length,
        "clean_up_tokenization_spaces": False,
        "add_bos_token": False,
        "add_eos_token": False,
        **roles,
    }
    config_json = out_dir / "tokenizer_config.json"
    config_json.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return ExportedTokenizer(
        files=[tokenizer_json, config_json],
        special_ids={role: ids[token] for role, token in roles.items()},
    )
