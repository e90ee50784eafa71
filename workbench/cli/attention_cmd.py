"""``workbench attention RUN --example N --out FILE.html``: a seq2seq run's attention maps.

For one example of a split, every layer's and head's encoder self-attention, decoder
self-attention and encoder-decoder attention, as plotly heatmaps in one self-contained HTML file.
The decoder runs on the model's own greedy output (``--target model``, the default) or on the
reference target (``--target reference``, teacher forcing).

:func:`collect_attention` does the work without printing or writing, for other front ends.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from workbench.cli.common import EXIT_OK, UserError, open_context
from workbench.cli.evaluate_cmd import require_protocol
from workbench.protocols import SEQ2SEQ, Seq2SeqTokenIds


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "attention",
        parents=[common],
        help="save a seq2seq run's attention maps for one example as HTML",
        description="Draw every layer's and head's encoder self-, decoder self- and cross-"
        "attention weights for example N of a split as plotly heatmaps in one HTML file.",
    )
    p.add_argument("run", help="run id or name")
    p.add_argument("--example", type=int, required=True, metavar="N", help="index in the split")
    p.add_argument("--split", choices=("train", "val", "test"), default="val")
    p.add_argument(
        "--target",
        choices=("model", "reference"),
        default="model",
        help="decode the model's own greedy output (default) or feed the reference target",
    )
    p.add_argument("--out", required=True, metavar="FILE.html", help="the HTML file to write")
    p.set_defaults(handler=cmd_attention)


@dataclass
class AttentionExample:
    """One example's tokens and attention weights, ready for :mod:`workbench.charts.attention`."""

    source: str
    reference: str
    output: str
    """The decoded model output (``--target model``), or the reference."""
    source_tokens: list[str]
    decoder_input_tokens: list[str]
    output_tokens: list[str]
    maps: dict[str, list[Any]]
    """Kind -> one ``(heads, queries, keys)`` array per layer (batch row 0)."""


def collect_attention(
    model: Any,
    tokenizer: Any,
    source: str,
    reference: str,
    *,
    target: Literal["model", "reference"] = "model",
    max_new_tokens: int | None = None,
) -> AttentionExample:
    """Run a :class:`workbench.protocols.Seq2SeqModel` on one pair and collect its attention."""
    import torch

    ids = Seq2SeqTokenIds.from_tokenizer(tokenizer)
    src_ids = [*tokenizer.encode(source), ids.eos]
    if len(src_ids) > model.max_len:
        raise UserError(
            f"the source has {len(src_ids)} tokens, more than the model's max_len {model.max_len}"
        )
    device = next(model.parameters()).device
    src = torch.tensor([src_ids], dtype=torch.long, device=device)
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


def cmd_attention(args: argparse.Namespace) -> int:
    from workbench.charts.attention import attention_figures, figures_html
    from workbench.runner import build

    ctx = open_context(args.home)
    run = ctx.store.find_run(args.run)
    require_protocol(ctx, run, SEQ2SEQ, "workbench attention")
    if not args.out.lower().endswith((".html", ".htm")):
        raise UserError(f"--out must name an .html file, got {args.out!r}")
    loaded = build.load_run(run.config, ctx.paths.run_dir(run.id), ctx.registry)
    dataset = build.build_dataset(loaded.resolved, ctx.registry, ctx.paths)
    pairs = dataset.split(args.split)
    if not 0 <= args.example < len(pairs):
        raise UserError(
            f"--example {args.example} is outside the {args.split} split (0..{len(pairs) - 1})"
            if pairs
            else f"the {args.split} split is empty"
        )
    source, reference = pairs[args.example]
    example = collect_attention(
        loaded.model, loaded.tokenizer, source, reference, target=args.target
    )
    figures = attention_figures(
        example.maps, example.source_tokens, example.decoder_input_tokens, example.output_tokens
    )
    details = {
        "run": f"{run.id} ({run.name})",
        "example": f"{args.split} #{args.example}",
        "source": example.source,
        "reference": example.reference,
        "decoder input": "model output (greedy)" if args.target == "model" else "reference",
        "output": example.output,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        figures_html(
            figures, f"Attention: run {run.id}, {args.split} example {args.example}", details
        ),
        encoding="utf-8",
    )
    print(f"wrote {out} ({len(figures)} figures)")
    print(f"  source  {example.source}")
    print(f"  output  {example.output}")
    return EXIT_OK
