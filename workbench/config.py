"""Run configs: the YAML a user writes, ``--set`` overrides, and validation through the plugins.

A run config names one plugin per block (``stage``, ``architecture``, ``tokenizer``, ``dataset``);
every other key of a block is validated by that plugin's own pydantic ``Config`` model. Errors name
the block, the field and the rule, e.g. ``stage.lr: Input should be a valid number``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workbench.registry import Registry, UnknownPluginError
from workbench.runner.tracking import missing_logger_error
from workbench.suggest import did_you_mean

PLUGIN_BLOCKS: dict[str, str] = {
    "stage": "stages",
    "architecture": "architectures",
    "tokenizer": "tokenizers",
    "dataset": "datasets",
}
"""Config block → registry kind."""

PRECISIONS = (
    "32-true",
    "16-mixed",
    "bf16-mixed",
    "bf16-true",
    "16-true",
    "64-true",
    "transformer-engine",
    "transformer-engine-float16",
)
"""Lightning's precision names; a config may also use its short aliases (:data:`PRECISION_ALIASES`)."""

PRECISION_ALIASES: dict[str, str] = {
    "64": "64-true",
    "32": "32-true",
    "16": "16-mixed",
    "bf16": "bf16-mixed",
}
"""The short precision names Lightning accepts (``precision=16``, ``"bf16"``), and the name each
stands for; a config's ``trainer.precision`` is stored under the full name."""


class ConfigError(ValueError):
    """A config that cannot be used; ``issues`` holds ``(location, message)`` pairs."""

    def __init__(self, issues: Sequence[tuple[str, str]]):
        self.issues = list(issues)
        super().__init__("\n".join(f"{loc}: {msg}" if loc else msg for loc, msg in self.issues))


class PluginBlock(BaseModel):
    """A block that selects a plugin by ``name``; other keys are the plugin's options."""

    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1)

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class TrainerOptions(BaseModel):
    """Options passed to ``pytorch_lightning.Trainer``."""

    model_config = ConfigDict(extra="forbid")

    accelerator: str = Field("auto", description="cpu, gpu, cuda, mps or auto")
    devices: int | str | list[int] = Field(1, description="number of devices, a list, or auto")
    precision: Literal[PRECISIONS] = Field(  # type: ignore[valid-type]
        "32-true",
        description="Lightning precision (its aliases 16, 32, 64 and bf16 are accepted)",
    )
    strategy: str = Field("auto", description="auto, ddp, fsdp, ...")
    num_nodes: int = Field(1, ge=1)
    log_every_n_steps: int = Field(10, ge=1, description="how often training metrics are stored")
    loggers: list[Literal["csv", "tensorboard", "mlflow"]] = Field(
        default_factory=list,
        description="Lightning loggers to add beside the workbench store (tensorboard and "
        "mlflow need the extras of the same names)",
    )
    tracking_uri: str | None = Field(
        None,
        description="MLflow tracking URI; empty = one database for the whole home "
        "(sqlite:///HOME/mlflow.db)",
    )
    deterministic: bool = False
    compile: bool | Literal["auto"] = Field(
        "auto", description="torch.compile the model: auto = on CUDA only"
    )

    @field_validator("precision", mode="before")
    @classmethod
    def _precision_alias(cls, value: Any) -> Any:
        # 16, "16", "bf16", "BF16-Mixed", ... as Lightning's Trainer accepts them.
        if isinstance(value, bool):
            return value
        if isinstance(value, int | str):
            text = PRECISION_ALIASES.get(str(value).strip().lower(), str(value).strip().lower())
            if text not in PRECISIONS:
                hint = did_you_mean(text, [*PRECISIONS, *PRECISION_ALIASES])
                raise ValueError(
                    f"unknown precision {value!r}{'; ' + hint if hint else ''} (use one of "
                    f"{', '.join(PRECISIONS)}, or the aliases {', '.join(PRECISION_ALIASES)})"
                )
            return text
        return value

    @field_validator("loggers")
    @classmethod
    def _loggers_installed(cls, value: list[str]) -> list[str]:
        # Refused here, before a run is recorded, rather than when the worker builds the logger.
        problem = missing_logger_error(value)
        if problem:
            raise ValueError(problem)
        return value


class RunConfig(BaseModel):
    """The top level of a run config file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255, description="a name for the run")
    description: str = ""
    seed: int = Field(
        1337,
        ge=0,
        le=2**32 - 1,
        description="seed for data generation, initialisation and sampling",
    )

    @field_validator("name")
    @classmethod
    def _printable_name(cls, value: str) -> str:
        bad = sorted({f"U+{ord(ch):04X}" for ch in value if not ch.isprintable()})
        if bad:
            raise ValueError(f"must hold printable characters only (found {', '.join(bad)})")
        return value

    stage: PluginBlock
    architecture: PluginBlock
    tokenizer: PluginBlock
    dataset: PluginBlock
    trainer: TrainerOptions = Field(default_factory=TrainerOptions)
    init_from: int | str | None = Field(None, description="a parent run's id or name")


@dataclass
class ResolvedConfig:
    """A validated run config: the top level plus each plugin's validated options."""

    run: RunConfig
    options: dict[str, BaseModel]
    """Validated options per block ("stage", "architecture", "tokenizer", "dataset")."""

    @property
    def name(self) -> str:
        return self.run.name

    def plugin(self, block: str) -> str:
        return getattr(self.run, block).name

    def to_dict(self) -> dict[str, Any]:
        """The full resolved config (defaults filled in, presets expanded), JSON-serialisable."""
        data = self.run.model_dump(mode="json", exclude=set(PLUGIN_BLOCKS))
        for block in PLUGIN_BLOCKS:
            data[block] = {
                "name": self.plugin(block),
                **self.options[block].model_dump(mode="json"),
            }
        order = ["name", "description", "seed", *PLUGIN_BLOCKS, "trainer", "init_from"]
        return {key: data[key] for key in order}


# ---------------------------------------------------------------------------------------------
# Loading and overrides
# ---------------------------------------------------------------------------------------------


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a config file; errors name the file and, for syntax errors, the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([("", f"config file not found: {path}")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([("", f"cannot read config file {path}: {exc}")]) from None
    return parse_yaml(text, source=str(path))


def parse_yaml(text: str, *, source: str = "<config>") -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([("", f"{source}: invalid YAML{where}: {problem}")]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            [("", f"{source}: the top level must be a mapping, got {type(data).__name__}")]
        )
    return data


def apply_overrides(raw: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML) to a copy of ``raw``."""
    data = copy.deepcopy(dict(raw))
    for item in overrides:
        key, sep, value_text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError([("--set", f"{item!r}: expected KEY=VALUE, e.g. stage.lr=3e-4")])
        try:
            value = yaml.safe_load(value_text) if value_text.strip() else ""
        except yaml.YAMLError:
            value = value_text
        parts = key.split(".")
        node: Any = data
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError([("--set", f"{item!r}: {where} is not a mapping")])
            node = child
        node[parts[-1]] = value
    return data


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def _format_loc(prefix: str, loc: Sequence[Any]) -> str:
    text = prefix
    for item in loc:
        if isinstance(item, int):
            text += f"[{item}]"
        else:
            text = f"{text}.{item}" if text else str(item)
    return text


def _model_at(model: type[BaseModel] | None, path: Sequence[Any]) -> type[BaseModel] | None:
    """The pydantic model a nested location ``path`` of ``model`` is validated by, or None."""
    for part in path:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        candidates = [annotation, *get_args(annotation)]
        model = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
    return model


def _unknown_field(name: str, known: Sequence[str]) -> str:
    """The message for an unknown key: the closest known field first, then all of them."""
    hint = did_you_mean(name, known)
    valid = ", ".join(sorted(known)) or "none"
    return (
        f"unknown field, {hint} (valid fields: {valid})"
        if hint
        else (f"unknown field (valid fields: {valid})")
    )


def _pydantic_issues(
    exc: ValidationError, prefix: str, model: type[BaseModel] | None = None
) -> list[tuple[str, str]]:
    """``(location, message)`` of each error; an unknown key of ``model`` (or of a model nested
    in it) names the closest known field."""
    issues = []
    for err in exc.errors():
        where = err.get("loc", ())
        loc = _format_loc(prefix, where)
        msg = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            parent = _model_at(model, where[:-1])
            msg = (
                _unknown_field(str(where[-1]), list(parent.model_fields))
                if parent is not None and where
                else "unknown field"
            )
        elif "input" in err and not isinstance(err["input"], dict | list):
            msg = f"{msg} (got {err['input']!r})"
        issues.append((loc, msg))
    return issues


def validate_options(spec: Any, options: Mapping[str, Any], block: str) -> BaseModel:
    """Validate a block's options with the plugin's Config; unknown keys are always refused.

    Every problem of the block is reported at once: unknown keys (each with the closest known
    field), an unknown preset and the Config's own errors for the remaining keys.
    """
    options = dict(options)
    issues: list[tuple[str, str]] = []
    fields = spec.config.model_fields
    presets = getattr(spec, "presets", None) or {}
    preset = options.get("preset")
    if preset is not None:
        if preset in presets:
            base = {k: v for k, v in presets[preset].items() if k in fields}
            options = {**base, **options}
        else:
            available = ", ".join(sorted(presets)) or "none"
            hint = did_you_mean(str(preset), presets)
            issues.append(
                (
                    f"{block}.preset",
                    f"unknown preset {preset!r}{'; ' + hint if hint else ''} "
                    f"(available: {available})",
                )
            )
            options.pop("preset")
        if "preset" not in fields:
            options.pop("preset", None)
    for key in options:
        if key not in fields:
            issues.append((f"{block}.{key}", _unknown_field(str(key), list(fields))))
    known = {key: value for key, value in options.items() if key in fields}
    validated: BaseModel | None = None
    try:
        validated = spec.config.model_validate(known)
    except ValidationError as exc:
        issues.extend(_pydantic_issues(exc, block, spec.config))
    if issues or validated is None:
        raise ConfigError(issues)
    return validated


def _plugin_blocks(raw: Mapping[str, Any], run: RunConfig | None) -> dict[str, PluginBlock]:
    """The plugin blocks that can be looked up: all of them when the top level validated,
    otherwise each block that is itself well-formed (so its options are checked too)."""
    if run is not None:
        return {block: getattr(run, block) for block in PLUGIN_BLOCKS}
    blocks = {}
    for block in PLUGIN_BLOCKS:
        try:
            blocks[block] = PluginBlock.model_validate(raw.get(block))
        except ValidationError:
            continue  # already among the top level's errors
    return blocks


def resolve_config(raw: Mapping[str, Any], registry: Registry) -> ResolvedConfig:
    """Validate a raw config against the loaded plugins; all problems are reported together:
    the top level's, every block's (each unknown field with the closest known one), and the
    pairing of stage, architecture and dataset."""
    issues: list[tuple[str, str]] = []
    run: RunConfig | None = None
    try:
        run = RunConfig.model_validate(dict(raw))
    except ValidationError as exc:
        issues.extend(_pydantic_issues(exc, "", RunConfig))

    options: dict[str, BaseModel] = {}
    specs: dict[str, Any] = {}
    for block, plugin_block in _plugin_blocks(raw, run).items():
        kind = PLUGIN_BLOCKS[block]
        try:
            spec = registry.get(kind, plugin_block.name)
        except UnknownPluginError as exc:
            issues.append((f"{block}.name", str(exc)))
            continue
        specs[block] = spec
        try:
            options[block] = validate_options(spec, plugin_block.options(), block)
        except ConfigError as exc:
            issues.extend(exc.issues)

    stage, arch, dataset = specs.get("stage"), specs.get("architecture"), specs.get("dataset")
    if (
        stage is not None
        and arch is not None
        and stage.requires
        and stage.requires not in arch.protocols
    ):
        implemented = ", ".join(arch.protocols) or "none"
        issues.append(
            (
                "architecture.name",
                f"architecture {arch.name!r} does not implement protocol {stage.requires!r} "
                f"required by stage {stage.name!r} (it implements: {implemented})",
            )
        )
    if stage is not None and dataset is not None and stage.dataset_kinds:
        if dataset.dataset_kind not in stage.dataset_kinds:
            issues.append(
                (
                    "dataset.name",
                    f"dataset {dataset.name!r} provides {dataset.dataset_kind!r} data; stage "
                    f"{stage.name!r} accepts: {', '.join(stage.dataset_kinds)}",
                )
            )
    if issues or run is None:
        raise ConfigError(issues)
    return ResolvedConfig(run=run, options=options)


def load_config(
    path: str | Path | None,
    registry: Registry,
    overrides: Sequence[str] = (),
    raw: Mapping[str, Any] | None = None,
) -> ResolvedConfig:
    """Read ``path`` (or take ``raw``), apply overrides and validate."""
    data = dict(raw) if raw is not None else load_yaml(path) if path is not None else {}
    return resolve_config(apply_overrides(data, overrides), registry)
