"""The ``hf`` export format: a finished run as a transformers model folder.

``workbench export RUN --format hf -o DIR`` writes ``config.json``, ``model.safetensors``,
``generation_config.json``, ``tokenizer.json`` and ``tokenizer_config.json`` (and, when the run
has heads, ``heads.safetensors`` and ``heads.json``), so that ``AutoModelForCausalLM`` and
``AutoTokenizer.from_pretrained(DIR)`` load it offline.

Mapped architectures: ``gpt`` with ``norm: pre`` (as ``GPT2LMHeadModel``, see
:mod:`workbench_hf.gpt_to_gpt2`) and ``hf-causal-lm`` (saved with its own ``save_pretrained``).
Anything else is refused with a ``ValueError`` naming the architecture (exit 2).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench.specs import ExportContext
from workbench_hf import deps
from workbench_hf.config import HFExportConfig
from workbench_hf.gpt_to_gpt2 import check_gpt_options, gpt2_config, gpt2_state_dict
from workbench_hf.heads_export import export_heads
from workbench_hf.specs import HF_EXPORTER_SPEC  # noqa: F401  (re-exported)
from workbench_hf.tokenizer_export import export_tokenizer

__all__ = ["HF_EXPORTER_SPEC", "HFExportConfig", "export_hf"]

MAPPED_ARCHITECTURES = ("gpt", "hf-causal-lm")


def _write_json(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    return path


def _generation_config(special_ids: dict[str, int]) -> dict[str, Any]:
    config: dict[str, Any] = {"_from_model_config": False}
    if "bos_token" in special_ids:
        config["bos_token_id"] = special_ids["bos_token"]
    if "eos_token" in special_ids:
        config["eos_token_id"] = special_ids["eos_token"]
        config["pad_token_id"] = special_ids.get("pad_token", special_ids["eos_token"])
    elif "pad_token" in special_ids:
        config["pad_token_id"] = special_ids["pad_token"]
    return config


def _export_gpt(ctx: ExportContext, architecture: dict[str, Any]) -> list[Path]:
    check_gpt_options(architecture)
    safetensors_torch = deps.safetensors_torch("exporting to Hugging Face")
    tokenizer_block = ctx.run_config["tokenizer"]
    exported = export_tokenizer(
        ctx.tokenizer, tokenizer_block["name"], ctx.out_dir, int(architecture["block_size"])
    )
    vocab_size = int(ctx.tokenizer.vocab_size)
    ids = exported.special_ids
    config = gpt2_config(architecture, vocab_size, ids.get("bos_token"), ids.get("eos_token"))
    if "pad_token" in ids:
        config["pad_token_id"] = ids["pad_token"]
    tensors = gpt2_state_dict(ctx.model.state_dict(), architecture, vocab_size)
    weights = ctx.out_dir / "model.safetensors"
    safetensors_torch.save_file(tensors, str(weights), metadata={"format": "pt"})
    return [
        _write_json(ctx.out_dir / "config.json", config),
        weights,
        _write_json(ctx.out_dir / "generation_config.json", _generation_config(ids)),
        *exported.files,
    ]


def _export_hf_causal_lm(ctx: ExportContext) -> list[Path]:
    deps.safetensors_torch("exporting to Hugging Face")
    hf_model = ctx.model.hf
    hf_model.save_pretrained(str(ctx.out_dir), safe_serialization=True)
    exported = export_tokenizer(ctx.tokenizer, "hf", ctx.out_dir, int(ctx.model.block_size))
    files = [p for p in sorted(ctx.out_dir.iterdir()) if p.is_file()]
    return sorted(set(files) | set(exported.files))


def export_hf(ctx: ExportContext) -> list[Path]:
    """Write the run in ``ctx`` to ``ctx.out_dir``; return the files written."""
    architecture = dict(ctx.run_config["architecture"])
    name = architecture.pop("name")
    if name == "gpt":
        files = _export_gpt(ctx, architecture)
    elif name == "hf-causal-lm":
        files = _export_hf_causal_lm(ctx)
    else:
        raise ValueError(
            f"cannot export architecture {name!r} to Hugging Face: no transformers mapping "
            f"(exportable: {', '.join(MAPPED_ARCHITECTURES)} - gpt with norm: pre)"
        )
    if getattr(ctx.config, "heads", True):
        files += export_heads(ctx.heads, ctx.run_config.get("stage", {}), ctx.out_dir)
    return files
