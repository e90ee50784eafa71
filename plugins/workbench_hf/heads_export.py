"""A run's heads (reward, value, classifier: ``heads.pt``) as ``heads.safetensors`` + ``heads.json``.

Layout (documented in ``docs/interop.md``): every tensor of head ``NAME`` is stored under
``NAME.PARAM`` (e.g. ``reward.linear.weight`` ``(1, n_embd)`` and ``reward.linear.bias``
``(1,)``); ``heads.json`` lists each head's tensors and shapes, the run's stage and its options,
and what the heads read: the final hidden states of the model (``output_hidden_states[-1]`` of
``GPT2LMHeadModel``, i.e. after ``ln_f``), at the last real token of each sequence.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from workbench_hf import deps

__all__ = ["HEADS_FILE", "HEADS_INDEX", "export_heads"]

HEADS_FILE = "heads.safetensors"
HEADS_INDEX = "heads.json"

_READS = (
    "the model's final hidden states (after the final LayerNorm: hidden_states[-1] of "
    "GPT2LMHeadModel(..., output_hidden_states=True)), at the last real token of each sequence"
)


def export_heads(
    heads: Mapping[str, Mapping[str, torch.Tensor]],
    stage: Mapping[str, Any],
    out_dir: Path,
) -> list[Path]:
    """Write the heads' tensors and their index; nothing when the run has no heads."""
    if not heads:
        return []
    safetensors_torch = deps.safetensors_torch("exporting heads")
    tensors: dict[str, torch.Tensor] = {}
    index: dict[str, Any] = {}
    for name, state in heads.items():
        shapes = {}
        for param, tensor in state.items():
            tensors[f"{name}.{param}"] = tensor.detach().to("cpu").contiguous().clone()
            shapes[param] = list(tensor.shape)
        index[name] = {"tensors": shapes}
    path = out_dir / HEADS_FILE
    safetensors_torch.save_file(tensors, str(path), metadata={"format": "pt"})
    meta = {
        "format": "workbench-heads",
        "version": 1,
        "file": HEADS_FILE,
        "reads": _READS,
        "stage": dict(stage),
        "heads": index,
    }
    index_path = out_dir / HEADS_INDEX
    index_path.write_text(json.dumps(meta, indent=2) + "\n", "utf-8")
    return [path, index_path]
