"""New run tab: configure a run from forms generated from the plugins' Config models, validate it
with the same rules and error text as the CLI, and launch it through the runner.

Choosing a stage offers only the architectures and datasets it can use. Every plugin's form is
built when the app starts from whatever the registry holds, so a newly installed plugin appears
here with its form without any change to this module. The YAML view shows the form as a config
file; a YAML text or an uploaded config file can be applied to the form or launched as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
import yaml

from workbench.config import ConfigError, ResolvedConfig, parse_yaml, resolve_config
from workbench.config_warnings import ConfigWarning, config_warnings
from workbench.runner import launcher
from workbench.starters import DEFAULT_STARTER, starter, starters
from workbench.ui.context import UIContext
from workbench.ui.form_widgets import elem_id, field_widget, plugin_widgets, widget_info
from workbench.ui.forms import BLOCKS, NONE_CHOICE, FormLayout
from workbench.ui.pickers import run_choices, run_label
from workbench.ui.safety import (
    CONFIG_SUFFIXES,
    DATA_SUFFIXES,
    UploadError,
    check_upload,
    confine_paths,
    keep_upload,
)

STARTER_NAME = "my-run"


# ---------------------------------------------------------------------------------------------
# Handlers
# ---------------------------------------------------------------------------------------------


@dataclass
class Checked:
    """The outcome of validating a config, with the warnings about a valid one."""

    raw: dict[str, Any]
    resolved: ResolvedConfig | None
    error: ConfigError | None
    warnings: list[ConfigWarning] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.resolved is not None

    def message(self) -> str:
        """Markdown for the status line: the CLI's own error text, or a summary and warnings."""
        if self.error is not None:
            return f"**Invalid config**\n\n```text\n{self.error}\n```"
        assert self.resolved is not None
        r = self.resolved
        text = (
            f"Valid: **{r.name}** — stage `{r.plugin('stage')}`, architecture "
            f"`{r.plugin('architecture')}`, dataset `{r.plugin('dataset')}`, tokenizer "
            f"`{r.plugin('tokenizer')}`."
        )
        if self.warnings:
            lines = "\n".join(f"- ⚠ `{w.location}`: {w.message}" for w in self.warnings)
            text += f"\n\n**It would run, but:**\n{lines}"
        return text


def config_yaml(raw: dict[str, Any]) -> str:
    return yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)


def check_config(
    ctx: UIContext, raw: dict[str, Any], *, extra: Sequence[tuple[str, str]] = ()
) -> Checked:
    """Validate ``raw`` as the CLI does, after confining typed paths to the data folders.

    ``extra`` holds problems found before validation (unreadable form widgets); all problems are
    reported together, in one :class:`ConfigError`.
    """
    confined, path_issues = confine_paths(raw, ctx.paths.home, ctx.data_roots)
    issues = list(extra) + path_issues
    resolved = None
    try:
        resolved = resolve_config(confined, ctx.registry)
    except ConfigError as exc:
        issues.extend(exc.issues)
    if resolved is not None and not issues:
        try:
            launcher.resolve_parent(ctx.store, resolved.run.init_from)
        except ConfigError as exc:
            issues.extend(exc.issues)
    if issues:
        return Checked(raw=confined, resolved=None, error=ConfigError(issues))
    assert resolved is not None
    return Checked(raw=confined, resolved=resolved, error=None, warnings=config_warnings(resolved))


def check_form(ctx: UIContext, layout: FormLayout, values: Sequence[Any]) -> Checked:
    raw, unreadable = layout.raw_config(values)
    checked = check_config(ctx, raw, extra=unreadable)
    checked.raw = raw  # show the form's own config (relative paths as typed)
    return checked


def field_errors(
    layout: FormLayout, values: Sequence[Any], error: ConfigError | None
) -> dict[int, str]:
    """Input index → error message, for the problems that name one input."""
    marks: dict[int, list[str]] = {}
    for location, message in error.issues if error else []:
        index = layout.slot_for(location, values)
        if index is not None:
            marks.setdefault(index, []).append(message)
    return {index: "; ".join(messages) for index, messages in marks.items()}


def field_warnings(
    layout: FormLayout, values: Sequence[Any], warnings: Sequence[ConfigWarning]
) -> dict[int, str]:
    """Input index → warning text, for the warnings that name one input."""
    marks: dict[int, list[str]] = {}
    for warning in warnings:
        index = layout.slot_for(warning.location, values)
        if index is not None:
            marks.setdefault(index, []).append(warning.message)
    return {index: "; ".join(messages) for index, messages in marks.items()}


def start_run(ctx: UIContext, resolved: ResolvedConfig) -> int:
    """Record the run and start its worker in the background (never trains in this process)."""
    run_id = launcher.create_run(ctx.store, ctx.registry, resolved)
    launcher.spawn(ctx.paths, run_id, store=ctx.store)
    return run_id


def launch_form(
    ctx: UIContext, layout: FormLayout, values: Sequence[Any]
) -> tuple[int | None, Checked]:
    """Validate the form and, when it is valid, start the run; returns its id (or None)."""
    checked = check_form(ctx, layout, values)
    if not checked.ok:
        return None, checked
    assert checked.resolved is not None
    return start_run(ctx, checked.resolved), checked


def launch_yaml(ctx: UIContext, text: str) -> tuple[int | None, Checked]:
    """Validate a YAML config text and, when it is valid, start the run."""
    try:
        raw = parse_yaml(text or "", source="YAML")
    except ConfigError as exc:
        return None, Checked(raw={}, resolved=None, error=exc)
    checked = check_config(ctx, raw)
    if not checked.ok:
        return None, checked
    assert checked.resolved is not None
    return start_run(ctx, checked.resolved), checked


def starter_config(name: str = DEFAULT_STARTER) -> dict[str, Any]:
    """What the form shows first: the shipped config ``name`` (the quickstart, which runs in
    minutes on a CPU); without shipped configs, a name and every block at its first compatible
    plugin."""
    found = starter(name)
    if found is not None:
        try:
            return found.load()
        except (OSError, yaml.YAMLError):
            pass
    return {"name": STARTER_NAME}


def starter_choices() -> list[tuple[str, str]]:
    """``(label, name)`` of the shipped configs, the quickstart first."""
    return [(s.label, s.name) for s in starters()]


def init_from_choices(ctx: UIContext) -> list[tuple[str, str]]:
    """Finished runs that can be a parent, newest first."""
    runs = ctx.store.list_runs(status="succeeded")
    return [("(none)", NONE_CHOICE), *[(run_label(r), str(r.id)) for r in runs]]


def read_config_upload(path: str | Path | None) -> dict[str, Any]:
    """An uploaded config file's content; :class:`UploadError` or :class:`ConfigError`."""
    if not path:
        raise UploadError("no file was uploaded")
    text = check_upload(path, CONFIG_SUFFIXES)
    return parse_yaml(text, source=Path(path).name)


def data_upload_target(ctx: UIContext, path: str | Path) -> str:
    """Keep an uploaded data file; returns its path relative to the home, as typed in a form."""
    kept = keep_upload(path, ctx.uploads)
    return str(kept.relative_to(ctx.paths.home))


# ---------------------------------------------------------------------------------------------
# Layout and wiring
# ---------------------------------------------------------------------------------------------


@dataclass
class Links:
    """Components of other tabs that the New run tab drives."""

    tabs: gr.Tabs
    tab: gr.Tab
    run_picker: gr.Dropdown
    clone: gr.Button
    clone_source: gr.Dropdown
    runs_timer: gr.Timer


@dataclass
class NewRunForm:
    """The tab's components. ``inputs`` holds one input per slot of the layout (top fields, the
    block pickers, every plugin's options, the trainer's), in the layout's slot order."""

    layout: FormLayout
    start_from: gr.Dropdown
    init_from: gr.Dropdown
    pickers: dict[str, gr.Dropdown]
    groups: list[tuple[str, str, gr.Column]]
    """``(block, plugin, column)``: the options of one plugin, shown while it is picked."""
    inputs: list[Any]
    uploads: dict[str, Any]
    validate: gr.Button
    launch: gr.Button
    status: gr.Markdown
    yaml_box: gr.Code
    apply_yaml: gr.Button
    launch_from_yaml: gr.Button

    @property
    def group_columns(self) -> list[gr.Column]:
        return [column for _, _, column in self.groups]

    def visibility(self, chosen: dict[str, Any]) -> list[Any]:
        """Show the options of the plugins ``chosen`` (by block), hide the others."""
        return [gr.update(visible=chosen.get(b) == p) for b, p, _ in self.groups]

    def skipped(self) -> list[Any]:
        """No change to any input or option group."""
        return [gr.skip()] * (len(self.inputs) + len(self.groups))


def _build_form(ctx: UIContext, layout: FormLayout) -> NewRunForm:
    """Lay out the form, filled from the starter config."""
    first = starter_config()
    start = layout.widget_values(first)
    chosen = layout.chosen_plugins(first)

    gr.Markdown(
        "Start from a shipped config, or choose a **stage** first: only the architectures and "
        "datasets it can use are offered. Every field comes from the plugin's own options, with "
        "its default and limits."
    )
    shipped = starter_choices()
    start_from = gr.Dropdown(
        shipped,
        value=DEFAULT_STARTER if any(n == DEFAULT_STARTER for _, n in shipped) else None,
        label="Start from",
        info="a shipped config (configs/*.yaml) fills the form; change what you like",
        elem_id="wb-start-from",
    )
    with gr.Row():
        name = field_widget(layout.top[0], start[0], elem_id("name"))
        seed = field_widget(layout.top[2], start[2], elem_id("seed"))
        init_from = gr.Dropdown(
            init_from_choices(ctx),
            value=start[3],
            allow_custom_value=True,
            label="init_from",
            info=layout.top[3].info,
            elem_id=elem_id("init_from"),
        )
    description = field_widget(layout.top[1], start[1], elem_id("description"))

    pickers: dict[str, gr.Dropdown] = {}
    groups: list[tuple[str, str, gr.Column]] = []
    option_inputs: list[Any] = []
    uploads: dict[str, Any] = {}
    for block in BLOCKS:
        with gr.Group():
            with gr.Row():
                pickers[block] = gr.Dropdown(
                    layout.choices(block, chosen["stage"]),
                    value=chosen[block],
                    allow_custom_value=True,
                    label=block,
                    elem_id=elem_id(block),
                    scale=3,
                )
                if block == "dataset":
                    uploads["data"] = gr.UploadButton(
                        "Upload a data file (.txt, .jsonl)",
                        file_types=list(DATA_SUFFIXES),
                        size="sm",
                        scale=1,
                    )
            for plugin, form in layout.plugins[block].items():
                with gr.Column(visible=plugin == chosen[block]) as column:
                    gr.Markdown(f"_{form.summary}_")
                    given = first.get(block) if plugin == chosen[block] else None
                    options = dict(given) if isinstance(given, dict) else {}
                    options.pop("name", None)
                    option_inputs.extend(plugin_widgets(form, options))
                groups.append((block, plugin, column))
    with gr.Accordion("Trainer (devices, precision, loggers)", open=False):
        trainer = first.get("trainer")
        option_inputs.extend(
            plugin_widgets(layout.trainer, trainer if isinstance(trainer, dict) else {})
        )

    with gr.Row():
        validate = gr.Button("Validate", elem_id="wb-validate")
        launch = gr.Button("Launch", variant="primary", elem_id="wb-launch")
    status = gr.Markdown(elem_id="wb-new-run-status")
    with gr.Accordion("YAML", open=False):
        yaml_box = gr.Code(
            value=config_yaml(layout.raw_config(start)[0]),
            language="yaml",
            interactive=True,
            label="Config as YAML (Validate shows the form here; edit and apply, or launch)",
            elem_id="wb-yaml",
        )
        with gr.Row():
            apply_yaml = gr.Button("Apply YAML to the form")
            launch_from_yaml = gr.Button("Launch this YAML")
            uploads["config"] = gr.UploadButton(
                "Upload a config file (.yaml)", file_types=list(CONFIG_SUFFIXES), size="sm"
            )

    inputs: list[Any] = [name, description, seed, init_from, *pickers.values(), *option_inputs]
    assert len(inputs) == len(layout.slots()), "one input per slot"
    return NewRunForm(
        layout=layout, start_from=start_from, init_from=init_from, pickers=pickers, groups=groups,
        inputs=inputs, uploads=uploads, validate=validate, launch=launch, status=status,
        yaml_box=yaml_box, apply_yaml=apply_yaml, launch_from_yaml=launch_from_yaml,
    )  # fmt: skip


def _wire_choices(form: NewRunForm) -> None:
    """A stage offers only the plugins it can use; a picked plugin shows its options; a preset
    fills the options it sets."""
    layout, pickers, slots = form.layout, form.pickers, form.layout.slots()

    def on_stage(stage: str, *current: Any) -> list[Any]:
        picks = dict(zip(BLOCKS[1:], current, strict=True))
        updates = []
        now = {"stage": stage}
        for block in BLOCKS[1:]:
            offered = layout.choices(block, stage)
            value = picks[block] if picks[block] in offered else (offered[0] if offered else None)
            now[block] = value
            updates.append(gr.update(choices=offered, value=value))
        return updates + form.visibility(now)

    def on_pick(*values: Any) -> list[Any]:
        return form.visibility(dict(zip(BLOCKS, values, strict=True)))

    others = [pickers[b] for b in BLOCKS[1:]]
    pickers["stage"].input(
        on_stage,
        inputs=[pickers["stage"], *others],
        outputs=[*others, *form.group_columns],
        api_visibility="private",
    )
    for block in BLOCKS:
        pickers[block].input(
            on_pick,
            inputs=list(pickers.values()),
            outputs=form.group_columns,
            api_visibility="private",
        )
    for plugin_block in BLOCKS:
        for plugin, plugin_form in layout.plugins[plugin_block].items():
            if not plugin_form.has_preset:
                continue
            first = next(
                i for i, s in enumerate(slots) if (s.block, s.plugin) == (plugin_block, plugin)
            )
            targets = form.inputs[first : first + len(plugin_form.slots())]

            def on_preset(preset: str, _form=plugin_form) -> list[Any]:
                return _form.widget_values({"preset": preset} if preset != NONE_CHOICE else {})[1:]

            targets[0].input(
                on_preset, inputs=targets[0], outputs=targets[1:], api_visibility="private"
            )


def _wire_checks_and_launch(ctx: UIContext, form: NewRunForm, links: Links) -> None:
    """Validate (errors in the status line and at their fields, warnings beside their fields)
    and launch, from the form or from the YAML."""
    layout, inputs, slots = form.layout, form.inputs, form.layout.slots()

    def on_validate(*values: Any) -> list[Any]:
        checked = check_form(ctx, layout, values)
        return [checked.message(), config_yaml(checked.raw)]

    def warn_fields(*values: Any) -> list[Any]:
        *values, warned_before = values
        checked = check_form(ctx, layout, values)
        marks = field_warnings(layout, values, checked.warnings)
        # Only the inputs whose warning appears, changes or goes are updated (their info line).
        updates = [
            gr.update(info=widget_info(slots[i].field, marks.get(i, "")))
            if i in marks or i in (warned_before or {})
            else gr.skip()
            for i in range(len(values))
        ]
        return [*updates, marks]

    def mark_fields(*values: Any) -> list[Any]:
        checked = check_form(ctx, layout, values)
        marks = field_errors(layout, values, checked.error)
        return [gr.validate(i not in marks, marks.get(i, "")) for i in range(len(values))]

    def report_errors(*values: Any) -> Any:
        checked = check_form(ctx, layout, values)
        return gr.skip() if checked.ok else checked.message()

    def opened(run_id: int, checked: Checked) -> list[Any]:
        return [
            f"Started run {run_id}. " + checked.message(),
            config_yaml(checked.raw),
            gr.update(choices=run_choices(ctx), value=str(run_id)),
            gr.Tabs(selected="runs"),
            gr.Timer(active=True),
        ]

    def on_launch(*values: Any) -> list[Any]:
        run_id, checked = launch_form(ctx, layout, values)
        if run_id is None:
            return [checked.message(), config_yaml(checked.raw), *[gr.skip()] * 3]
        return opened(run_id, checked)

    def on_launch_yaml(text: str) -> list[Any]:
        run_id, checked = launch_yaml(ctx, text)
        if run_id is None:
            return [checked.message(), *[gr.skip()] * 4]
        return opened(run_id, checked)

    # The CLI's error text goes to the status line first; then the same check marks each bad
    # field (a Gradio validator), and a launch only starts when no field is marked.
    status, yaml_box = form.status, form.yaml_box
    launch_outputs = [status, yaml_box, links.run_picker, links.tabs, links.runs_timer]
    warned = gr.State({})
    validated = form.validate.click(
        on_validate, inputs=inputs, outputs=[status, yaml_box], api_name="validate"
    )
    # Warnings (a valid config that makes no sense) go beside their fields, in the info line.
    validated.then(
        warn_fields, inputs=[*inputs, warned], outputs=[*inputs, warned], api_visibility="private"
    )
    validated.then(lambda *v: None, inputs=inputs, outputs=None, validator=mark_fields,
           api_visibility="private")  # fmt: skip
    form.launch.click(
        report_errors, inputs=inputs, outputs=status, api_visibility="private"
    ).then(on_launch, inputs=inputs, outputs=launch_outputs, validator=mark_fields,
           api_name="launch")  # fmt: skip
    form.launch_from_yaml.click(
        on_launch_yaml, inputs=yaml_box, outputs=launch_outputs, api_name="launch_yaml"
    )


def _wire_filling(ctx: UIContext, form: NewRunForm, links: Links) -> None:
    """What fills the form: the YAML, an uploaded config, a shipped config, a cloned run; and a
    data upload that fills the dataset's path."""
    layout, inputs, slots = form.layout, form.inputs, form.layout.slots()

    def fill(raw: dict[str, Any]) -> list[Any]:
        values = layout.widget_values(raw)
        now = layout.chosen_plugins(raw)
        updates: list[Any] = list(values)
        for block in BLOCKS:
            index = layout.picker_index(block)
            updates[index] = gr.update(
                choices=layout.choices(block, now["stage"]), value=now[block]
            )
        init_index = 3
        updates[init_index] = gr.update(choices=init_from_choices(ctx), value=values[init_index])
        return updates + form.visibility(now)

    def apply_message(raw: dict[str, Any]) -> str:
        dropped = layout.unknown_keys(raw)
        message = check_config(ctx, raw).message()
        if dropped:
            message += "\n\nNot in the form, so left out: " + ", ".join(dropped)
        return message

    def on_apply_yaml(text: str) -> list[Any]:
        try:
            raw = parse_yaml(text or "", source="YAML")
        except ConfigError as exc:
            return form.skipped() + [Checked({}, None, exc).message()]
        return fill(raw) + [apply_message(raw)]

    def on_config_upload(file: Any) -> list[Any]:
        try:
            raw = read_config_upload(getattr(file, "name", file))
        except (UploadError, ConfigError, OSError) as exc:
            return form.skipped() + [f"Refused: {exc}", gr.skip()]
        return fill(raw) + [apply_message(raw), config_yaml(raw)]

    def on_start_from(name: Any) -> list[Any]:
        found = starter(str(name or ""))
        if found is None:
            return form.skipped() + [f"No shipped config {name!r}.", gr.skip()]
        try:
            raw = found.load()
        except (OSError, yaml.YAMLError) as exc:
            return form.skipped() + [f"Refused: {exc}", gr.skip()]
        note = f"Filled from `configs/{found.path.name}`. " + apply_message(raw)
        return fill(raw) + [note, config_yaml(raw)]

    # Inputs named `path` of each dataset plugin, filled by a data upload.
    path_targets: list[tuple[str, int]] = [
        (slot.plugin, index)
        for index, slot in enumerate(slots)
        if slot.block == "dataset" and slot.plugin and slot.field.path == ("path",)
    ]

    def on_data_upload(file: Any, *values: Any) -> list[Any]:
        try:
            relative = data_upload_target(ctx, getattr(file, "name", file))
        except (UploadError, OSError) as exc:
            return [f"Refused: {exc}", *[gr.skip()] * len(path_targets)]
        dataset = values[layout.picker_index("dataset")]
        updates = []
        filled = False
        for plugin, _index in path_targets:
            if plugin == dataset and not filled:
                updates.append(relative)
                filled = True
            else:
                updates.append(gr.skip())
        note = " and put into the dataset's `path`" if filled else ""
        return [f"Saved as `{relative}` in the workbench home{note}.", *updates]

    def on_clone(picked: Any) -> list[Any]:
        from workbench.ui.pickers import parse_run_id
        from workbench.ui.runs_tab import clone_config

        run_id = parse_run_id(picked)
        if run_id is None:
            return [*form.skipped(), "Choose a run first.", gr.skip(), gr.skip(), gr.skip()]
        raw = clone_config(ctx, run_id)
        return (
            fill(raw)
            + [f"Cloned from run {run_id}; change what you like, then Launch.", config_yaml(raw)]
            + [gr.Tabs(selected="new"), gr.Timer(active=False)]
        )

    status, yaml_box, columns = form.status, form.yaml_box, form.group_columns
    form.apply_yaml.click(
        on_apply_yaml,
        inputs=yaml_box,
        outputs=[*inputs, *columns, status],
        api_name="apply_yaml",
    )
    form.uploads["config"].upload(
        on_config_upload,
        inputs=form.uploads["config"],
        outputs=[*inputs, *columns, status, yaml_box],
        api_name="upload_config",
    )
    form.start_from.input(
        on_start_from,
        inputs=form.start_from,
        outputs=[*inputs, *columns, status, yaml_box],
        api_name="start_from",
    )
    form.uploads["data"].upload(
        on_data_upload,
        inputs=[form.uploads["data"], *inputs],
        outputs=[status, *[inputs[i] for _, i in path_targets]],
        api_name="upload_data",
    )
    links.clone.click(
        on_clone,
        inputs=links.clone_source,
        outputs=[*inputs, *columns, status, yaml_box, links.tabs, links.runs_timer],
        api_visibility="private",
    )
    links.tab.select(
        lambda v: gr.update(choices=init_from_choices(ctx), value=v),
        inputs=form.init_from,
        outputs=form.init_from,
        api_visibility="private",
    )


def build_new_run_tab(ctx: UIContext, links: Links) -> FormLayout:
    """Lay out the form and wire it: plugin choices, checks and launch, and what fills it."""
    form = _build_form(ctx, FormLayout.from_registry(ctx.registry))
    _wire_choices(form)
    _wire_checks_and_launch(ctx, form, links)
    _wire_filling(ctx, form, links)
    return form.layout
