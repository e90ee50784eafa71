"""Protocols: what a stage needs from an architecture, and what every tokenizer provides.

Architectures declare the protocol names they implement (``ArchitectureSpec.protocols``); stages
declare the one they require (``StageSpec.requires``). The registry checks the pairing and the UI
offers only compatible choices.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch

CAUSAL_LM = "causal-lm"
"""Decoder-only language model: ``forward(idx, targets) -> (logits, loss)``, ``hidden_states``,
``generate`` with a KV cache, ``optimizer_groups``."""

SEQ2SEQ = "seq2seq"
"""Encoder-decoder model: ``encode``, ``decode`` step with cached keys and values."""

SEQUENCE_ENCODER = "sequence-encoder"
"""Any model returning per-token hidden states, for classification, reward or value heads."""

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
class Tokenizer(Protocol):
    """Turns text into token ids and back; trained on the run's corpus and saved with the run."""

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
