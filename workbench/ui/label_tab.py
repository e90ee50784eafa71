"""Label tab: people compare two completions of a prompt and say which is better.

The annotator is whoever logged in (``gr.Request.username``); without a login (local use) it is
``local``. Never a form field: a labeller cannot label under someone else's name. Each annotator
meets the pairs it has not labelled in the store's shared shuffled order; "Skip" moves on and the
skipped pairs come round again once the rest are labelled; "Undo" deletes the annotator's latest
label and shows that pair again. Keyboard: 1 A better, 2 B better, 3 tie, 4 both bad, S skip,
U undo (ignored while typing in a text field).

The handlers are plain functions of the context, the session state and the request, so tests
call them directly; :func:`build_label_tab` only lays out components and wires them.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import gradio as gr

from workbench.files import atomic_write
from workbench.operations.labels import trl_export
from workbench.store import KIND_FILTERS, PREFERENCE_CHOICES, StoreError
from workbench.ui.context import UIContext

LOCAL_ANNOTATOR: Final[str] = "local"
"""The annotator's name when the dashboard runs without a login."""

CHOICE_LABELS: Final[dict[str, str]] = {
    "a": "A better",
    "b": "B better",
    "tie": "Tie",
    "both_bad": "Both bad",
}

SHORTCUTS: Final[dict[str, str]] = {
    "1": "wb-label-a",
    "2": "wb-label-b",
    "3": "wb-label-tie",
    "4": "wb-label-both-bad",
    "s": "wb-label-skip",
    "u": "wb-label-undo",
}
"""Key -> elem_id of the button it presses."""

LABEL_COLUMNS = ["time (UTC)", "annotator", "kind", "prompt", "choice"]
EMPTY_COMPLETION = "(empty: the model ended this completion at once)"
"""What the tab shows for a completion with no text, so that it is not mistaken for a gap."""
PROMPT_SHOWN = 80
"""Characters of a prompt shown in the latest-labels table."""
ANNOTATOR_COLUMNS = ["annotator", "kind", "plugin", "labelled", *PREFERENCE_CHOICES]
AGREEMENT_COLUMNS = ["annotator A", "annotator B", "both labelled", "agree", "Cohen's kappa"]

_SHORTCUT_JS = """
if (!window.__workbenchLabelKeys) {
  window.__workbenchLabelKeys = true;
  const keys = __KEYS__;
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const target = event.target;
    const tag = target && target.tagName ? target.tagName.toLowerCase() : "";
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    if (target && target.isContentEditable) return;
    const id = keys[(event.key || "").toLowerCase()];
    if (!id) return;
    const found = document.getElementById(id);
    if (!found || found.offsetParent === null) return;  // the Label tab is not shown
    const button = found.tagName === "BUTTON" ? found : found.querySelector("button");
    if (!button || button.disabled) return;
    event.preventDefault();
    button.click();
  });
}
""".replace("__KEYS__", json.dumps(SHORTCUTS))


def annotator_of(request: Any) -> str:
    """The logged-in user's name, or ``local`` without a login."""
    name = getattr(request, "username", None) if request is not None else None
    return str(name) if name else LOCAL_ANNOTATOR


@dataclass(frozen=True)
class LabelScreen:
    """What the tab shows: the pair being labelled (None when there is none) and the session's
    skipped pair ids."""

    annotator: str
    pair_id: int | None
    prompt: str
    completion_a: str
    completion_b: str
    progress: str
    status: str
    skipped: tuple[int, ...] = ()

    def outputs(self) -> tuple[Any, ...]:
        """Values for (pair state, skipped state, prompt, A, B, progress, status)."""
        return (
            self.pair_id,
            list(self.skipped),
            self.prompt,
            self.completion_a,
            self.completion_b,
            self.progress,
            self.status,
        )


def _empty(annotator: str, progress: str, status: str, skipped: tuple[int, ...]) -> LabelScreen:
    return LabelScreen(annotator, None, "", "", "", progress, status, skipped)


def _progress_text(ctx: UIContext, name: str) -> str:
    done = ctx.store.progress(name)
    return f"Labelling as **{name}** — {done.labelled} / {done.total} pairs labelled"


def shown_completion(text: str) -> str:
    """A completion as the tab shows it: an empty one says so."""
    return text if text.strip() else EMPTY_COMPLETION


def _screen_for(
    ctx: UIContext, name: str, pair_id: int, status: str, skipped: tuple[int, ...]
) -> LabelScreen:
    pair = ctx.store.get_pair(pair_id)
    return LabelScreen(
        annotator=name,
        pair_id=pair.id,
        prompt=pair.prompt,
        completion_a=shown_completion(pair.completion_a),
        completion_b=shown_completion(pair.completion_b),
        progress=_progress_text(ctx, name),
        status=status,
        skipped=skipped,
    )


def show_next(ctx: UIContext, skipped: Any, request: Any, status: str = "") -> LabelScreen:
    """The next pair the logged-in annotator has not labelled, leaving out skipped ones (which
    come round again when nothing else is left)."""
    name = annotator_of(request)
    kept = tuple(int(i) for i in (skipped or ()))
    try:
        ctx.store.ensure_annotator(name, "human")
    except StoreError as exc:
        return _empty(name, f"Cannot label as **{name}**", f"⚠ {exc}", kept)
    pair = ctx.store.next_pair(name, exclude=kept)
    if pair is None and kept:
        kept = ()
        pair = ctx.store.next_pair(name)
        status = " ".join(p for p in (status, "The skipped pairs come round again.") if p)
    if pair is None:
        if ctx.store.count_pairs() == 0:
            note = "No comparison pairs yet: create some with `workbench pairs generate RUN`."
        else:
            note = "All pairs are labelled. Thank you!"
        return _empty(
            name, _progress_text(ctx, name), " ".join(p for p in (status, note) if p), kept
        )
    return _screen_for(ctx, name, pair.id, status, kept)


def choose(
    ctx: UIContext, pair_id: int | None, choice: str, skipped: Any, request: Any
) -> LabelScreen:
    """Record the annotator's ``choice`` for the pair shown, then show the next one."""
    if choice not in PREFERENCE_CHOICES:
        raise ValueError(f"invalid choice {choice!r}")
    if pair_id is None:
        return show_next(ctx, skipped, request, "Nothing to label.")
    name = annotator_of(request)
    try:
        ctx.store.ensure_annotator(name, "human")
        ctx.store.label(name, int(pair_id), choice)
    except StoreError as exc:
        return show_next(ctx, skipped, request, f"⚠ {exc}")
    rest = tuple(int(i) for i in (skipped or ()) if int(i) != int(pair_id))
    return show_next(ctx, rest, request, f"Pair {pair_id}: {CHOICE_LABELS[choice]}.")


def skip(ctx: UIContext, pair_id: int | None, skipped: Any, request: Any) -> LabelScreen:
    """Leave the pair shown unlabelled for now and show the next one."""
    kept = tuple(int(i) for i in (skipped or ()))
    if pair_id is None:
        return show_next(ctx, kept, request)
    if int(pair_id) not in kept:
        kept = (*kept, int(pair_id))
    return show_next(ctx, kept, request, f"Skipped pair {pair_id}.")


def undo(ctx: UIContext, skipped: Any, request: Any) -> LabelScreen:
    """Delete the annotator's latest label and show that pair again, to label it anew."""
    name = annotator_of(request)
    kept = tuple(int(i) for i in (skipped or ()))
    try:
        ctx.store.ensure_annotator(name, "human")
        undone = ctx.store.undo(name)
    except StoreError as exc:
        return show_next(ctx, kept, request, f"⚠ {exc}")
    if undone is None:
        return show_next(ctx, kept, request, "Nothing to undo.")
    kept = tuple(i for i in kept if i != undone.pair_id)
    status = f"Undid {CHOICE_LABELS[undone.choice]!r} on pair {undone.pair_id}; label it again."
    return _screen_for(ctx, name, undone.pair_id, status, kept)


# -- overview: who labelled what, agreement, export --------------------------------------------


def short_prompt(text: str, limit: int = PROMPT_SHOWN) -> str:
    """A prompt on one line (newlines as ⏎), cut to ``limit`` characters."""
    line = text.replace("\n", " ⏎ ").strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def label_rows(ctx: UIContext, limit: int = 200) -> list[list[Any]]:
    """The latest labels: when, who (and whether human or simulated), which prompt, what."""
    prompts: dict[int, str] = {}
    rows = []
    for label in ctx.store.labels(limit=limit):
        if label.pair_id not in prompts:
            prompts[label.pair_id] = short_prompt(ctx.store.get_pair(label.pair_id).prompt)
        rows.append(
            [
                label.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                label.annotator,
                label.annotator_kind,
                prompts[label.pair_id],
                CHOICE_LABELS[label.choice],
            ]
        )
    return rows


def annotator_rows(ctx: UIContext) -> list[list[Any]]:
    """Each annotator with its progress and how often it gave each choice."""
    total = ctx.store.count_pairs()
    return [
        [
            s.name,
            s.kind,
            s.plugin or "",
            f"{s.labelled}/{total}",
            *(s.choices[c] for c in PREFERENCE_CHOICES),
        ]
        for s in ctx.store.annotator_stats()
    ]


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def agreement_rows(ctx: UIContext) -> list[list[Any]]:
    """Every two annotators with pairs in common: how many, share agreeing, Cohen's kappa."""
    return [
        [a.annotator_a, a.annotator_b, a.overlap, _fmt(a.share), _fmt(a.kappa)]
        for a in ctx.store.agreements()
    ]


def agreement_note(ctx: UIContext, rows: list[list[Any]] | None = None) -> str:
    """Why the agreement table is empty (it needs two annotators with pairs in common), or ""."""
    if rows if rows is not None else agreement_rows(ctx):
        return ""
    labelled = [s.name for s in ctx.store.annotator_stats() if s.labelled]
    if not labelled:
        return "_No agreement yet: nobody has labelled a pair._"
    if len(labelled) == 1:
        return (
            f"_No agreement yet: only one annotator ({labelled[0]}) has labelled. Agreement "
            "compares two annotators on the pairs both labelled (another login, or "
            "`workbench label --annotator NAME`)._"
        )
    return (
        f"_No agreement yet: the annotators ({', '.join(labelled)}) have labelled no pair in "
        "common._"
    )


def overview(
    ctx: UIContext,
) -> tuple[list[list[Any]], list[list[Any]], str, list[list[Any]]]:
    """The overview: annotators, agreement (and why it is empty), latest labels."""
    agreement = agreement_rows(ctx)
    return annotator_rows(ctx), agreement, agreement_note(ctx, agreement), label_rows(ctx)


def export_labels(ctx: UIContext, kind: str) -> tuple[str | None, str]:
    """Write the labels of ``kind`` that name a winner as TRL JSONL in a fresh temporary folder
    (outside the home, which is never served); return the file (None when empty) and a note."""
    if kind not in KIND_FILTERS:
        raise ValueError(f"invalid kind {kind!r}: expected one of {', '.join(KIND_FILTERS)}")
    exported = trl_export(ctx.store, kind=kind)
    if not exported.written:
        return None, f"No {kind} labels that name a winner yet (ties and 'both bad' are left out)."
    folder = Path(tempfile.mkdtemp(prefix="workbench-labels-"))
    path = folder / f"preference-labels-{kind}.jsonl"
    atomic_write(path, exported.text)
    return str(path), f"Exported {exported.written} {kind} preference pair(s)."


# -- layout and wiring ------------------------------------------------------------------------


def build_label_tab(ctx: UIContext, tab: gr.Tab | None = None) -> None:
    """Lay out the Label tab; ``tab`` (when given) loads the next pair whenever it is selected."""
    pair_state = gr.State(None)
    skipped_state = gr.State([])
    progress = gr.Markdown(elem_id="wb-label-progress")
    prompt = gr.Textbox(label="Prompt", interactive=False, lines=2, elem_id="wb-label-prompt")
    with gr.Row(equal_height=True):
        completion_a = gr.Textbox(
            label="Completion A", interactive=False, lines=4, elem_id="wb-label-completion-a"
        )
        completion_b = gr.Textbox(
            label="Completion B", interactive=False, lines=4, elem_id="wb-label-completion-b"
        )
    with gr.Row():
        choice_buttons = {
            "a": gr.Button("A better [1]", variant="primary", elem_id=SHORTCUTS["1"]),
            "b": gr.Button("B better [2]", variant="primary", elem_id=SHORTCUTS["2"]),
            "tie": gr.Button("Tie [3]", elem_id=SHORTCUTS["3"]),
            "both_bad": gr.Button("Both bad [4]", variant="stop", elem_id=SHORTCUTS["4"]),
        }
        skip_button = gr.Button("Skip [S]", elem_id=SHORTCUTS["s"])
        undo_button = gr.Button("Undo [U]", elem_id=SHORTCUTS["u"])
    status = gr.Markdown(elem_id="wb-label-status")
    gr.HTML("", js_on_load=_SHORTCUT_JS, elem_id="wb-label-shortcuts")
    gr.Markdown(
        "Keys: **1** A better · **2** B better · **3** tie · **4** both bad · **S** skip · "
        "**U** undo"
    )

    with gr.Accordion("Annotators, agreement and who labelled what", open=False):
        refresh = gr.Button("Refresh", size="sm", elem_id="wb-label-refresh")
        annotators_table = gr.Dataframe(
            headers=ANNOTATOR_COLUMNS, interactive=False, elem_id="wb-label-annotators"
        )
        agreement_table = gr.Dataframe(
            headers=AGREEMENT_COLUMNS, interactive=False, elem_id="wb-label-agreement"
        )
        agreement_why = gr.Markdown(elem_id="wb-label-agreement-note")
        labels_table = gr.Dataframe(
            headers=LABEL_COLUMNS, interactive=False, wrap=True, elem_id="wb-label-labels"
        )
    with gr.Accordion("Export (TRL JSONL: prompt, chosen, rejected)", open=False):
        with gr.Row():
            export_kind = gr.Dropdown(
                choices=list(KIND_FILTERS),
                value="human",
                label="Annotators",
                info="human and simulated labels are mixed only with 'all'",
            )
            export_button = gr.Button("Export", elem_id="wb-label-export")
        export_file = gr.File(label="Download", interactive=False, elem_id="wb-label-file")
        export_note = gr.Markdown()

    screen_outputs = [
        pair_state,
        skipped_state,
        prompt,
        completion_a,
        completion_b,
        progress,
        status,
    ]

    def on_show(skipped: list[int], request: gr.Request) -> tuple[Any, ...]:
        return show_next(ctx, skipped, request).outputs()

    def choice_handler(choice: str) -> Any:
        def on_choice(
            pair_id: int | None, skipped: list[int], request: gr.Request
        ) -> tuple[Any, ...]:
            return choose(ctx, pair_id, choice, skipped, request).outputs()

        return on_choice

    def on_skip(pair_id: int | None, skipped: list[int], request: gr.Request) -> tuple[Any, ...]:
        return skip(ctx, pair_id, skipped, request).outputs()

    def on_undo(skipped: list[int], request: gr.Request) -> tuple[Any, ...]:
        return undo(ctx, skipped, request).outputs()

    for choice, button in choice_buttons.items():
        button.click(
            choice_handler(choice),
            inputs=[pair_state, skipped_state],
            outputs=screen_outputs,
            api_name=f"label_{choice}",
        )
    skip_button.click(
        on_skip, inputs=[pair_state, skipped_state], outputs=screen_outputs, api_name="label_skip"
    )
    undo_button.click(
        on_undo, inputs=[skipped_state], outputs=screen_outputs, api_name="label_undo"
    )
    tables = [annotators_table, agreement_table, agreement_why, labels_table]
    refresh.click(lambda: overview(ctx), outputs=tables, api_visibility="private")
    export_button.click(
        lambda kind: export_labels(ctx, kind),
        inputs=[export_kind],
        outputs=[export_file, export_note],
        api_visibility="private",
    )
    if tab is not None:
        tab.select(on_show, inputs=[skipped_state], outputs=screen_outputs).then(
            lambda: overview(ctx), outputs=tables, api_visibility="private"
        )
