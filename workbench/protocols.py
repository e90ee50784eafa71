"""Protocols: what a stage needs from an architecture, and what every tokenizer provides.

Architectures declare the protocol names they implement (``ArchitectureSpec.protocols``); stages
declare the one they require (``StageSpec.requires``). The registry checks the pairing and the UI
offers only compatible choices.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # annotations only: registering a spec must not import torch
    import torch

CAUSAL_LM = "causal-lm"
"""Decoder-only language model: ``forward(idx, targets) -> (logits, loss)``, ``hidden_states``,
``generate`` with a KV cache, ``optimizer_groups``."""

SEQ2SEQ = "seq2seq"
"""Encoder-decoder model: ``encode``, ``decode`` step with cached keys and values, ``generate``
(greedy or beam search) and ``attention_maps`` (see :class:`Seq2SeqModel`)."""

SEQUENCE_ENCODER = "sequence-encoder"
"""Any model returning per-token hidden states, for classification, reward or value heads (see
:class:`SequenceEncoder`)."""

KNOWN_PROTOCOLS = (CAUSAL_LM, SEQ2SEQ, SEQUENCE_ENCODER)


@runtime_checkable
class CausalLM(Protocol):
    """A decoder-only language model over token ids."""

    vocab_size: int
    block_size: int

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits ``(B, T, V)`` and, when ``targets`` is given, the mean cross-entropy loss
        (positions whose target is ``-1`` are ignored)."""
        ...

    def hidden_states(self, idx: torch.Tensor) -> torch.Tensor:
        """Final (normalised) hidden states ``(B, T, C)`` for heads added by later stages."""
        ...

    # Optional: ``logits_from_hidden`` (:class:`LogitsFromHidden`) and ``attention_weights``
    # (:class:`AttentionWeights`).

    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        stop_sequences: Sequence[Sequence[int]] | None = None,
        use_cache: bool = True,
        generator: torch.Generator | None = None,
    ) -> list[list[int]]:
        """Sample continuations of a batch of equal-length prompts ``idx`` ``(B, T)``.

        Returns the new token ids of each row, stopping a row at the first stop sequence (which is
        not included). ``temperature == 0`` is greedy decoding."""
        ...

    def optimizer_groups(self, weight_decay: float) -> list[dict]:
        """Parameter groups for AdamW: matrices decayed, biases and norms not."""
        ...


@runtime_checkable
class LogitsFromHidden(Protocol):
    """Optional for a causal LM whose logits are a function of :meth:`CausalLM.hidden_states`
    (as in ``gpt``): stages needing both (an auxiliary LM loss, a value head) run the model once."""

    def logits_from_hidden(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits ``(..., vocab_size)`` of hidden states ``(..., C)``."""
        ...


@runtime_checkable
class AttentionWeights(Protocol):
    """Optional for a causal LM: the attention maps the dashboard's Playground draws (a model
    without the method simply shows none)."""

    def attention_weights(self, idx: torch.Tensor) -> list[torch.Tensor]:
        """Attention probabilities for ``idx`` ``(B, T)``, ``T <= block_size``: one tensor
        ``(B, heads, T, T)`` per layer, whose row ``t`` spreads position ``t``'s attention over
        positions ``0 .. t`` (rows sum to 1). Runs without gradients, in eval mode."""
        ...


@runtime_checkable
class SequenceEncoder(Protocol):
    """A model that reads token ids left to right and returns one hidden vector per position.

    Heads added by later stages (a classifier, a reward or a value head) are ``nn.Linear(
    hidden_size, ...)`` over these states; with a causal model the state at the last real token
    has seen the whole input.
    """

    hidden_size: int
    block_size: int
    """Longest input the model has positions for."""

    def hidden_states(self, idx: torch.Tensor) -> torch.Tensor:
        """Hidden states ``(B, T, hidden_size)`` of token ids ``idx`` ``(B, T)``."""
        ...


@runtime_checkable
class Seq2SeqModel(Protocol):
    """An encoder-decoder model over one shared vocabulary of token ids.

    Padding masks are boolean ``(B, S)`` tensors that are ``True`` at padding positions. A source
    holds at least one real token (seq2seq stages append ``<eos>`` to every source).
    """

    vocab_size: int
    max_len: int
    """Longest sequence (source, or decoder input counting ``<bos>``) the model has positions for."""

    def forward(
        self,
        src: torch.Tensor,
        tgt: torch.Tensor,
        src_pad: torch.Tensor | None = None,
        tgt_pad: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Teacher-forced logits ``(B, T, V)`` for decoder input ``tgt`` ``(B, T)`` (starting with
        ``<bos>``); position ``t`` sees source tokens that are not padding and ``tgt[:, : t + 1]``."""
        ...

    def encode(self, src: torch.Tensor, src_pad: torch.Tensor | None = None) -> torch.Tensor:
        """Encoder output ("memory") ``(B, S, C)``."""
        ...

    def new_cache(self) -> Any:
        """An empty decoder cache for :meth:`decode_step` (keys and values of earlier steps, and of
        the memory, per layer). It has ``select(index)``, which keeps or reorders batch rows (beam
        search)."""
        ...

    def decode_step(
        self,
        tokens: torch.Tensor,
        memory: torch.Tensor,
        src_pad: torch.Tensor | None,
        cache: Any,
    ) -> torch.Tensor:
        """Logits ``(B, V)`` for the next token after feeding ``tokens`` ``(B,)`` at the position
        the cache has reached; equal to the last row of a full :meth:`forward` on the whole
        prefix."""
        ...

    def generate(
        self,
        src: torch.Tensor,
        src_pad: torch.Tensor | None,
        *,
        bos_id: int,
        eos_id: int,
        max_new_tokens: int,
        beam_size: int = 1,
        length_penalty: float = 0.6,
        banned_ids: Sequence[int] = (),
    ) -> list[list[int]]:
        """Decode each source: greedy when ``beam_size == 1``, else beam search whose finished
        hypotheses are ranked by ``log p / ((5 + length) / 6) ** length_penalty`` (GNMT). Returns
        the generated ids of each row, without ``<bos>`` and ``<eos>``; ``banned_ids`` (e.g. the
        padding id) are never generated."""
        ...

    def attention_maps(
        self, src: torch.Tensor, tgt: torch.Tensor, src_pad: torch.Tensor | None = None
    ) -> dict[str, list[torch.Tensor]]:
        """Attention weights of a teacher-forced pass: ``{"encoder_self": [...], "decoder_self":
        [...], "cross": [...]}``, one ``(B, heads, queries, keys)`` tensor per layer."""
        ...


SEQ2SEQ_SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>")
"""The tokens a seq2seq run's tokenizer must have: padding, start of target, end of sequence."""


@dataclass(frozen=True)
class Seq2SeqTokenIds:
    """The ids of ``<pad>``, ``<bos>`` and ``<eos>`` in a tokenizer that has them."""

    pad: int
    bos: int
    eos: int

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> Seq2SeqTokenIds:
        """Look the special tokens up with ``tokenizer.token_id``; the error names what is
        missing and how to add it."""
        hint = (
            "seq2seq needs the special tokens <pad>, <bos> and <eos>, e.g. "
            'tokenizer: {name: char, special_tokens: ["<pad>", "<bos>", "<eos>"]}'
        )
        lookup = getattr(tokenizer, "token_id", None)
        if not callable(lookup):
            raise ValueError(
                f"the tokenizer {type(tokenizer).__name__} cannot look up special tokens "
                f"(it has no token_id method); {hint}"
            )
        ids = []
        for token in SEQ2SEQ_SPECIAL_TOKENS:
            try:
                ids.append(int(lookup(token)))
            except (KeyError, ValueError):
                raise ValueError(f"the tokenizer has no {token!r} token; {hint}") from None
        if len(set(ids)) != len(ids):
            raise ValueError(f"<pad>, <bos> and <eos> must be distinct tokens, got ids {ids}")
        return cls(*ids)


@runtime_checkable
class Tokenizer(Protocol):
    """Turns text into token ids and back; trained on the run's corpus and saved with the run.

    A tokenizer whose :meth:`fit` depends on nothing but its options and the texts may say so
    with a class attribute ``fit_from_texts = True``: the worker then keeps the fitted tokenizer
    in the home's cache, by content hash, and a later run on the same texts loads it instead of
    fitting again (:mod:`workbench.content_cache`). One that reads anything else (a file named in
    its options) must not set it.
    """

    @property
    def vocab_size(self) -> int: ...

    def fit(self, texts: Iterable[str]) -> None:
        """Build the vocabulary from training text (a no-op for fixed vocabularies)."""
        ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def save(self, directory: Path) -> None:
        """Write everything needed to reload this tokenizer into ``directory``."""
        ...

    def load(self, directory: Path) -> None:
        """Restore the state written by :meth:`save`."""
        ...
