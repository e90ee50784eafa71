"""The encoder-decoder Transformer of "Attention Is All You Need" as a plain ``torch.nn.Module``.

Layout (Vaswani et al. 2017, section 3): token embeddings scaled by ``sqrt(d_model)`` plus
sinusoidal (or learned) positions; an encoder of self-attention + feed-forward layers; a decoder
whose layers add masked self-attention and attention over the encoder output ("cross-attention");
a linear output projection. Each sub-layer sits in a residual connection with a LayerNorm after
the addition (post-LN, as in the paper) or before the sub-layer (pre-LN, an option that trains
more easily when deep). One vocabulary serves source and target, so by default the source
embedding, the target embedding and the output projection share one matrix (section 3.4).

Attention runs through ``F.scaled_dot_product_attention`` with boolean masks (``True`` = may
attend): source padding is masked out of every attention over the source, and the decoder's
self-attention is causal. :meth:`Transformer.attention_maps` recomputes the same attention with
explicit weights so they can be shown.

Incremental decoding keeps, per decoder layer, the keys and values of the tokens fed so far and
the keys and values of the encoder output (:class:`DecoderCache`), so each step feeds one token.
Greedy and beam search live in :mod:`workbench_transformer.decoding`.

Nothing in this module knows about Lightning; training lives in the ``seq2seq`` stage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from workbench_transformer.config import TransformerConfig

__all__ = ["DecoderCache", "Transformer", "TransformerConfig", "sinusoidal_positions"]


def sinusoidal_positions(max_len: int, d_model: int) -> torch.Tensor:
    """``PE[pos, 2i] = sin(pos / 10000^(2i/d))``, ``PE[pos, 2i+1] = cos(...)``: ``(max_len, d)``."""
    position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
    rates = torch.exp(
        torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model)
    )
    table = torch.zeros(max_len, d_model)
    table[:, 0::2] = torch.sin(position * rates)
    table[:, 1::2] = torch.cos(position * rates[: d_model // 2])
    return table


# ---------------------------------------------------------------------------------------------
# Caches for incremental decoding
# ---------------------------------------------------------------------------------------------


@dataclass
class LayerCache:
    """One decoder layer's keys and values ``(B, H, T, D)``: of the decoder inputs fed so far
    (growing by one position per step) and of the encoder output (computed once)."""

    self_k: torch.Tensor | None = None
    self_v: torch.Tensor | None = None
    cross_k: torch.Tensor | None = None
    cross_v: torch.Tensor | None = None


@dataclass
class DecoderCache:
    """The per-layer caches of a whole decoder and the number of positions already fed."""

    layers: list[LayerCache] = field(default_factory=list)
    length: int = 0

    def select(self, index: torch.Tensor) -> None:
        """Keep batch rows ``index`` (in that order): beam search reorders its hypotheses."""
        for layer in self.layers:
            for name in ("self_k", "self_v", "cross_k", "cross_v"):
                value = getattr(layer, name)
                if value is not None:
                    setattr(layer, name, value.index_select(0, index))


# ---------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------


class MultiHeadAttention(nn.Module):
    """``h`` scaled dot-product attention heads over learned projections of queries, keys and
    values, concatenated and projected back to ``d_model``."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        d = config.d_model
        self.n_head = config.n_head
        self.head_dim = d // config.n_head
        self.attention_dropout = config.attention_dropout
        self.q_proj = nn.Linear(d, d, bias=config.bias)
        self.k_proj = nn.Linear(d, d, bias=config.bias)
        self.v_proj = nn.Linear(d, d, bias=config.bias)
        self.out_proj = nn.Linear(d, d, bias=config.bias)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        return x.view(B, T, self.n_head, self.head_dim).transpose(1, 2)

    def keys_values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values ``(B, H, T, D)`` of ``x`` ``(B, T, C)``."""
        return self._split(self.k_proj(x)), self._split(self.v_proj(x))

    def forward(
        self,
        x: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        mask: torch.Tensor | None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend from queries of ``x`` ``(B, T, C)`` over ``k``/``v``; ``mask`` broadcasts to
        ``(B, H, T, S)`` and is ``True`` where attention is allowed. Returns the output and, with
        ``need_weights``, the weights ``(B, H, T, S)``."""
        B, T, C = x.shape
        q = self._split(self.q_proj(x))
        dropout_p = self.attention_dropout if self.training else 0.0
        weights = None
        if need_weights:
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            weights = scores.softmax(dim=-1)
            y = F.dropout(weights, dropout_p, self.training) @ v
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.out_proj(y), weights


class FeedForward(nn.Module):
    """Position-wise feed-forward network: ``max(0, x W1 + b1) W2 + b2``."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.fc1 = nn.Linear(config.d_model, config.d_ff, bias=config.bias)
        self.fc2 = nn.Linear(config.d_ff, config.d_model, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.dropout(F.relu(self.fc1(x))))


class EncoderLayer(nn.Module):
    """Self-attention over the source, then the feed-forward network."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.pre_norm = config.norm == "pre"
        self.self_attn = MultiHeadAttention(config)
        self.norm1 = nn.LayerNorm(config.d_model, bias=config.bias)
        self.ff = FeedForward(config)
        self.norm2 = nn.LayerNorm(config.d_model, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None, need_weights: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.norm1(x) if self.pre_norm else x
        a, weights = self.self_attn(h, *self.self_attn.keys_values(h), mask, need_weights)
        x = x + self.dropout(a) if self.pre_norm else self.norm1(x + self.dropout(a))
        h = self.norm2(x) if self.pre_norm else x
        f = self.ff(h)
        x = x + self.dropout(f) if self.pre_norm else self.norm2(x + self.dropout(f))
        return x, weights


class DecoderLayer(nn.Module):
    """Masked self-attention over the target so far, attention over the encoder output, then the
    feed-forward network."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.pre_norm = config.norm == "pre"
        self.self_attn = MultiHeadAttention(config)
        self.norm1 = nn.LayerNorm(config.d_model, bias=config.bias)
        self.cross_attn = MultiHeadAttention(config)
        self.norm2 = nn.LayerNorm(config.d_model, bias=config.bias)
        self.ff = FeedForward(config)
        self.norm3 = nn.LayerNorm(config.d_model, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def _residual(self, x: torch.Tensor, out: torch.Tensor, norm: nn.Module) -> torch.Tensor:
        return x + self.dropout(out) if self.pre_norm else norm(x + self.dropout(out))

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        self_mask: torch.Tensor | None,
        cross_mask: torch.Tensor | None,
        cache: LayerCache | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        h = self.norm1(x) if self.pre_norm else x
        k, v = self.self_attn.keys_values(h)
        if cache is not None:
            if cache.self_k is not None and cache.self_v is not None:
                k = torch.cat([cache.self_k, k], dim=2)
                v = torch.cat([cache.self_v, v], dim=2)
            cache.self_k, cache.self_v = k, v
        a, self_weights = self.self_attn(h, k, v, self_mask, need_weights)
        x = self._residual(x, a, self.norm1)

        h = self.norm2(x) if self.pre_norm else x
        if cache is not None and cache.cross_k is not None and cache.cross_v is not None:
            ck, cv = cache.cross_k, cache.cross_v
        else:
            ck, cv = self.cross_attn.keys_values(memory)
            if cache is not None:
                cache.cross_k, cache.cross_v = ck, cv
        a, cross_weights = self.cross_attn(h, ck, cv, cross_mask, need_weights)
        x = self._residual(x, a, self.norm2)

        h = self.norm3(x) if self.pre_norm else x
        x = self._residual(x, self.ff(h), self.norm3)
        return x, self_weights, cross_weights


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


def _key_mask(pad: torch.Tensor | None) -> torch.Tensor | None:
    """``(B, S)`` padding flags -> ``(B, 1, 1, S)`` "may attend" mask (``None`` stays ``None``)."""
    return None if pad is None else (~pad.bool())[:, None, None, :]


class Transformer(nn.Module):
    """Encoder-decoder Transformer over ``vocab_size`` token ids shared by source and target."""

    def __init__(self, config: TransformerConfig, vocab_size: int) -> None:
        super().__init__()
        if vocab_size < 2:
            raise ValueError(f"vocab_size must be at least 2, got {vocab_size}")
        self.config = config
        self.vocab_size = vocab_size
        self.max_len = config.max_len
        d = config.d_model

        self.src_embed = nn.Embedding(vocab_size, d)
        self.tgt_embed = nn.Embedding(vocab_size, d)
        self.generator = nn.Linear(d, vocab_size, bias=False)
        if config.positions == "learned":
            self.pos_embed: nn.Embedding | None = nn.Embedding(config.max_len, d)
        else:
            self.pos_embed = None
            self.register_buffer(
                "pos_table", sinusoidal_positions(config.max_len, d), persistent=False
            )
        self.embed_scale = math.sqrt(d) if config.scale_embeddings else 1.0
        self.dropout = nn.Dropout(config.dropout)
        self.encoder = nn.ModuleList(EncoderLayer(config) for _ in range(config.encoder_layers))
        self.decoder = nn.ModuleList(DecoderLayer(config) for _ in range(config.decoder_layers))
        pre = config.norm == "pre"
        self.encoder_norm = nn.LayerNorm(d, bias=config.bias) if pre else nn.Identity()
        self.decoder_norm = nn.LayerNorm(d, bias=config.bias) if pre else nn.Identity()

        self._init_weights()
        if config.share_embeddings:
            self.tgt_embed.weight = self.src_embed.weight
            self.generator.weight = self.src_embed.weight

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        # With embeddings scaled by sqrt(d), this std gives unit-variance inputs, and as the
        # (tied) output projection it gives logits of unit scale.
        std = self.config.d_model**-0.5
        for embedding in (self.src_embed, self.tgt_embed):
            nn.init.normal_(embedding.weight, mean=0.0, std=std)
        if self.pos_embed is not None:
            nn.init.normal_(self.pos_embed.weight, mean=0.0, std=std)
        if not self.config.share_embeddings:
            nn.init.normal_(self.generator.weight, mean=0.0, std=std)

    # -- embeddings --------------------------------------------------------------------------

    def _embed(self, table: nn.Embedding, ids: torch.Tensor, start: int = 0) -> torch.Tensor:
        if ids.dim() != 2:
            raise ValueError(f"token ids must have shape (batch, time), got {tuple(ids.shape)}")
        end = start + ids.size(1)
        if end > self.max_len:
            raise ValueError(f"sequence of {end} positions exceeds max_len {self.max_len}")
        x = table(ids) * self.embed_scale
        if self.pos_embed is not None:
            x = x + self.pos_embed(torch.arange(start, end, device=ids.device))
        else:
            x = x + self.pos_table[start:end].to(x.dtype)
        return self.dropout(x)

    # -- encoder and decoder -----------------------------------------------------------------

    def _encode(
        self, src: torch.Tensor, src_pad: torch.Tensor | None, need_weights: bool
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        mask = _key_mask(src_pad)
        x = self._embed(self.src_embed, src)
        weights = []
        for layer in self.encoder:
            x, w = layer(x, mask, need_weights)
            if w is not None:
                weights.append(w)
        return self.encoder_norm(x), weights

    def encode(self, src: torch.Tensor, src_pad: torch.Tensor | None = None) -> torch.Tensor:
        """Encoder output ``(B, S, d_model)`` of source ids ``src`` ``(B, S)``; ``src_pad`` is
        ``True`` at padding positions, which no position attends to."""
        return self._encode(src, src_pad, need_weights=False)[0]

    def _decode(
        self,
        tgt: torch.Tensor,
        memory: torch.Tensor,
        src_pad: torch.Tensor | None,
        tgt_pad: torch.Tensor | None,
        cache: DecoderCache | None,
        need_weights: bool,
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        past = cache.length if cache is not None else 0
        T = tgt.size(1)
        # Query i (absolute position past + i) may see keys 0 .. past + i: no look-ahead.
        self_mask: torch.Tensor | None = torch.ones(
            T, past + T, dtype=torch.bool, device=tgt.device
        ).tril(diagonal=past)
        if tgt_pad is not None:
            if cache is not None:
                raise ValueError("tgt_pad is for teacher-forced passes, not cached decoding")
            self_mask = self_mask & _key_mask(tgt_pad)  # type: ignore[operator]
        elif T == 1:
            self_mask = None  # one new query sees every position fed so far
        cross_mask = _key_mask(src_pad)
        if cache is not None and not cache.layers:
            cache.layers = [LayerCache() for _ in self.decoder]
        x = self._embed(self.tgt_embed, tgt, start=past)
        self_weights, cross_weights = [], []
        for i, layer in enumerate(self.decoder):
            layer_cache = cache.layers[i] if cache is not None else None
            x, ws, wc = layer(x, memory, self_mask, cross_mask, layer_cache, need_weights)
            if ws is not None and wc is not None:
                self_weights.append(ws)
                cross_weights.append(wc)
        if cache is not None:
            cache.length = past + T
        return self.generator(self.decoder_norm(x)), self_weights, cross_weights

    def decode(
        self,
        tgt: torch.Tensor,
        memory: torch.Tensor,
        src_pad: torch.Tensor | None = None,
        tgt_pad: torch.Tensor | None = None,
        cache: DecoderCache | None = None,
    ) -> torch.Tensor:
        """Logits ``(B, T, V)`` for decoder inputs ``tgt``, continuing after what ``cache``
        holds (when given)."""
        return self._decode(tgt, memory, src_pad, tgt_pad, cache, need_weights=False)[0]

    def forward(
        self,
        src: torch.Tensor,
        tgt: torch.Tensor,
        src_pad: torch.Tensor | None = None,
        tgt_pad: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Teacher-forced logits ``(B, T, V)``: ``tgt`` is the target shifted right (``<bos>``
        first); row ``t`` predicts target token ``t``."""
        return self.decode(tgt, self.encode(src, src_pad), src_pad, tgt_pad)

    # -- incremental decoding ----------------------------------------------------------------

    def new_cache(self) -> DecoderCache:
        """An empty cache for :meth:`decode_step`."""
        return DecoderCache()

    def decode_step(
        self,
        tokens: torch.Tensor,
        memory: torch.Tensor,
        src_pad: torch.Tensor | None,
        cache: DecoderCache,
    ) -> torch.Tensor:
        """Feed one token per row ``(B,)`` at position ``cache.length``; logits ``(B, V)`` of the
        token that follows."""
        return self.decode(tokens.view(-1, 1), memory, src_pad, cache=cache)[:, -1, :]

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
        """Greedy decoding (``beam_size == 1``) or beam search; see
        :mod:`workbench_transformer.decoding`. Returns ids without ``<bos>``/``<eos>``."""
        from workbench_transformer.decoding import beam_search, greedy_decode

        was_training = self.training
        self.eval()
        try:
            if beam_size == 1:
                return greedy_decode(self, src, src_pad, bos_id, eos_id, max_new_tokens, banned_ids)
            return beam_search(
                self,
                src,
                src_pad,
                bos_id,
                eos_id,
                max_new_tokens,
                beam_size=beam_size,
                length_penalty=length_penalty,
                banned_ids=banned_ids,
            )
        finally:
            self.train(was_training)

    # -- inspection --------------------------------------------------------------------------

    @torch.no_grad()
    def attention_maps(
        self, src: torch.Tensor, tgt: torch.Tensor, src_pad: torch.Tensor | None = None
    ) -> dict[str, list[torch.Tensor]]:
        """Attention weights of a teacher-forced pass in eval mode: ``encoder_self``,
        ``decoder_self`` and ``cross``, one ``(B, heads, queries, keys)`` tensor per layer."""
        was_training = self.training
        self.eval()
        try:
            memory, encoder_self = self._encode(src, src_pad, need_weights=True)
            _, decoder_self, cross = self._decode(
                tgt, memory, src_pad, None, None, need_weights=True
            )
        finally:
            self.train(was_training)
        return {"encoder_self": encoder_self, "decoder_self": decoder_self, "cross": cross}

    def num_parameters(self) -> int:
        """Number of parameters (a shared matrix counted once)."""
        return sum(p.numel() for p in self.parameters())
