"""The weight mapping from a workbench ``gpt`` model to transformers' ``GPT2LMHeadModel``.

Both are the same network when the ``gpt`` run is pre-LN (GPT-2): token and position embeddings,
blocks of ``ln_1 -> attention (fused q,k,v) -> residual, ln_2 -> MLP (4x, exact GELU) ->
residual``, a final ``ln_f`` and an output layer tied (or not) to the token embedding. The
differences are of layout only:

- transformers' GPT-2 uses ``Conv1D`` layers whose weight is stored ``(in, out)``, the transpose
  of ``nn.Linear``'s ``(out, in)``: every attention and MLP matrix is transposed;
- GPT-2 always has biases: a ``gpt`` run with ``bias: false`` gets zero biases (the same function);
- the ``gpt`` embedding may carry padding rows (``pad_vocab_to``): only the tokenizer's real
  ``vocab_size`` rows are exported.

A post-LN (GPT-1) run has no GPT-2 equivalent and is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

__all__ = ["gpt2_config", "gpt2_state_dict", "check_gpt_options"]

_LAYER_NORM_EPS = 1e-5  # nn.LayerNorm's default, which the gpt model uses
_TRANSPOSED = ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")


def check_gpt_options(options: Mapping[str, Any]) -> None:
    """Refuse ``gpt`` options with no GPT-2 equivalent, naming the option."""
    norm = options.get("norm", "pre")
    if norm != "pre":
        raise ValueError(
            f"cannot export a post-LN (norm: {norm}) gpt run to Hugging Face: GPT-2 "
            "(GPT2LMHeadModel) puts the LayerNorm before each sub-layer and ends on a final "
            "LayerNorm, and transformers has no post-LN GPT-1 model this run's weights map to. "
            "Only pre-LN (norm: pre, GPT-2 style) gpt runs export."
        )


def gpt2_config(
    options: Mapping[str, Any],
    vocab_size: int,
    bos_token_id: int | None,
    eos_token_id: int | None,
) -> dict[str, Any]:
    """The ``config.json`` of the GPT-2 model equivalent to a ``gpt`` run with ``options``."""
    check_gpt_options(options)
    dropout = float(options.get("dropout", 0.0))
    config: dict[str, Any] = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": vocab_size,
        "n_positions": int(options["block_size"]),
        "n_embd": int(options["n_embd"]),
        "n_layer": int(options["n_layer"]),
        "n_head": int(options["n_head"]),
        "n_inner": None,  # 4 * n_embd, as in gpt's MLP
        # The gpt MLP uses exact nn.GELU; GPT-2's own default "gelu_new" is the tanh form.
        "activation_function": "gelu",
        "resid_pdrop": dropout,
        "embd_pdrop": dropout,
        "attn_pdrop": dropout,
        "layer_norm_epsilon": _LAYER_NORM_EPS,
        "initializer_range": 0.02,
        "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
        "tie_word_embeddings": bool(options.get("tie_weights", True)),
        "use_cache": True,
        "torch_dtype": "float32",
        # Explicit even when absent: GPT2Config would otherwise default both to 50256.
        "bos_token_id": bos_token_id,
        "eos_token_id": eos_token_id,
    }
    return config


def gpt2_state_dict(
    state: Mapping[str, torch.Tensor], options: Mapping[str, Any], vocab_size: int
) -> dict[str, torch.Tensor]:
    """``GPT2LMHeadModel`` tensors (contiguous float32 copies) from a ``gpt`` state dict.

    With tied weights ``lm_head.weight`` is left out (transformers ties it to
    ``transformer.wte.weight`` on loading); otherwise it is exported too.
    """
    check_gpt_options(options)
    n_layer, n_embd = int(options["n_layer"]), int(options["n_embd"])

    def get(key: str) -> torch.Tensor:
        if key not in state:
            raise ValueError(f"the gpt weights have no {key!r}; is this a gpt run?")
        return state[key].detach().to(torch.float32)

    def bias_or_zeros(key: str, size: int) -> torch.Tensor:
        return get(key) if key in state else torch.zeros(size)

    out: dict[str, torch.Tensor] = {
        "transformer.wte.weight": get("transformer.wte.weight")[:vocab_size],
        "transformer.wpe.weight": get("transformer.wpe.weight"),
        "transformer.ln_f.weight": get("transformer.ln_f.weight"),
        "transformer.ln_f.bias": bias_or_zeros("transformer.ln_f.bias", n_embd),
    }
    for i in range(n_layer):
        prefix = f"transformer.h.{i}."
        for norm in ("ln_1", "ln_2"):
            out[f"{prefix}{norm}.weight"] = get(f"{prefix}{norm}.weight")
            out[f"{prefix}{norm}.bias"] = bias_or_zeros(f"{prefix}{norm}.bias", n_embd)
        for layer in _TRANSPOSED:
            weight = get(f"{prefix}{layer}.weight")  # nn.Linear: (out, in)
            out[f"{prefix}{layer}.weight"] = weight.t()  # Conv1D: (in, out)
            out[f"{prefix}{layer}.bias"] = bias_or_zeros(f"{prefix}{layer}.bias", weight.shape[0])
    if not options.get("tie_weights", True):
        out["lm_head.weight"] = get("lm_head.weight")[:vocab_size]
    return {key: value.contiguous().clone() for key, value in out.items()}
