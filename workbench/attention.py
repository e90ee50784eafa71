"""A seq2seq run's attention for one example: the data behind the attention maps.

:func:`select_example` picks a pair out of a dataset split and :func:`collect_attention` runs a
:class:`workbench.protocols.Seq2SeqModel` on it, returning token labels and every layer's and
head's weights ready for :func:`workbench.charts.attention.attention_figures`. Front ends (the
``workbench attention`` command, the dashboard's run page) only load the run and draw; bad input
is reported as :class:`AttentionError` with a message meant for the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from workbench.protocols import Seq2SeqTokenIds

__all__ = ["AttentionError", "AttentionExample", "collect_attention", "select_example"]


class AttentionError(ValueError):
    """An example that cannot be shown (index outside the split, source too long, ...)."""


@dataclass
class AttentionExample:
    """One example's tokens and attention weights, ready for :mod:`workbench.charts.attention`."""

    source: str
    reference: str
    output: str
    """The decoded model output (``target="model"``), or the reference."""
    source_tokens: list[str]
    decoder_input_tokens: list[str]
    output_tokens: list[str]
    maps: dict[str, list[Any]]
    """Kind -> one ``(heads, queries, keys)`` array per layer (batch row 0)."""


def select_example(
    dataset: Any, split: str, index: int, *, name: str = "example"
) -> tuple[str, str]:
    """The ``(source, reference)`` pair at ``index`` of ``dataset.split(split)``.

    ``name`` is how the message refers to the index (the CLI says ``--example``)."""
    pairs = dataset.split(split)
    if not 0 <= index < len(pairs):
        raise AttentionError(
            f"{name} {index} is outside the {split} split (0..{len(pairs) - 1})"
            if pairs
            else f"the {split} split is empty"
        )
    source, reference = pairs[index]
    return source, reference


def collect_attention(
    model: Any,
    tokenizer: Any,
    source: str,
    reference: str,
    *,
    target: Literal["model", "reference"] = "model",
    max_new_tokens: int | None = None,
) -> AttentionExample:
    """Run a :class:`workbench.protocols.Seq2SeqModel` on one pair and collect its attention.

    The decoder reads the model's own greedy output (``target="model"``) or the reference
    (teacher forcing); either is cut to the model's ``max_len``."""
    import torch

    ids = Seq2SeqTokenIds.from_tokenizer(tokenizer)
    src_ids = [*tokenizer.encode(source), ids.eos]
    if len(src_ids) > model.max_len:
        raise AttentionError(
            f"the source has {len(src_ids)} tokens, more than the model's max_len {model.max_len}"
        )
    device = next(model.parameters()).device
    src = torch.tensor([src_ids], dtype=torch.long, device=device)
    with torch.no_grad():
        if target == "model":
            budget = max_new_tokens or max(1, min(model.max_len - 1, 2 * len(src_ids) + 10))
            out_ids = model.generate(
                src,
                None,
                bos_id=ids.bos,
                eos_id=ids.eos,
                max_new_tokens=budget,
                banned_ids=(ids.pad, ids.bos),
            )[0]
        else:
            out_ids = tokenizer.encode(reference)
        out_ids = out_ids[: model.max_len - 1]
        tgt = torch.tensor([[ids.bos, *out_ids]], dtype=torch.long, device=device)
        maps = model.attention_maps(src, tgt)

    def labels(token_ids: list[int]) -> list[str]:
        return [tokenizer.decode([i]) for i in token_ids]

    return AttentionExample(
        source=source,
        reference=reference,
        output=tokenizer.decode(out_ids),
        source_tokens=labels(src_ids),
        decoder_input_tokens=labels([ids.bos, *out_ids]),
        output_tokens=labels([*out_ids, ids.eos]),
        maps={
            kind: [layer[0].float().cpu().numpy() for layer in layers]
            for kind, layers in maps.items()
        },
    )
