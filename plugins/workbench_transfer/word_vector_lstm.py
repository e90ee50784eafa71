"""A task model over word vectors: the pre-2018 recipe, as a plain ``torch.nn.Module``.

An embedding table (the word vectors: trained by the ``word2vec`` stage, or from scratch) feeds
a small uni-directional LSTM; its state at each position is the sequence encoding a task head
reads. Being left-to-right, the state at the last real token has read the whole input, so right
padding needs no mask. With ``freeze_embeddings`` the table is fixed and only the LSTM (and the
stage's head) learn: word2vec's vectors used as features, as most NLP systems of 2013-2017 did.

It is a :class:`~workbench.protocols.SequenceEncoder`, not a language model: it has no output
layer over the vocabulary.
"""

from __future__ import annotations

import torch
from torch import nn

from workbench_transfer.config import WordVectorLSTMConfig

__all__ = ["WordVectorLSTM", "WordVectorLSTMConfig"]


class WordVectorLSTM(nn.Module):
    """Word vectors -> uni-directional LSTM -> one hidden state per position."""

    def __init__(self, config: WordVectorLSTMConfig, vocab_size: int) -> None:
        super().__init__()
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be positive, got {vocab_size}")
        self.config = config
        self.vocab_size = vocab_size
        self.block_size = config.block_size
        self.embedding = nn.Embedding(vocab_size, config.n_embd)
        # word2vec's initialisation: small uniform vectors, so an untrained table is near zero.
        nn.init.uniform_(self.embedding.weight, -0.5 / config.n_embd, 0.5 / config.n_embd)
        self.embedding.weight.requires_grad_(not config.freeze_embeddings)
        self.drop = nn.Dropout(config.dropout)
        self.lstm = nn.LSTM(
            config.n_embd, config.n_hidden, num_layers=config.n_layer, batch_first=True
        )

    @property
    def hidden_size(self) -> int:
        """Width of :meth:`hidden_states` (the LSTM's ``n_hidden``)."""
        return self.config.n_hidden

    def hidden_states(self, idx: torch.Tensor) -> torch.Tensor:
        """The top LSTM layer's state after each token, ``(B, T, n_hidden)``."""
        if idx.dim() != 2:
            raise ValueError(f"idx must have shape (batch, time), got {tuple(idx.shape)}")
        return self.lstm(self.drop(self.embedding(idx)))[0]

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`hidden_states`."""
        return self.hidden_states(idx)

    def optimizer_groups(self, weight_decay: float) -> list[dict]:
        """AdamW groups over the trainable parameters: matrices decayed, biases not (a frozen
        embedding is left out)."""
        decay = [p for p in self.parameters() if p.requires_grad and p.dim() >= 2]
        no_decay = [p for p in self.parameters() if p.requires_grad and p.dim() < 2]
        return [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]

    def num_parameters(self, non_embedding: bool = True) -> int:
        """Number of parameters, without the embedding table when ``non_embedding``."""
        total = sum(p.numel() for p in self.parameters())
        return total - self.embedding.weight.numel() if non_embedding else total
