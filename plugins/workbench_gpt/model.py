"""A decoder-only Transformer language model (GPT-1 / GPT-2 style) as a plain ``torch.nn.Module``.

The layout follows the familiar nanoGPT shape: token and learned position embeddings, a stack of
blocks (causal self-attention followed by a 4x GELU MLP, each wrapped in a residual connection with
a LayerNorm before it (pre-LN, GPT-2) or after it (post-LN, GPT-1)), and a language-model head
whose weight is, by default, the token embedding matrix.

Generation uses a per-layer key/value cache (:class:`KVCache`): the prompt is run once and every
later step feeds only the newest token. Learned absolute positions stop at ``block_size``, so once
the sequence is longer than that the context window has to slide; after sliding, each token sits
at a different position than before and cached keys/values are no longer valid. From that point
generation therefore recomputes the last ``block_size`` tokens at every step, exactly what the
uncached path does, which keeps both paths token-for-token identical under greedy decoding.

Nothing in this module knows about Lightning; training loops live in the stages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from workbench.sampling import generate_tokens
from workbench_gpt.config import GPTConfig

__all__ = ["GPT", "GPTConfig", "KVCache"]


class KVCache:
    """Keys and values already computed by one attention layer, for incremental decoding.

    Buffers of shape ``(B, n_head, max_len, head_dim)`` are allocated on the first
    :meth:`append` (with that call's dtype and device, so autocast works); ``length`` counts the
    positions filled so far.
    """

    def __init__(self, max_len: int) -> None:
        self.max_len = max_len
        self.length = 0
        self.k: torch.Tensor | None = None
        self.v: torch.Tensor | None = None

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store ``k``/``v`` ``(B, H, T, D)`` after the cached ones; return all keys and values."""
        end = self.length + k.size(2)
        if end > self.max_len:
            raise ValueError(f"KV cache overflow: {end} positions > max_len {self.max_len}")
        if self.k is None or self.v is None:
            shape = (k.size(0), k.size(1), self.max_len, k.size(3))
            self.k = k.new_empty(shape)
            self.v = v.new_empty(shape)
        self.k[:, :, self.length : end] = k
        self.v[:, :, self.length : end] = v
        self.length = end
        return self.k[:, :, :end], self.v[:, :, :end]


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where each position sees itself and the positions before it."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        # Queries, keys and values of all heads in one matmul, then the output projection.
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        B, T, C = x.shape
        head_dim = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, head_dim).transpose(1, 2)
        k = k.view(B, T, self.n_head, head_dim).transpose(1, 2)
        v = v.view(B, T, self.n_head, head_dim).transpose(1, 2)
        if cache is not None:
            k, v = cache.append(k, v)
        past = k.size(2) - T
        dropout_p = self.dropout if self.training else 0.0
        if past == 0:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
        elif T == 1:
            # A single new query may look at every cached position.
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
        else:
            # Several new queries after a cached prefix: query i sees keys 0 .. past + i.
            mask = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(diagonal=past)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))

    def attention_probs(self, x: torch.Tensor) -> torch.Tensor:
        """The attention probabilities ``(B, n_head, T, T)`` this layer gives input ``x``.

        ``scaled_dot_product_attention`` never materialises them, so they are recomputed here from
        the same query and key projections: ``softmax(q k^T / sqrt(head_dim))`` under the causal
        mask (dropout is not applied). For inspection only; training never calls this.
        """
        B, T, C = x.shape
        head_dim = C // self.n_head
        q, k, _ = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, head_dim).transpose(1, 2)
        k = k.view(B, T, self.n_head, head_dim).transpose(1, 2)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(head_dim)
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
        return F.softmax(scores.float(), dim=-1)


class MLP(nn.Module):
    """Position-wise feed-forward network: expand 4x, GELU, project back."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """One Transformer block; ``norm`` decides whether LayerNorm comes before or after each
    residual addition."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.pre_norm = config.norm == "pre"
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        if self.pre_norm:
            x = x + self.attn(self.ln_1(x), cache)
            x = x + self.mlp(self.ln_2(x))
        else:
            x = self.ln_1(x + self.attn(x, cache))
            x = self.ln_2(x + self.mlp(x))
        return x


class GPT(nn.Module):
    """Decoder-only Transformer language model over ``vocab_size`` token ids.

    ``vocab_size`` is the tokenizer's real vocabulary; the embedding and output matrices may have
    extra padding rows (``config.pad_vocab_to``) but logits are only ever returned over the real
    vocabulary.
    """

    def __init__(self, config: GPTConfig, vocab_size: int) -> None:
        super().__init__()
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be positive, got {vocab_size}")
        self.config = config
        self.vocab_size = vocab_size
        self.block_size = config.block_size
        pad = config.pad_vocab_to
        self.padded_vocab_size = ((vocab_size + pad - 1) // pad) * pad

        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(self.padded_vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList(Block(config) for _ in range(config.n_layer)),
                # GPT-1 (post-LN) ends on the last block's own LayerNorm; GPT-2 adds a final one.
                ln_f=(
                    nn.LayerNorm(config.n_embd, bias=config.bias)
                    if config.norm == "pre"
                    else nn.Identity()
                ),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, self.padded_vocab_size, bias=False)
        if config.tie_weights:
            self.lm_head.weight = self.transformer.wte.weight

        self.apply(self._init_weights)
        # GPT-2: shrink the projections that write into the residual stream so that its variance
        # does not grow with depth (two residual additions per block).
        residual_std = 0.02 / math.sqrt(2 * config.n_layer)
        for name, param in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(param, mean=0.0, std=residual_std)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    # ------------------------------------------------------------------------------------------
    # Forward passes
    # ------------------------------------------------------------------------------------------

    def _trunk(self, idx: torch.Tensor, caches: Sequence[KVCache] | None = None) -> torch.Tensor:
        """Final hidden states of ``idx``, continuing after what ``caches`` hold (if given)."""
        if idx.dim() != 2:
            raise ValueError(f"idx must have shape (batch, time), got {tuple(idx.shape)}")
        T = idx.size(1)
        start = caches[0].length if caches else 0
        if start + T > self.block_size:
            if start:
                raise ValueError(
                    f"{start} cached + {T} new positions exceed block_size {self.block_size}"
                )
            raise ValueError(f"sequence length {T} exceeds block_size {self.block_size}")
        pos = torch.arange(start, start + T, dtype=torch.long, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for i, block in enumerate(self.transformer.h):
            x = block(x, caches[i] if caches else None)
        return self.transformer.ln_f(x)

    def logits_from_hidden(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits over the real (unpadded) vocabulary from :meth:`hidden_states`, so a stage that
        needs both (an auxiliary LM loss, a value head) runs the trunk once."""
        return self.lm_head(hidden)[..., : self.vocab_size]

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits ``(B, T, vocab_size)`` and, given ``targets`` ``(B, T)``, the mean cross-entropy
        over positions whose target is not ``-1``."""
        logits = self.logits_from_hidden(self._trunk(idx))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(
                logits.reshape(-1, logits.size(-1)).float(),
                targets.reshape(-1),
                ignore_index=-1,
            )
        return logits, loss

    @property
    def hidden_size(self) -> int:
        """Width of :meth:`hidden_states` (the :class:`~workbench.protocols.SequenceEncoder`
        protocol)."""
        return self.config.n_embd

    def hidden_states(self, idx: torch.Tensor) -> torch.Tensor:
        """Final hidden states ``(B, T, n_embd)``: after the final LayerNorm (pre-LN) or the last
        block's output LayerNorm (post-LN); ``lm_head`` applied to them gives the logits."""
        return self._trunk(idx)

    def new_kv_cache(self) -> list[KVCache]:
        """An empty key/value cache, one :class:`KVCache` per layer, for :meth:`decode`."""
        return [KVCache(self.block_size) for _ in range(self.config.n_layer)]

    def decode(self, idx: torch.Tensor, cache: list[KVCache]) -> torch.Tensor:
        """Logits ``(B, T, vocab_size)`` for ``idx`` as the continuation of the tokens already in
        ``cache``, whose keys and values are appended. The first call (empty cache) is the prompt
        "prefill"; cached plus new positions may not exceed ``block_size``."""
        return self.logits_from_hidden(self._trunk(idx, cache))

    @torch.no_grad()
    def attention_weights(self, idx: torch.Tensor) -> list[torch.Tensor]:
        """Attention probabilities of every layer for ``idx`` ``(B, T)``, ``T <= block_size``.

        Returns one tensor ``(B, n_head, T, T)`` per layer: row ``t`` of a head is how position
        ``t`` spreads its attention over positions ``0 .. t`` (each row sums to 1, and everything
        above the diagonal is 0). The model runs in eval mode (no dropout) for the call.
        """
        if idx.dim() != 2:
            raise ValueError(f"idx must have shape (batch, time), got {tuple(idx.shape)}")
        T = idx.size(1)
        if T > self.block_size:
            raise ValueError(f"sequence length {T} exceeds block_size {self.block_size}")
        was_training = self.training
        self.eval()
        try:
            pos = torch.arange(T, dtype=torch.long, device=idx.device)
            x = self.transformer.wte(idx) + self.transformer.wpe(pos)
            weights: list[torch.Tensor] = []
            for block in self.transformer.h:
                attn_input = block.ln_1(x) if block.pre_norm else x
                weights.append(block.attn.attention_probs(attn_input))
                x = block(x)
            return weights
        finally:
            self.train(was_training)

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

        ``temperature == 0`` is greedy decoding; otherwise logits are divided by ``temperature``,
        optionally restricted to the ``top_k`` most likely tokens and then to the smallest set whose
        probability reaches ``top_p`` (nucleus sampling), and sampled with ``generator`` (which must
        live on the model's device). A row stops at the first stop sequence completed within its
        generated tokens; that sequence is dropped from the row's output, and empty stop
        sequences are ignored. Generation ends early once every row has stopped.

        With ``use_cache`` the prompt is run once and each step feeds only the newest token; once
        the sequence outgrows ``block_size`` the context is cropped to the last ``block_size``
        tokens and recomputed every step (as without the cache), so both settings return the same
        tokens under greedy decoding. The model is in eval mode during the call and its previous
        mode is restored afterwards.
        """
        cache: list[KVCache] | None = None

        def next_logits(seq: torch.Tensor, step: int) -> torch.Tensor:
            nonlocal cache
            if use_cache and seq.size(1) <= self.block_size:
                if cache is None:
                    cache = self.new_kv_cache()
                    return self.decode(seq, cache)[:, -1, :]
                return self.decode(seq[:, -1:], cache)[:, -1, :]
            # No cache, or the window has started to slide: recompute the last block_size.
            cache = None
            hidden = self._trunk(seq[:, -self.block_size :])
            return self.logits_from_hidden(hidden[:, -1, :])

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
        """AdamW parameter groups: every trainable tensor with two or more dimensions (linear
        weights and embeddings) is decayed, biases and LayerNorm weights are not. A tied
        embedding/output matrix appears once."""
        decay: list[nn.Parameter] = []
        no_decay: list[nn.Parameter] = []
        # named_parameters() yields a shared (tied) tensor only once.
        for _, param in self.named_parameters():
            if not param.requires_grad:
                continue
            (decay if param.dim() >= 2 else no_decay).append(param)
        return [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]

    def num_parameters(self, non_embedding: bool = True) -> int:
        """Number of parameters (a tied matrix counted once).

        With ``non_embedding`` the position embeddings are left out, and so is the token embedding
        unless it doubles as the output layer (tied weights), following nanoGPT's convention for
        the ``N`` in scaling-law and FLOP estimates.
        """
        total = sum(p.numel() for p in self.parameters())
        if non_embedding:
            total -= self.transformer.wpe.weight.numel()
            if not self.config.tie_weights:
                total -= self.transformer.wte.weight.numel()
        return total

    def flops_per_token(self, seq_len: int | None = None) -> int:
        """Estimated training FLOPs (forward plus backward) per token at context ``seq_len``
        (default ``block_size``).

        Uses the estimate from the PaLM paper's appendix: ``6 * N`` for the matrix multiplies
        with the ``N`` non-embedding parameters (2 FLOPs per multiply-add forward, twice that
        backward), plus ``12 * L * H * Q * T`` for the attention scores and weighted sums, with
        ``L`` layers, ``H`` heads, head size ``Q`` and context ``T``. Divide achieved FLOP/s by
        the hardware peak to get MFU.
        """
        T = self.block_size if seq_len is None else seq_len
        L, H = self.config.n_layer, self.config.n_head
        Q = self.config.n_embd // H
        return 6 * self.num_parameters(non_embedding=True) + 12 * L * H * Q * T
