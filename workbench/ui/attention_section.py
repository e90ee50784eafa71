"""The run page's "Attention maps" section, for finished seq2seq runs.

For one example of a split, the model's own greedy output and every layer's and head's encoder
self-, decoder self- and cross-attention weights, drawn by :mod:`workbench.charts.attention` (the
same figures ``workbench attention`` saves as HTML) from the data :mod:`workbench.attention`
collects. The section is hidden for runs whose architecture does not implement the ``seq2seq``
protocol. The Runs tab places the components and wires them; the model comes from the UI
context's model cache, so repeated looks at one run load it once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr
import plotly.graph_objects as go

from workbench.attention import collect_attention, select_example
from workbench.charts.attention import ATTENTION_KINDS, attention_figures
from workbench.protocols import SEQ2SEQ
from workbench.registry import UnknownPluginError
from workbench.store import TERMINAL_STATUSES, RunNotFound, RunRecord
from workbench.ui.context import UIContext
from workbench.ui.generation import has_saved_model

SPLITS = ("val", "test", "train")
"""The splits offered, the default first."""
SEQ2SEQ_ONLY = "Attention maps apply to seq2seq runs (an architecture implementing 'seq2seq')."

# ---------------------------------------------------------------------------------------------
# Handlers
# ---------------------------------------------------------------------------------------------


def is_seq2seq(ctx: UIContext, run: RunRecord) -> bool:
    """Whether the run's architecture, looked up in the registry, implements ``seq2seq``."""
    try:
        spec = ctx.registry.architecture(run.architecture)
    except UnknownPluginError:
        return False
    return SEQ2SEQ in spec.protocols


def _not_ready_reason(ctx: UIContext, run: RunRecord) -> str | None:
    """Why the run's attention cannot be drawn yet, or None when it can."""
    if run.status not in TERMINAL_STATUSES:
        return (
            f"Run {run.id} is {run.status}; its attention maps can be drawn once it has finished."
        )
    if not has_saved_model(ctx.paths, run.id):
        return f"Run {run.id} has no saved model (it is {run.status}), so there is nothing to draw."
    return None


@dataclass(frozen=True)
class AttentionSectionState:
    """How the section looks on a run's page."""

    visible: bool
    """Only for seq2seq runs."""
    ready: bool
    """A finished run with a saved model: the button is enabled."""
    note: str


def attention_section_state(ctx: UIContext, run: RunRecord) -> AttentionSectionState:
    if not is_seq2seq(ctx, run):
        return AttentionSectionState(visible=False, ready=False, note=f"_{SEQ2SEQ_ONLY}_")
    reason = _not_ready_reason(ctx, run)
    if reason is not None:
        return AttentionSectionState(visible=True, ready=False, note=f"_{reason}_")
    return AttentionSectionState(
        visible=True,
        ready=True,
        note="Pick a split and an example, then **Show attention**. The decoder reads the "
        "model's own greedy output; rows are queries, columns keys, one heatmap per layer and "
        "head.",
    )


@dataclass
class AttentionView:
    """What the section shows after a click: a message, and on success the texts and figures."""

    message: str
    source: str = ""
    reference: str = ""
    output: str = ""
    figures: dict[str, go.Figure] = field(default_factory=dict)
    """Kind (a key of :data:`workbench.charts.attention.ATTENTION_KINDS`) -> figure."""

    @property
    def ok(self) -> bool:
        return bool(self.figures)

    def values(self) -> list[Any]:
        """Values for ``[message, source, reference, output, *one plot per kind]``."""
        plots = [self.figures.get(kind) for kind in ATTENTION_KINDS]
        return [self.message, self.source, self.reference, self.output, *plots]


def _example_index(value: Any) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("Enter the index of an example.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"The example index must be a whole number, got {value!r}.") from None
    if not number.is_integer():
        raise ValueError(f"The example index must be a whole number, got {value!r}.")
    return int(number)


def attention_view(ctx: UIContext, run_id: int | None, split: Any, index: Any) -> AttentionView:
    """Attention maps of example ``index`` of ``split`` for a finished seq2seq run.

    Never raises for bad input: a run that is missing, not seq2seq or not finished, an unknown
    split or an index outside it come back as an :class:`AttentionView` holding only a message.
    """
    if run_id is None:
        return AttentionView("Choose a run first.")
    try:
        run = ctx.store.get_run(run_id)
    except RunNotFound:
        return AttentionView(f"Run {run_id} not found.")
    if not is_seq2seq(ctx, run):
        return AttentionView(f"{SEQ2SEQ_ONLY} Run {run.id}'s architecture is {run.architecture!r}.")
    reason = _not_ready_reason(ctx, run)
    if reason is not None:
        return AttentionView(reason)
    if split not in SPLITS:
        return AttentionView(f"Unknown split {split!r}; choose one of {', '.join(SPLITS)}.")
    try:
        position = _example_index(index)
    except ValueError as exc:
        return AttentionView(str(exc))
    from workbench.runner.build import build_dataset

    try:
        loaded = ctx.models.load(run, ctx.paths, ctx.registry)
        dataset = build_dataset(loaded.resolved, ctx.registry, ctx.paths)
        source, reference = select_example(dataset, split, position)
        example = collect_attention(loaded.model, loaded.tokenizer, source, reference)
        kinds = [kind for kind in ATTENTION_KINDS if kind in example.maps]
        figures = attention_figures(
            example.maps,
            example.source_tokens,
            example.decoder_input_tokens,
            example.output_tokens,
        )
    except (ValueError, LookupError, OSError) as exc:
        # AttentionError (index, source length), a tokenizer without the special tokens, a run
        # whose plugins or files are gone: all things the user can act on, said plainly.
        return AttentionView(f"Cannot draw run {run.id}'s attention: {exc}")
    verdict = "matches" if example.output == example.reference else "differs from"
    return AttentionView(
        message=f"Run {run.id} · {split} example {position}: the model's output {verdict} the "
        f"target.",
        source=example.source,
        reference=example.reference,
        output=example.output,
        figures=dict(zip(kinds, figures, strict=True)),
    )


# ---------------------------------------------------------------------------------------------
# Layout (the Runs tab wires it)
# ---------------------------------------------------------------------------------------------


@dataclass
class AttentionSection:
    box: gr.Accordion
    note: gr.Markdown
    split: gr.Dropdown
    index: gr.Number
    button: gr.Button
    results: list[Any]
    """``[message, source, reference, output, *one plot per kind]``, as
    :meth:`AttentionView.values` fills them."""


def build_attention_section() -> AttentionSection:
    """The section's components, hidden until a seq2seq run is shown."""
    with gr.Accordion("Attention maps", open=True, visible=False, elem_id="wb-attention") as box:
        note = gr.Markdown()
        with gr.Row():
            split = gr.Dropdown(list(SPLITS), value=SPLITS[0], label="Split", scale=1)
            index = gr.Number(
                value=0, minimum=0, precision=0, step=1, label="Example index", scale=1
            )
            button = gr.Button("Show attention", interactive=False, scale=0)
        message = gr.Markdown(elem_id="wb-attention-message")
        with gr.Row():
            source = gr.Textbox(label="Source", interactive=False)
            reference = gr.Textbox(label="Target", interactive=False)
            output = gr.Textbox(label="Model output", interactive=False)
        plots = [
            gr.Plot(label=title, elem_id=f"wb-attention-{kind.replace('_', '-')}")
            for kind, (title, _, _) in ATTENTION_KINDS.items()
        ]
    return AttentionSection(
        box=box,
        note=note,
        split=split,
        index=index,
        button=button,
        results=[message, source, reference, output, *plots],
    )
