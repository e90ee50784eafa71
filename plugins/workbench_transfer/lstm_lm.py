"""An LSTM language model (the ULMFiT / ELMo generation) as a plain ``torch.nn.Module``.

Token embedding, a stack of LSTM layers with dropout between them, and an output layer whose
weight is the embedding matrix (Press & Wolf 2017; Merity et al.'s AWD-LSTM). When the LSTM is
wider than the embedding, a linear projection brings its output down to the embedding width
before the tied output layer.

The recurrent state ``(h, c)`` is the generation cache: the prompt is read once and every later
step feeds only the newest token. An LSTM has no positions, so nothing ever has to slide: without
the cache, generation re-reads the whole sequence at every step and gets the same tokens.
``block_size`` is the window length (back-propagation through time) the ``pretrain`` stage trains
on and the longest input a fine-tuning stage feeds; longer inputs still run.

Nothing in this module knows about Lightning; training loops live in the stages.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from workbench.sampling import generate_tokens
from workbench_transfer.config import LSTMLMConfig

__all__ = ["LSTMLanguageModel", "LSTMLMConfig", "LSTMState"]

LSTMState = list[tuple[torch.Tensor, torch.Tensor]]
"""``(h, c)`` of every layer, each ``(1, B, n_hidden)``: what the model carries from one token to
the next."""


class LSTMLanguageModel(nn.Module):
    """Next-token LSTM language model over ``vocab_size`` token ids."""

    def __init__(self, config: LSTMLMConfig, vocab_size: int) -> None:
        super().__init__()
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be positive, got {vocab_size}")
        self.config = config
        self.vocab_size = vocab_size
        self.block_size = config.block_size
        self.embedding = nn.Embedding(vocab_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        # One nn.LSTM per layer (rather than num_layers=n) so that every layer's outputs can be
        # read, for ELMo-style features.
        self.lstm = nn.ModuleList(
            nn.LSTM(config.n_embd if i == 0 else config.n_hidden, config.n_hidden, batch_first=True)
            for i in range(config.n_layer)
        )
        out_width = config.n_embd if config.tie_weights else config.n_hidden
        self.proj = (
            nn.Linear(config.n_hidden, out_width, bias=False)
            if config.n_hidden != out_width
            else nn.Identity()
        )
        # Named "decoder" (AWD-LSTM's name), not "lm_head": a stage may apply a model's lm_head to
        # hidden_states directly, and here the two differ by the dropout and projection between.
        self.decoder = nn.Linear(out_width, vocab_size)
        if config.tie_weights:
            self.decoder.weight = self.embedding.weight
        nn.init.normal_(self.embedding.weight, mean=0.0, std=0.1)
        nn.init.zeros_(self.decoder.bias)

    # ------------------------------------------------------------------------------------------
    # Forward passes
    # ------------------------------------------------------------------------------------------

    def _layers(
        self, idx: torch.Tensor, state: LSTMState | None = None
    ) -> tuple[list[torch.Tensor], LSTMState]:
        """Every layer's outputs ``(B, T, n_hidden)`` for ``idx`` read after ``state`` (``None``:
        from zeros), lowest layer first, and the new state. Dropout sits on the embeddings and
        between layers."""
        if idx.dim() != 2:
            raise ValueError(f"idx must have shape (batch, time), got {tuple(idx.shape)}")
        x = self.drop(self.embedding(idx))
        outputs: list[torch.Tensor] = []
        new_state: LSTMState = []
        for i, layer in enumerate(self.lstm):
            if i:
                x = self.drop(x)
            x, layer_state = layer(x, state[i] if state is not None else None)
            outputs.append(x)
            new_state.append(layer_state)
        return outputs, new_state

    def _run(
        self, idx: torch.Tensor, state: LSTMState | None = None
    ) -> tuple[torch.Tensor, LSTMState]:
        """Top-layer outputs ``(B, T, n_hidden)`` of ``idx`` read after ``state``, and the new
        state."""
        outputs, state = self._layers(idx, state)
        return outputs[-1], state

    def _logits(self, top: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.proj(self.drop(top)))

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits ``(B, T, vocab_size)`` and, given ``targets`` ``(B, T)``, the mean cross-entropy
        over positions whose target is not ``-1``."""
        logits = self._logits(self._run(idx)[0])
        loss = None
        if targets is not None:
            loss = F.cross_entropy(
                logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1), ignore_index=-1
            )
        return logits, loss

    @property
    def hidden_size(self) -> int:
        """Width of :meth:`hidden_states`: ``n_hidden``, or ``n_layer * n_hidden`` with
        ``features: concat``."""
        layers = self.config.n_layer if self.config.features == "concat" else 1
        return layers * self.config.n_hidden

    def hidden_states(self, idx: torch.Tensor) -> torch.Tensor:
        """Hidden states ``(B, T, hidden_size)``: the top LSTM layer's outputs, or (``features:
        concat``) every layer's outputs concatenated, lowest layer first; with ``feature_norm``
        each layer's state is normalised to zero mean and unit variance. Position ``t`` has read
        tokens ``0 .. t`` only, so with right padding the last real token summarises the input."""
        outputs = self._layers(idx)[0]
        if self.config.feature_norm:
            outputs = [F.layer_norm(out, out.shape[-1:]) for out in outputs]
        return outputs[-1] if self.config.features == "top" else torch.cat(outputs, dim=-1)

    def decode(
        self, idx: torch.Tensor, state: LSTMState | None = None
    ) -> tuple[torch.Tensor, LSTMState]:
        """Logits ``(B, T, vocab_size)`` of ``idx`` read as the continuation of ``state`` (``None``:
        the start), and the state after it: the LSTM's cache for incremental generation."""
        top, state = self._run(idx, state)
        return self._logits(top), state

    # ------------------------------------------------------------------------------------------
    # Generation
    # ------------------------------------------------------------------------------------------

    @torch.inference_mode()
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
        """Continue each row of the equal-length prompts ``idx`` ``(B, T)``; return new tokens.

        The same contract as the ``gpt`` model's ``generate``: ``temperature == 0`` is greedy;
        otherwise logits are divided by ``temperature``, cut to ``top_k`` and then to the nucleus
        ``top_p``, and sampled with ``generator``. A row stops at its first completed stop
        sequence, which is dropped from its output. With ``use_cache`` the recurrent state carries
        the prompt forward and each step feeds one token; without it the whole sequence is re-read
        every step. The model is in eval mode during the call.
        """
        state: LSTMState | None = None

        def next_logits(seq: torch.Tensor, step: int) -> torch.Tensor:
            nonlocal state
            if not use_cache:
                return self.decode(seq)[0][:, -1]
            # The recurrent state carries the prompt (step 0) and each sampled token after it.
            logits, state = self.decode(seq, None) if step == 0 else self.decode(seq[:, -1:], state)
            return logits[:, -1]

        return generate_tokens(
            self,
            idx,
            max_new_tokens,
            next_logits,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            stop_sequences=stop_sequences,
            generator=generator,
        )

    # ------------------------------------------------------------------------------------------
    # Training helpers
    # ------------------------------------------------------------------------------------------

    def optimizer_groups(self, weight_decay: float) -> list[dict]:
        """AdamW parameter groups: matrices (embedding, LSTM and projection weights) decayed,
        biases not; frozen parameters left out; a tied matrix appears once."""
        decay = [p for p in self.parameters() if p.requires_grad and p.dim() >= 2]
        no_decay = [p for p in self.parameters() if p.requires_grad and p.dim() < 2]
        return [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]

    def num_parameters(self, non_embedding: bool = True) -> int:
        """Number of parameters (a tied matrix counted once); with ``non_embedding`` the embedding
        is left out unless it doubles as the output layer (nanoGPT's convention)."""
        total = sum(p.numel() for p in self.parameters())
        if non_embedding and not self.config.tie_weights:
            total -= self.embedding.weight.numel()
        return total

    def flops_per_token(self, seq_len: int | None = None) -> int:
        """Training FLOPs per token, ``6 * N``: every parameter is used in one multiply-add per
        token forward and two backward (there is no attention term)."""
        return 6 * self.num_parameters(non_embedding=True)
