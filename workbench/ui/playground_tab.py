"""Playground tab: generate from a finished run (streamed), two runs side by side, a multi-turn
chat for runs trained with a turn template, and the attention weights of the last generation.

Models are loaded in the dashboard's process for generation only (no training), through
:meth:`workbench.ui.generation.ModelCache.load`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr
import plotly.graph_objects as go

from workbench.charts.heatmaps import attention_heatmap
from workbench.store import RunRecord
from workbench.ui.context import UIContext
from workbench.ui.generation import (
    AttentionSnapshot,
    GenerationError,
    SamplingParams,
    TurnTemplate,
    attention_snapshot,
    history_pairs,
    stream_completion,
    turn_template_of,
)
from workbench.ui.pickers import (
    parse_run_id,
    picked_run,
    playable_choices,
    refreshed_pick,
)

NO_RUN = "(none)"
CHAT_NEEDS_TEMPLATE = (
    "Chat needs a run trained with a turn template (a `turn_template` such as "
    '`"User: {{prompt}}\\nAssistant: {{response}}\\n"` in its stage config); run {run} has none. '
    "Use Generate for plain continuation."
)


# ---------------------------------------------------------------------------------------------
# Handlers
# ---------------------------------------------------------------------------------------------


def _run(ctx: UIContext, picked: Any) -> RunRecord:
    return picked_run(ctx, picked, GenerationError)


def _load(ctx: UIContext, run: RunRecord) -> Any:
    return ctx.models.load(run, ctx.paths, ctx.registry)


def generate(
    ctx: UIContext, picked_a: Any, picked_b: Any, prompt: str, params: SamplingParams
) -> Iterator[tuple[str, str]]:
    """Stream ``(completion A, completion B)``; B stays empty unless a second run is picked."""
    loaded_a = _load(ctx, _run(ctx, picked_a))
    streams = {"a": stream_completion(loaded_a, prompt, params)}
    if parse_run_id(picked_b) is not None:
        streams["b"] = stream_completion(_load(ctx, _run(ctx, picked_b)), prompt, params)
    texts = {"a": "", "b": ""}
    while streams:
        for key in list(streams):
            try:
                texts[key] = next(streams[key])
            except StopIteration:
                del streams[key]
        yield texts["a"], texts["b"]


def chat_template(ctx: UIContext, picked: Any) -> TurnTemplate | None:
    """The turn template of the picked run, or None when it was not trained with one."""
    text = turn_template_of(_run(ctx, picked))
    return TurnTemplate.parse(text) if text else None


def chat_reply(
    ctx: UIContext, picked: Any, message: str, history: list, params: SamplingParams
) -> Iterator[list[dict[str, str]]]:
    """Stream the conversation with the model's reply to ``message`` growing at its end."""
    run = _run(ctx, picked)
    template_text = turn_template_of(run)
    if not template_text:
        raise GenerationError(CHAT_NEEDS_TEMPLATE.format(run=run.id))
    template = TurnTemplate.parse(template_text)
    if not (message or "").strip():
        raise GenerationError("type a message first")
    prompt = template.render(history_pairs(history), message)
    messages = [*list(history or []), {"role": "user", "content": message}]
    reply = {"role": "assistant", "content": ""}
    for text in stream_completion(_load(ctx, run), prompt, params, stops=template.stops()):
        reply = {"role": "assistant", "content": text}
        yield [*messages, reply]
    yield [*messages, reply]


def can_chat(ctx: UIContext, picked: Any) -> bool:
    """Whether the picked run has a turn template (Chat's Send is disabled otherwise)."""
    try:
        return chat_template(ctx, picked) is not None
    except GenerationError:
        return False


def chat_note_text(ctx: UIContext, picked: Any) -> str:
    """What the Chat tab says about the picked run: whether it can chat, and how."""
    try:
        template = chat_template(ctx, picked)
    except GenerationError as exc:
        return f"_{exc}_"
    if template is None:
        return "_" + CHAT_NEEDS_TEMPLATE.format(run=parse_run_id(picked)) + "_"
    return "_Turns are rendered with this run's turn template._"


def attention_of(ctx: UIContext, picked: Any, text: str) -> AttentionSnapshot | None:
    """The attention of the picked run's model over ``text`` (None if it does not expose it)."""
    if not text:
        return None
    return attention_snapshot(_load(ctx, _run(ctx, picked)), text)


def attention_figure(snapshot: AttentionSnapshot | None, layer: Any, head: Any) -> go.Figure:
    if snapshot is None or not snapshot.weights:
        return attention_heatmap([], [], title="Attention")
    layer_i = min(max(int(layer or 0), 0), snapshot.layers - 1)
    head_i = min(max(int(head or 0), 0), snapshot.heads - 1)
    return attention_heatmap(
        snapshot.weights[layer_i][head_i],
        snapshot.tokens,
        title=f"Attention — layer {layer_i}, head {head_i}",
    )


# ---------------------------------------------------------------------------------------------
# Layout and wiring
# ---------------------------------------------------------------------------------------------


def build_playground_tab(ctx: UIContext, tab: gr.Tab) -> None:
    choices = playable_choices(ctx)
    with gr.Row():
        run_a = gr.Dropdown(
            choices, value=choices[0][1] if choices else None, label="Run", scale=2, allow_custom_value=True,
            elem_id="wb-play-run",
        )  # fmt: skip
        run_b = gr.Dropdown(
            [(NO_RUN, NO_RUN), *choices],
            value=NO_RUN,
            label="Side by side with",
            scale=2,
            allow_custom_value=True,
        )
    with gr.Accordion("Sampling", open=True), gr.Row():
        temperature = gr.Slider(0.0, 2.0, value=0.8, step=0.05, label="temperature",
                                info="0 = greedy")  # fmt: skip
        top_k = gr.Slider(0, 200, value=0, step=1, label="top-k", info="0 = off")
        top_p = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="top-p", info="1 = off")
        max_tokens = gr.Slider(1, 1000, value=200, step=1, label="max tokens")
        # A textbox, not gr.Number: a Number shows an empty value as 0, and a fixed seed would
        # repeat the same text on every Generate.
        seed = gr.Textbox(value="", label="seed", info="empty = random", placeholder="random",
                          elem_id="wb-play-seed")  # fmt: skip
    sampling = [max_tokens, temperature, top_k, top_p, seed]
    with gr.Tabs():
        with gr.Tab("Generate"):
            prompt = gr.Textbox(label="Prompt", lines=3, value="\n", elem_id="wb-play-prompt")
            go_button = gr.Button("Generate", variant="primary", elem_id="wb-play-generate")
            with gr.Row():
                out_a = gr.Textbox(label="Completion", lines=8, elem_id="wb-play-out-a")
                out_b = gr.Textbox(label="Completion (side by side)", lines=8, visible=False)
        with gr.Tab("Chat"):
            chat_note = gr.Markdown(chat_note_text(ctx, run_a.value) if choices else "")
            chatbot = gr.Chatbot(label="Chat", height=360)
            with gr.Row():
                message = gr.Textbox(label="Message", scale=4)
                send = gr.Button(
                    "Send",
                    variant="primary",
                    scale=0,
                    interactive=bool(choices) and can_chat(ctx, run_a.value),
                    elem_id="wb-chat-send",
                )
                clear = gr.Button("Clear", scale=0)
    with gr.Accordion("Attention of the last generation", open=False):
        gr.Markdown(
            "Each row is a token, each column a token it can attend to (only earlier ones: the "
            "model is causal); darker means more attention. Pick a layer and a head."
        )
        with gr.Row():
            layer = gr.Slider(0, 1, value=0, step=1, label="layer")
            head = gr.Slider(0, 1, value=0, step=1, label="head")
        heatmap = gr.Plot(label="Attention", elem_id="wb-play-heatmap")
    snapshot = gr.State(None)
    picked_by_user = gr.State(False)

    def params_of(*values: Any) -> SamplingParams:
        try:
            return SamplingParams.from_inputs(*values)
        except GenerationError as exc:
            raise gr.Error(str(exc)) from None

    def on_generate(a: Any, b: Any, text: str, *values: Any) -> Iterator[list[Any]]:
        params = params_of(*values)
        skip = [gr.skip()] * 4
        last = ("", "")
        try:
            for last in generate(ctx, a, b, text, params):
                yield [last[0], last[1], *skip]
            shot = attention_of(ctx, a, text + last[0])
        except GenerationError as exc:
            raise gr.Error(str(exc)) from None
        if shot is None:
            yield [*last, None, gr.skip(), gr.skip(), attention_figure(None, 0, 0)]
            return
        yield [
            *last,
            shot,
            gr.update(maximum=max(shot.layers - 1, 1), value=0),
            gr.update(maximum=max(shot.heads - 1, 1), value=0),
            attention_figure(shot, 0, 0),
        ]

    def on_chat(a: Any, text: str, history: list, *values: Any) -> Iterator[list[Any]]:
        params = params_of(*values)
        try:
            for messages in chat_reply(ctx, a, text, history, params):
                yield [messages, ""]
        except GenerationError as exc:
            raise gr.Error(str(exc)) from None

    go_button.click(
        on_generate,
        inputs=[run_a, run_b, prompt, *sampling],
        outputs=[out_a, out_b, snapshot, layer, head, heatmap],
        api_name="generate",
    )
    run_b.change(
        lambda b: gr.update(visible=b not in (None, NO_RUN)),
        inputs=run_b,
        outputs=out_b,
        api_visibility="private",
    )
    run_a.change(
        lambda a: [chat_note_text(ctx, a), gr.update(interactive=can_chat(ctx, a))],
        inputs=run_a,
        outputs=[chat_note, send],
        api_visibility="private",
    )
    run_a.input(lambda: True, outputs=picked_by_user, api_visibility="private")
    gr.on(
        [send.click, message.submit],
        on_chat,
        inputs=[run_a, message, chatbot, *sampling],
        outputs=[chatbot, message],
        api_name="chat",
    )
    clear.click(lambda: [], outputs=chatbot, api_visibility="private")
    gr.on(
        [layer.change, head.change],
        attention_figure,
        inputs=[snapshot, layer, head],
        outputs=heatmap,
        api_visibility="private",
    )

    def refresh(a: Any, b: Any, by_user: bool) -> list[Any]:
        now = playable_choices(ctx)
        ids = [value for _, value in now]
        keep_a = refreshed_pick(a, ids, by_user)
        keep_b = b if b in ids else NO_RUN
        return [
            gr.update(choices=now, value=keep_a),
            gr.update(choices=[(NO_RUN, NO_RUN), *now], value=keep_b),
            chat_note_text(ctx, keep_a) if keep_a else "",
            gr.update(interactive=bool(keep_a) and can_chat(ctx, keep_a)),
        ]

    tab.select(
        refresh,
        inputs=[run_a, run_b, picked_by_user],
        outputs=[run_a, run_b, chat_note, send],
        api_visibility="private",
    )
