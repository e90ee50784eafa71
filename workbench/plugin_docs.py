"""Plugins described from what they register: JSON for tools, Markdown for the docs.

:func:`registry_json` is ``workbench plugins --json``: the loaded and failed plugins, and every
spec with its plugin, protocols, presets and its Config's JSON schema (pydantic's
``model_json_schema()``). :func:`options_markdown` is ``workbench plugins --markdown``: one table
of options per spec, built from its Config (type, bounds, default, description);
``docs/plugin-options.md`` is its output for the built-in plugins, and a test keeps the two equal.
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Iterator, Mapping
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

from workbench.registry import KINDS, Registry
from workbench.specs import ArchitectureSpec, DatasetSpec, EvaluationSpec, StageSpec

OPTIONS_DOC = "docs/plugin-options.md"
"""Where the options of the built-in plugins are documented (generated: :data:`REGENERATE`)."""

REGENERATE = "workbench plugins --markdown --builtin > docs/plugin-options.md"


# ---------------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------------


def spec_json(registry: Registry, kind: str, name: str) -> dict[str, Any]:
    """One spec: its description (protocols, requirements, kinds), the plugin that registered
    it, its presets with their option values, and its Config's JSON schema."""
    spec = registry.get(kind, name)
    data = {**spec.describe(), "kind": kind, "plugin": registry.owner(kind, name)}
    presets = getattr(spec, "presets", None)
    if presets is not None:
        data["presets"] = {key: dict(presets[key]) for key in sorted(presets)}
    data["config_schema"] = spec.config.model_json_schema()
    return data


def registry_json(registry: Registry) -> dict[str, Any]:
    """``workbench plugins --json``: the registry's plugins and failures, and every spec by kind."""
    return {
        **registry.to_json(),
        "specs": {
            kind: [spec_json(registry, kind, n) for n in registry.names(kind)] for kind in KINDS
        },
    }


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------


KIND_TITLES = {
    "architectures": "Architectures",
    "stages": "Stages",
    "evaluations": "Evaluations",
    "datasets": "Datasets",
    "tokenizers": "Tokenizers",
    "annotators": "Simulated annotators",
    "exporters": "Export formats",
    "claims": "Claims",
}


def _cell(text: str) -> str:
    """Text fit for one Markdown table cell."""
    text = " ".join(str(text).split()).replace("|", "\\|")
    return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)  # "<bos>" is text, not an HTML tag


def _code(value: Any) -> str:
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _schema_type(prop: Mapping[str, Any]) -> str:
    """A JSON-schema property as a short type: ``integer``, ``list of string``, ``one of `a`,
    `b```, ``number or null``..."""
    if "enum" in prop:
        return "one of " + ", ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in prop:
            return " or ".join(_schema_type(part) for part in prop[combined])
    kind = prop.get("type")
    if isinstance(kind, list):
        return " or ".join(_schema_type({"type": k}) for k in kind)
    if kind == "array":
        items = prop.get("items")
        if isinstance(items, Mapping) and items:
            return f"list of {_schema_type(items)}"
        if isinstance(prop.get("prefixItems"), list):
            return "list of " + ", ".join(_schema_type(p) for p in prop["prefixItems"])
        return "list"
    if kind == "object":
        values = prop.get("additionalProperties")
        if isinstance(values, Mapping) and values:
            return f"mapping to {_schema_type(values)}"
        return "mapping"
    if kind == "string" and prop.get("format"):
        return str(prop["format"])
    return str(kind) if kind else "any"


_BOUNDS = (
    ("minimum", "≥ {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "≤ {}"),
    ("exclusiveMaximum", "< {}"),
    ("multipleOf", "multiple of {}"),
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("minItems", "at least {} items"),
    ("maxItems", "at most {} items"),
    ("pattern", "matches `{}`"),
)


def _schema_bounds(prop: Mapping[str, Any]) -> list[str]:
    parts = [template.format(prop[key]) for key, template in _BOUNDS if key in prop]
    for part in prop.get("anyOf", ()):
        parts.extend(_schema_bounds(part))
    return parts


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    try:
        value = TypeAdapter(info.annotation).dump_python(value, mode="json")
    except Exception:  # a default the type cannot serialise: show it as Python has it
        return f"`{value!r}`"
    return _code(value)


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model a field holds (also when optional), or None."""
    candidates = [annotation]
    if get_origin(annotation) in (Union, types.UnionType):
        candidates = list(get_args(annotation))
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def option_rows(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str, str, str]]:
    """``(option, type, default, description)`` of every field of ``model``, in declaration
    order; the fields of a nested model follow it as ``field.sub``."""
    schema = model.model_json_schema()
    properties = schema.get("properties", {})
    for name, info in model.model_fields.items():
        prop = properties.get(info.alias or name, {})
        kind = _schema_type(prop)
        bounds = _schema_bounds(prop)
        if bounds:
            kind = f"{kind}, {', '.join(bounds)}"
        yield (
            f"`{prefix}{name}`",
            _cell(kind),
            _default(info),
            _cell(info.description or ""),
        )
        nested = _nested_model(info.annotation)
        if nested is not None:
            yield from option_rows(nested, f"{prefix}{name}.")


def _options_table(model: type[BaseModel]) -> list[str]:
    rows = list(option_rows(model))
    if not rows:
        return ["No options."]
    lines = ["| option | type | default | description |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return lines


def _spec_section(registry: Registry, kind: str, name: str) -> list[str]:
    spec = registry.get(kind, name)
    facts = [f"plugin `{registry.owner(kind, name)}`"]
    if isinstance(spec, ArchitectureSpec) and spec.protocols:
        facts.append("implements " + ", ".join(f"`{p}`" for p in spec.protocols))
    if isinstance(spec, StageSpec | EvaluationSpec) and spec.requires:
        facts.append(f"requires `{spec.requires}`")
    if isinstance(spec, StageSpec) and spec.dataset_kinds:
        facts.append("trains on " + ", ".join(f"`{k}`" for k in spec.dataset_kinds))
    if isinstance(spec, DatasetSpec) and spec.dataset_kind:
        facts.append(f"provides `{spec.dataset_kind}` data")
    lines = [f"### `{name}`", "", _cell(spec.summary), "", f"*{' · '.join(facts)}*", ""]
    presets = getattr(spec, "presets", None) or {}
    if presets:
        lines.append("Presets (`preset: NAME` starts from these values; explicit keys win):")
        lines.append("")
        for preset in sorted(presets):
            values = ", ".join(f"`{k}: {json.dumps(v)}`" for k, v in presets[preset].items())
            lines.append(f"- `{preset}`: {values}")
        lines.append("")
    return [*lines, *_options_table(spec.config), ""]


def options_markdown(registry: Registry, *, builtin_only: bool = False) -> str:
    """The options of every spec the registry holds (``builtin_only``: of the built-in
    plugins'), one section per kind and one table per spec, generated from their Configs."""
    from workbench.config import TrainerOptions

    plugins = [p for p in registry.plugins if p.builtin or not builtin_only]
    which = "built-in plugin" if builtin_only else "loaded plugin"
    lines = [
        f"# Options of every {which}",
        "",
        "<!-- Generated from each plugin's Config: do not edit by hand. Regenerate with",
        f"     {REGENERATE} -->",
        "",
        f"What each {which} accepts in its config block (`stage:`, `architecture:`, "
        "`tokenizer:`, `dataset:`; evaluations, annotators and export formats take theirs with "
        "`--set KEY=VALUE`; a claim's options are the thresholds of its verdict). Unknown keys "
        "are refused. `workbench plugins --json` gives the same as JSON schema, and `workbench plugins --markdown` this page for the plugins loaded in "
        "your environment, your own included.",
        "",
    ]
    body: list[str] = []
    for kind in KINDS:
        names = sorted(name for plugin in plugins for name in plugin.specs[kind])
        if not names:
            continue
        lines.append(
            f"- [{KIND_TITLES[kind]}](#{KIND_TITLES[kind].lower().replace(' ', '-')}): "
            + ", ".join(f"`{n}`" for n in names)
        )
        body += [f"## {KIND_TITLES[kind]}", ""]
        for name in names:
            body += _spec_section(registry, kind, name)
    lines.append("- [The trainer block](#the-trainer-block)")
    lines += ["", *body]
    lines += [
        "## The trainer block",
        "",
        "The `trainer:` block of every run config (core options, passed to Lightning's `Trainer`).",
        "",
        *_options_table(TrainerOptions),
    ]
    return "\n".join(lines).rstrip() + "\n"
