"""``workbench attention RUN --example N --out FILE.html``: a seq2seq run's attention maps.

For one example of a split, every layer's and head's encoder self-attention, decoder
self-attention and encoder-decoder attention, as plotly heatmaps in one self-contained HTML file.
The decoder runs on the model's own greedy output (``--target model``, the default) or on the
reference target (``--target reference``, teacher forcing).

The data comes from :mod:`workbench.attention` (shared with the dashboard's run page); this module
only loads the run, reports bad input and writes the file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from workbench.attention import AttentionError, collect_attention, select_example
from workbench.cli.common import EXIT_OK, UserError, open_context
from workbench.cli.evaluate_cmd import require_protocol
from workbench.protocols import SEQ2SEQ


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
    try:
        source, reference = select_example(dataset, args.split, args.example, name="--example")
        example = collect_attention(
            loaded.model, loaded.tokenizer, source, reference, target=args.target
        )
    except AttentionError as exc:
        raise UserError(str(exc)) from None
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
