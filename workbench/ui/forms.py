"""Run-config forms generated from the plugins' pydantic Config models (no Gradio here).

:func:`describe_model` turns a Config model into :class:`FormField` descriptions (numbers with
their bounds, ``Literal`` and ``Enum`` fields as choices, booleans, nested models as groups, and
anything else as a small YAML box). :class:`FormLayout` lays out the whole New run form for the
loaded registry, as one flat list of input slots, and converts between a run config and the
values of those inputs in both directions. The config built from a form holds only what differs
from the plugin's defaults (or from the chosen preset), like a hand-written config file.
"""

from __future__ import annotations

import enum
import math
import re
import types
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types as at
import yaml
from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

from workbench.config import PLUGIN_BLOCKS, TrainerOptions
from workbench.registry import Registry

NONE_CHOICE = "(none)"
"""The choice that means "no value" in a dropdown of an optional field."""

TOP_FIELDS = ("name", "description", "seed", "init_from")
BLOCKS = tuple(PLUGIN_BLOCKS)
"""stage, architecture, tokenizer, dataset: the blocks that select a plugin."""
TRAINER = "trainer"
DEFAULT_SEED = 1337


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""The default of a required field."""


class FieldValueError(ValueError):
    """A widget value that cannot be turned into a config value (e.g. bad YAML)."""


@dataclass(frozen=True)
class FormField:
    """One input of a plugin's form (or, with ``kind == "group"``, a nested model's fields)."""

    path: tuple[str, ...]
    kind: Literal["bool", "int", "float", "choice", "multichoice", "text", "yaml", "group"]
    label: str
    info: str = ""
    default: Any = MISSING
    optional: bool = False
    choices: tuple[Any, ...] = ()
    children: tuple[FormField, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is MISSING

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


# ---------------------------------------------------------------------------------------------
# Describing a pydantic model
# ---------------------------------------------------------------------------------------------


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) < len(get_args(annotation))
        if len(args) == 1:
            return args[0], optional
        return Union[tuple(args)], optional  # noqa: UP007 - rebuilt at run time
    return annotation, False


def _literal_values(annotation: Any) -> tuple[Any, ...] | None:
    if get_origin(annotation) is Literal:
        return tuple(get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return tuple(member.value for member in annotation)
    return None


def _kind_of(annotation: Any) -> tuple[str, tuple[Any, ...]]:
    if annotation is bool:
        return "bool", ()
    if annotation is int:
        return "int", ()
    if annotation is float:
        return "float", ()
    if annotation is str:
        return "text", ()
    choices = _literal_values(annotation)
    if choices is not None:
        return "choice", choices
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "group", ()
    if get_origin(annotation) in (list, tuple, set, frozenset):
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        if len(args) == 1:
            inner = _literal_values(args[0])
            if inner is not None:
                return "multichoice", inner
    return "yaml", ()


def _bounds(info: FieldInfo) -> str:
    parts = []
    for item in info.metadata:
        if isinstance(item, at.Ge):
            parts.append(f"≥ {item.ge}")
        elif isinstance(item, at.Gt):
            parts.append(f"> {item.gt}")
        elif isinstance(item, at.Le):
            parts.append(f"≤ {item.le}")
        elif isinstance(item, at.Lt):
            parts.append(f"< {item.lt}")
        elif isinstance(item, at.MultipleOf):
            parts.append(f"multiple of {item.multiple_of}")
        elif isinstance(item, at.MinLen) and item.min_length:
            parts.append(f"at least {item.min_length} long")
        elif isinstance(item, at.MaxLen):
            parts.append(f"at most {item.max_length} long")
    return ", ".join(parts)


def _json_default(info: FieldInfo, annotation: Any) -> Any:
    if info.is_required():
        return MISSING
    value = info.get_default(call_default_factory=True)
    try:
        return TypeAdapter(annotation).dump_python(value, mode="json")
    except Exception:  # an exotic default: show it as it is
        return value


def _show(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, str):
        return repr(value)
    text = yaml.safe_dump(value, default_flow_style=True, width=200).strip()
    return text.removesuffix("...").strip()


def describe_model(
    model: type[BaseModel],
    prefix: tuple[str, ...] = (),
    defaults: Mapping[str, Any] | None = None,
    skip: Sequence[str] = (),
) -> list[FormField]:
    """The form fields of ``model``, in declaration order (nested models become groups).

    ``defaults`` overrides the model's own defaults (a parent's default instance of a nested
    model); names in ``skip`` are left out.
    """
    fields: list[FormField] = []
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        annotation, optional = _strip_optional(info.annotation)
        kind, choices = _kind_of(annotation)
        if kind == "group" and optional:
            kind = "yaml"
        default = _json_default(info, info.annotation)
        if defaults is not None and name in defaults:
            default = defaults[name]
        path = (*prefix, name)
        description = (info.description or "").strip()
        if kind == "group":
            sub_defaults = default if isinstance(default, dict) else None
            children = describe_model(annotation, path, sub_defaults)
            fields.append(
                FormField(
                    path=path,
                    kind="group",
                    label=name,
                    info=description,
                    default=default,
                    children=tuple(children),
                )
            )
            continue
        notes = [description] if description else []
        bounds = _bounds(info)
        if bounds:
            notes.append(bounds)
        notes.append("required" if default is MISSING else f"default {_show(default)}")
        if kind == "choice" and optional:
            choices = (NONE_CHOICE, *choices)
        fields.append(
            FormField(
                path=path,
                kind=kind,  # type: ignore[arg-type]
                label=name,
                info=" · ".join(notes),
                default=default,
                optional=optional,
                choices=tuple(choices),
            )
        )
    return fields


def leaves(fields: Sequence[FormField]) -> Iterator[FormField]:
    """Every input field, nested groups flattened, in display order."""
    for item in fields:
        if item.kind == "group":
            yield from leaves(item.children)
        else:
            yield item


# ---------------------------------------------------------------------------------------------
# Values: config <-> widget
# ---------------------------------------------------------------------------------------------


def to_widget(item: FormField, value: Any) -> Any:
    """The widget value that shows config value ``value`` (``MISSING``: an empty widget)."""
    if value is MISSING:
        value = None
    if item.kind == "bool":
        return bool(value)
    if item.kind in ("int", "float"):
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        if item.optional:  # shown in a textbox, where empty means None
            return "" if number is None else str(number)
        return number
    if item.kind == "choice":
        if value is None:
            return NONE_CHOICE if item.optional else None
        return value
    if item.kind == "multichoice":
        return list(value or [])
    if item.kind == "text":
        return "" if value is None else str(value)
    if value is None:
        return ""
    return _show(value)


def from_widget(item: FormField, widget_value: Any) -> Any:
    """The config value a widget holds; raises :class:`FieldValueError` for unreadable YAML."""
    kind = item.kind
    if kind == "bool":
        return bool(widget_value)
    if kind in ("int", "float"):
        if widget_value is None or widget_value == "":
            return None
        if isinstance(widget_value, str):
            try:
                widget_value = float(widget_value)
            except ValueError:
                return widget_value  # pydantic names the problem
        if kind == "int" and isinstance(widget_value, float) and widget_value.is_integer():
            return int(widget_value)
        if isinstance(widget_value, float) and math.isfinite(widget_value):
            return widget_value
        return widget_value
    if kind == "choice":
        return None if widget_value in (NONE_CHOICE, None) else widget_value
    if kind == "multichoice":
        return list(widget_value or [])
    if kind == "text":
        text = "" if widget_value is None else str(widget_value)
        return None if (text == "" and item.optional) else text
    text = "" if widget_value is None else str(widget_value)
    if not text.strip():
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise FieldValueError(f"cannot read this as YAML ({problem})") from None


def _get(mapping: Mapping[str, Any], path: Sequence[str]) -> Any:
    node: Any = mapping
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return MISSING
        node = node[part]
    return node


def _put(mapping: dict[str, Any], path: Sequence[str], value: Any) -> None:
    node = mapping
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


# ---------------------------------------------------------------------------------------------
# The whole form
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PluginForm:
    """The inputs of one plugin's options: an optional preset choice, then its fields."""

    block: str
    plugin: str
    summary: str
    fields: tuple[FormField, ...]
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def leaves(self) -> tuple[FormField, ...]:
        return tuple(leaves(self.fields))

    @property
    def has_preset(self) -> bool:
        return bool(self.presets)

    def base(self, preset: str | None) -> dict[str, Any]:
        """Defaults, with a preset's values on top: what an option left out resolves to."""
        values = {leaf.dotted: leaf.default for leaf in self.leaves}
        for key, value in (self.presets.get(preset, {}) if preset else {}).items():
            if key in values:
                values[key] = value
        return values

    def preset_field(self) -> FormField:
        return FormField(
            path=("preset",),
            kind="choice",
            label="preset",
            info="start from these values; the fields below show them and can be changed",
            default=None,
            optional=True,
            choices=(NONE_CHOICE, *sorted(self.presets)),
        )

    def slots(self) -> list[FormField]:
        return ([self.preset_field()] if self.has_preset else []) + list(self.leaves)

    def widget_values(self, options: Mapping[str, Any]) -> list[Any]:
        """Widget values showing ``options`` (a config block without its ``name``)."""
        preset = options.get("preset") if self.has_preset else None
        if preset not in self.presets:
            preset = None
        base = self.base(preset)
        values: list[Any] = []
        if self.has_preset:
            values.append(preset if preset is not None else NONE_CHOICE)
        for leaf in self.leaves:
            given = _get(options, leaf.path)
            values.append(to_widget(leaf, base[leaf.dotted] if given is MISSING else given))
        return values

    def options(
        self, widget_values: Sequence[Any]
    ) -> tuple[dict[str, Any], list[tuple[tuple[str, ...], str]]]:
        """The options that differ from the defaults (and preset), and unreadable widgets."""
        values = list(widget_values)
        out: dict[str, Any] = {}
        problems: list[tuple[tuple[str, ...], str]] = []
        preset = None
        if self.has_preset:
            chosen = values.pop(0)
            if chosen not in (None, NONE_CHOICE):
                preset = chosen
                out["preset"] = chosen
        base = self.base(preset)
        for leaf, widget_value in zip(self.leaves, values, strict=True):
            try:
                value = from_widget(leaf, widget_value)
            except FieldValueError as exc:
                problems.append((leaf.path, str(exc)))
                continue
            default = base[leaf.dotted]
            if default is MISSING:
                if value not in (None, ""):
                    _put(out, leaf.path, value)
            elif not _same(value, default):
                _put(out, leaf.path, value)
        return out, problems


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


@dataclass(frozen=True)
class Slot:
    """One input of the form: a top-level field, a block's plugin picker, or a plugin option."""

    block: str  # "" for top-level fields, "trainer", or a plugin block
    plugin: str  # "" for top-level fields, pickers and the trainer
    field: FormField

    @property
    def key(self) -> str:
        parts = [p for p in (self.block, self.plugin, self.field.dotted) if p]
        return "-".join(parts)


def _top_fields() -> list[FormField]:
    return [
        FormField(("name",), "text", "name", "a name for the run · required"),
        FormField(("description",), "text", "description", "what this run is for", default=""),
        FormField(
            ("seed",),
            "int",
            "seed",
            "seed for data generation, initialisation and sampling",
            default=DEFAULT_SEED,
        ),
        FormField(
            ("init_from",),
            "choice",
            "init_from",
            "start from the weights of a finished run (its tokenizer comes too)",
            default=None,
            optional=True,
        ),
    ]


@dataclass
class FormLayout:
    """Every input of the New run form, in one fixed order, for one registry."""

    registry: Registry
    top: list[FormField]
    plugins: dict[str, dict[str, PluginForm]]
    trainer: PluginForm

    @classmethod
    def from_registry(cls, registry: Registry) -> FormLayout:
        plugins: dict[str, dict[str, PluginForm]] = {}
        for block, kind in PLUGIN_BLOCKS.items():
            plugins[block] = {}
            for name in registry.names(kind):
                spec = registry.get(kind, name)
                presets = dict(getattr(spec, "presets", None) or {})
                fields = describe_model(spec.config, skip=("preset",) if presets else ())
                plugins[block][name] = PluginForm(block, name, spec.summary, tuple(fields), presets)
        trainer = PluginForm(
            TRAINER, "", "Lightning Trainer options", tuple(describe_model(TrainerOptions))
        )
        return cls(registry=registry, top=_top_fields(), plugins=plugins, trainer=trainer)

    # -- slots ---------------------------------------------------------------------------------

    def slots(self) -> list[Slot]:
        out = [Slot("", "", f) for f in self.top]
        for block in BLOCKS:
            out.append(Slot(block, "", FormField((block,), "choice", block, "")))
        for block in BLOCKS:
            for name, form in self.plugins[block].items():
                out.extend(Slot(block, name, f) for f in form.slots())
        out.extend(Slot(TRAINER, "", f) for f in self.trainer.slots())
        return out

    def _ranges(self) -> dict[tuple[str, str], tuple[int, int]]:
        ranges: dict[tuple[str, str], tuple[int, int]] = {}
        start = len(self.top) + len(BLOCKS)
        for block in BLOCKS:
            for name, form in self.plugins[block].items():
                size = len(form.slots())
                ranges[(block, name)] = (start, start + size)
                start += size
        ranges[(TRAINER, "")] = (start, start + len(self.trainer.slots()))
        return ranges

    def picker_index(self, block: str) -> int:
        return len(self.top) + BLOCKS.index(block)

    # -- choices -------------------------------------------------------------------------------

    def stages(self) -> list[str]:
        return list(self.plugins["stage"])

    def choices(self, block: str, stage: str | None) -> list[str]:
        """The plugins offered for ``block`` once ``stage`` is chosen (only compatible ones)."""
        if block == "stage":
            return self.stages()
        if stage in self.plugins["stage"]:
            if block == "architecture":
                return self.registry.compatible_architectures(stage)
            if block == "dataset":
                return self.registry.compatible_datasets(stage)
        return list(self.plugins[block])

    # -- config -> widgets ---------------------------------------------------------------------

    def widget_values(self, raw: Mapping[str, Any]) -> list[Any]:
        """Widget values showing ``raw`` (a run config); plugins it does not name get their
        defaults, and a block without a usable name gets the first compatible plugin."""
        top = [
            str(raw.get("name") or ""),
            str(raw.get("description") or ""),
            raw.get("seed", DEFAULT_SEED) if isinstance(raw.get("seed"), int) else DEFAULT_SEED,
            str(raw["init_from"]) if raw.get("init_from") not in (None, "") else NONE_CHOICE,
        ]
        chosen = self.chosen_plugins(raw)
        values: list[Any] = top + [chosen[block] for block in BLOCKS]
        for block in BLOCKS:
            given = raw.get(block) if isinstance(raw.get(block), Mapping) else {}
            for name, form in self.plugins[block].items():
                options = (
                    {k: v for k, v in given.items() if k != "name"} if name == chosen[block] else {}
                )
                values.extend(form.widget_values(options))
        trainer = raw.get(TRAINER) if isinstance(raw.get(TRAINER), Mapping) else {}
        values.extend(self.trainer.widget_values(trainer))
        return values

    def chosen_plugins(self, raw: Mapping[str, Any]) -> dict[str, str | None]:
        chosen: dict[str, str | None] = {}
        stage_block = raw.get("stage") if isinstance(raw.get("stage"), Mapping) else {}
        stage = stage_block.get("name") if stage_block else None
        if stage not in self.plugins["stage"]:
            stage = next(iter(self.plugins["stage"]), None)
        chosen["stage"] = stage
        for block in BLOCKS[1:]:
            given = raw.get(block) if isinstance(raw.get(block), Mapping) else {}
            name = given.get("name") if given else None
            offered = self.choices(block, stage)
            if name not in self.plugins[block]:
                name = offered[0] if offered else None
            chosen[block] = name
        return chosen

    def unknown_keys(self, raw: Mapping[str, Any]) -> list[str]:
        """Keys of ``raw`` the form has no input for (they would be dropped by a round trip)."""
        unknown = [k for k in raw if k not in (*TOP_FIELDS, *BLOCKS, TRAINER)]
        chosen = self.chosen_plugins(raw)
        for block in (*BLOCKS, TRAINER):
            given = raw.get(block)
            if not isinstance(given, Mapping):
                continue
            form = (
                self.trainer if block == TRAINER else self.plugins[block].get(chosen[block] or "")
            )
            if form is None:
                continue
            known = {leaf.path for leaf in form.leaves}
            prefixes = {leaf.path[:i] for leaf in form.leaves for i in range(1, len(leaf.path))}
            unknown.extend(
                f"{block}.{'.'.join(path)}"
                for path in _paths(given)
                if _unknown(path, known, prefixes, form)
            )
        return unknown

    # -- widgets -> config ---------------------------------------------------------------------

    def raw_config(self, values: Sequence[Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """The run config the widgets describe, and the widgets that could not be read as
        ``(location, message)`` pairs."""
        values = list(values)
        if len(values) != len(self.slots()):
            raise ValueError(f"expected {len(self.slots())} form values, got {len(values)}")
        issues: list[tuple[str, str]] = []
        name, description, seed, init_from = values[: len(self.top)]
        raw: dict[str, Any] = {"name": (name or "").strip()}
        if description:
            raw["description"] = description
        seed_value = from_widget(self.top[2], seed)
        raw["seed"] = DEFAULT_SEED if seed_value is None else seed_value
        ranges = self._ranges()
        for block in BLOCKS:
            plugin = values[self.picker_index(block)]
            raw[block] = {"name": plugin or ""}
            if plugin in self.plugins[block]:
                start, end = ranges[(block, plugin)]
                options, problems = self.plugins[block][plugin].options(values[start:end])
                raw[block].update(options)
                issues.extend((f"{block}.{'.'.join(p)}", m) for p, m in problems)
        start, end = ranges[(TRAINER, "")]
        trainer, problems = self.trainer.options(values[start:end])
        issues.extend((f"{TRAINER}.{'.'.join(p)}", m) for p, m in problems)
        if trainer:
            raw[TRAINER] = trainer
        if init_from not in (None, "", NONE_CHOICE):
            text = str(init_from).split(" ", 1)[0]
            raw["init_from"] = int(text) if text.isdigit() else str(init_from)
        return raw, issues

    def slot_for(self, location: str, values: Sequence[Any]) -> int | None:
        """The index of the input an error location (``stage.lr``, ``name``...) points at."""
        parts = [p for p in re.sub(r"\[\d+\]", "", location).split(".") if p]
        if not parts:
            return None
        if parts[0] in TOP_FIELDS:
            return TOP_FIELDS.index(parts[0])
        block = parts[0]
        if block in BLOCKS and parts[1:] in (["name"], []):
            return self.picker_index(block)
        if block == TRAINER:
            form, key = self.trainer, (TRAINER, "")
        elif block in BLOCKS:
            plugin = values[self.picker_index(block)]
            form = self.plugins[block].get(plugin)
            key = (block, plugin)
            if form is None:
                return self.picker_index(block)
        else:
            return None
        start, _ = self._ranges()[key]
        rest = tuple(parts[1:])
        for offset, slot in enumerate(form.slots()):
            if rest[: len(slot.path)] == slot.path:
                return start + offset
        return None


def _paths(mapping: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in mapping.items():
        if not prefix and key == "name":
            continue
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            yield from _paths(value, path)
        else:
            yield path


def _unknown(
    path: tuple[str, ...],
    known: set[tuple[str, ...]],
    prefixes: set[tuple[str, ...]],
    form: PluginForm,
) -> bool:
    if path == ("preset",) and form.has_preset:
        return False
    return not any(path[: len(k)] == k for k in known) and path not in prefixes
