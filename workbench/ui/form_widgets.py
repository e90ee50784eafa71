"""Gradio widgets for :class:`workbench.ui.forms.FormField` descriptions.

Numbers show their bounds and default in the field's info line but are not clamped by the
widget: a value out of bounds reaches the plugin's pydantic model, whose error (the same text the
CLI prints) is shown on the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import gradio as gr

from workbench.ui.forms import MISSING, FormField, PluginForm, to_widget

_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
FIELDS_PER_ROW = 4


def elem_id(*parts: str) -> str:
    """A DOM id for a form input, e.g. ``wb-stage-pretrain-max_steps`` (for tests and CSS)."""
    return "wb-" + "-".join(_ID_CHARS.sub("_", p) for p in parts if p)


WARNING_MARK = "⚠"


def widget_info(item: FormField, warning: str = "") -> str | None:
    """The info line under a field's input, with ``warning`` (a config warning) after it."""
    info = item.info or ""
    if item.kind in ("int", "float") and item.optional:
        info = f"{item.info} · leave empty for none" if item.info else "leave empty for none"
    elif item.kind not in ("bool", "int", "float", "choice", "multichoice", "text"):
        info = f"{item.info} · YAML" if item.info else "YAML"
    if warning:
        info = f"{WARNING_MARK} {warning}" + (f" — {info}" if info else "")
    return info or None


def field_widget(item: FormField, value: Any, element: str) -> gr.components.Component:
    """One input showing ``value`` (a config value, or ``MISSING`` for the default)."""
    return _widget(item, to_widget(item, item.default if value is MISSING else value), element)


def _widget(item: FormField, shown: Any, element: str) -> gr.components.Component:
    """One input showing ``shown`` (a widget value)."""
    common: dict[str, Any] = {"label": item.label, "info": widget_info(item), "elem_id": element}
    if item.kind == "bool":
        return gr.Checkbox(value=shown, **common)
    if item.kind in ("int", "float") and item.optional:
        # gr.Number shows an empty value as 0; a textbox keeps "empty" (None) apart from 0.
        return gr.Textbox(value=shown, lines=1, **common)
    if item.kind in ("int", "float"):
        step = 1 if item.kind == "int" else 0.0001
        return gr.Number(value=shown, step=step, **common)
    if item.kind == "choice":
        return gr.Dropdown(list(item.choices), value=shown, **common)
    if item.kind == "multichoice":
        return gr.Dropdown(list(item.choices), value=shown, multiselect=True, **common)
    return gr.Textbox(value=shown, lines=1, **common)  # text, or YAML


def _build_fields(
    fields: tuple[FormField, ...],
    prefix: tuple[str, ...],
    out: list[gr.components.Component],
    shown: list[Any],
) -> None:
    """Widgets for ``fields`` (appended to ``out`` in order, showing the next values of
    ``shown``), a few to a row; nested models in their own accordion."""
    row: list[FormField] = []

    def flush() -> None:
        if row:
            with gr.Row(equal_height=False):
                for item in row:
                    out.append(_widget(item, shown.pop(0), elem_id(*prefix, *item.path)))
            row.clear()

    for item in fields:
        if item.kind == "group":
            flush()
            with gr.Accordion(item.label, open=False):
                if item.info:
                    gr.Markdown(item.info)
                _build_fields(item.children, prefix, out, shown)
        else:
            row.append(item)
            if len(row) == FIELDS_PER_ROW:
                flush()
    flush()


def plugin_widgets(
    form: PluginForm, options: Mapping[str, Any] | None = None
) -> list[gr.components.Component]:
    """The inputs of one plugin's options, in :meth:`PluginForm.slots` order (preset first),
    showing ``options`` (a config block without its name; the defaults where left out)."""
    out: list[gr.components.Component] = []
    prefix = (form.block, form.plugin)
    shown = form.widget_values(options or {})
    if form.has_preset:
        out.append(_widget(form.preset_field(), shown.pop(0), elem_id(*prefix, "preset")))
    _build_fields(form.fields, prefix, out, shown)
    assert len(out) == len(form.slots()), "one widget per slot"
    return out
