"""A local Hugging Face ``transformers`` causal LM behind the workbench's model protocols.

:class:`HFCausalLM` wraps ``AutoModelForCausalLM`` loaded from a folder on disk (never from the
Hub: ``local_files_only``) and gives it what the stages need: ``forward(idx, targets) -> (logits,
loss)``, ``hidden_states`` and ``logits_from_hidden`` (for reward, value and classifier heads),
``generate`` with the workbench's contract (equal-length prompts, greedy at temperature 0, top-k,
top-p, stop sequences, a KV cache and the same sliding window as ``gpt``) and
``optimizer_groups``.

The logits are ``lm_head(final hidden states)``, the layout of GPT-2 and most decoder-only
models; a model whose own forward differs from that (a logit scale or soft-cap) is refused when
it is built, so that the two paths never disagree silently. Nothing here imports Lightning.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from workbench.sampling import generate_tokens
from workbench_hf import deps
from workbench_hf.config import check_model_dir

__all__ = ["HFCausalLM", "check_model_dir", "context_length"]

_PROBE_TOLERANCE = 1e-4


def context_length(hf_config: Any) -> int | None:
    """The number of positions a transformers config declares (GPT-2 ``n_positions``, most
    others ``max_position_embeddings``), or ``None`` when it names none."""
    for name in ("n_positions", "max_position_embeddings", "n_ctx", "seq_length"):
        value = getattr(hf_config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


class HFCausalLM(nn.Module):
    """A transformers causal LM over the first ``vocab_size`` ids of its vocabulary.

    ``self.hf`` is the transformers model; the state dict's keys are its own, under ``hf.``.
    """

    def __init__(self, hf_model: nn.Module, vocab_size: int, block_size: int) -> None:
        super().__init__()
        rows = hf_model.get_output_embeddings().weight.shape[0]
        if not 1 <= vocab_size <= rows:
            raise ValueError(
                f"hf-causal-lm: the tokenizer has {vocab_size} tokens but the model predicts "
                f"{rows}; use the model's own tokenizer (tokenizer: {{name: hf, path: ...}})"
            )
        self.hf = hf_model
        self.vocab_size = vocab_size
        self.block_size = block_size
        # transformers 5 renamed the key/value cache argument and output from
        # ``past_key_values`` to ``cache``; use whichever this version's model takes.
        parameters = inspect.signature(hf_model.forward).parameters
        self._cache_arg = "cache" if "cache" in parameters else "past_key_values"
        self._check_logits_layout()

    @classmethod
    def from_folder(
        cls, path: str | Path, vocab_size: int, block_size: int | None = None
    ) -> HFCausalLM:
        """Load the model in ``path`` (as float32, without any download); ``block_size`` caps its context."""
        folder = check_model_dir(path)
        transformers = deps.transformers("the hf-causal-lm architecture")
        hf_logging = transformers.utils.logging
        bar_was_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # no "Loading weights" bar in the run's output
        try:
            hf_model = transformers.AutoModelForCausalLM.from_pretrained(
                str(folder), local_files_only=True
            )
        except (OSError, ValueError, KeyError) as error:
            raise ValueError(
                f"hf-causal-lm: cannot load a causal LM from {folder}: {error}"
            ) from error
        finally:
            if bar_was_on:
                hf_logging.enable_progress_bar()
        limit = context_length(hf_model.config)
        if block_size is None:
            if limit is None:
                raise ValueError(
                    f"hf-causal-lm: {folder}/config.json names no context length; set block_size"
                )
            block_size = limit
        elif limit is not None and block_size > limit:
            raise ValueError(
                f"hf-causal-lm: block_size {block_size} exceeds the model's {limit} positions"
            )
        # Train and evaluate in float32 whatever dtype the checkpoint was saved in; start in
        # training mode like any new nn.Module (from_pretrained returns it in eval mode).
        hf_model = hf_model.float()
        hf_model.train(True)
        return cls(hf_model, vocab_size, block_size)

    def _check_logits_layout(self) -> None:
        """Refuse a model whose logits are not ``lm_head(last hidden state)``."""
        probe = torch.zeros(1, 2, dtype=torch.long)
        was_training = self.hf.training
        self.hf.train(False)
        try:
            with torch.no_grad():
                reference = self.hf(input_ids=probe, use_cache=False).logits[..., : self.vocab_size]
                ours = self.logits_from_hidden(self.hidden_states(probe))
        finally:
            self.hf.train(was_training)
        if not torch.allclose(reference, ours, atol=_PROBE_TOLERANCE, rtol=0):
            raise ValueError(
                f"hf-causal-lm: {type(self.hf).__name__}'s logits are not its output layer applied "
                "to its final hidden states (a logit scale or soft-cap?); this model is not "
                "supported"
            )

    # ------------------------------------------------------------------------------------------
    # Forward passes
    # ------------------------------------------------------------------------------------------

    @property
    def hidden_size(self) -> int:
        """Width of :meth:`hidden_states` (the ``sequence-encoder`` protocol)."""
        return int(self.hf.get_output_embeddings().weight.shape[1])

    def _check_length(self, idx: torch.Tensor) -> None:
        if idx.dim() != 2:
            raise ValueError(f"idx must have shape (batch, time), got {tuple(idx.shape)}")
        if idx.size(1) > self.block_size:
            raise ValueError(f"sequence length {idx.size(1)} exceeds block_size {self.block_size}")

    def hidden_states(self, idx: torch.Tensor) -> torch.Tensor:
        """Final (normalised) hidden states ``(B, T, hidden_size)``: the base model's last
        hidden state, which the output layer turns into logits."""
        self._check_length(idx)
        return self.hf.base_model(input_ids=idx, use_cache=False).last_hidden_state

    def logits_from_hidden(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits over the first ``vocab_size`` ids from :meth:`hidden_states`."""
        return self.hf.get_output_embeddings()(hidden)[..., : self.vocab_size]

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits ``(B, T, vocab_size)`` and, given ``targets``, the mean cross-entropy over
        positions whose target is not ``-1``."""
        logits = self.logits_from_hidden(self.hidden_states(idx))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(
                logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1), ignore_index=-1
            )
        return logits, loss

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
        """Continue each row of the equal-length prompts ``idx`` ``(B, T)``; return the new
        tokens of each row, cut at its first stop sequence (which is dropped).

        The contract of :meth:`workbench.protocols.CausalLM.generate`: ``temperature == 0`` is
        greedy; sampling uses :mod:`workbench.sampling`. With ``use_cache`` the model's own
        key/value cache serves each step until the sequence outgrows ``block_size``; from then on
        the last ``block_size`` tokens are recomputed at every step, as without the cache.
        """
        past: Any = None

        def next_logits(seq: torch.Tensor, step: int) -> torch.Tensor:
            nonlocal past
            if use_cache and seq.size(1) <= self.block_size:
                step_input = seq if past is None else seq[:, -1:]
                out = self.hf(input_ids=step_input, use_cache=True, **{self._cache_arg: past})
                past = getattr(out, self._cache_arg)
                return out.logits[:, -1, : self.vocab_size]
            past = None
            window = seq[:, -self.block_size :]
            hidden = self.hidden_states(window)[:, -1, :]
            return self.logits_from_hidden(hidden)

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
        """AdamW groups: tensors with two or more dimensions decayed, biases and norms not; a
        tied embedding/output matrix appears once."""
        decay: list[nn.Parameter] = []
        no_decay: list[nn.Parameter] = []
        for _, param in self.named_parameters():
            if param.requires_grad:
                (decay if param.dim() >= 2 else no_decay).append(param)
        return [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
