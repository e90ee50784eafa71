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
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workbench.registry import Registry, UnknownPluginError
from workbench.runner.tracking import missing_logger_error

PLUGIN_BLOCKS: dict[str, str] = {
    "stage": "stages",
    "architecture": "architectures",
    "tokenizer": "tokenizers",
    "dataset": "datasets",
}
"""Config block → registry kind."""

PRECISIONS = (
    "32-true",
    "32",
    "16-mixed",
    "bf16-mixed",
    "bf16-true",
    "16-true",
    "64-true",
    "transformer-engine",
)


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
    precision: Literal[PRECISIONS] = Field("32-true", description="Lightning precision")  # type: ignore[valid-type]
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


def _pydantic_issues(exc: ValidationError, prefix: str) -> list[tuple[str, str]]:
    issues = []
    for err in exc.errors():
        loc = _format_loc(prefix, err.get("loc", ()))
        msg = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            msg = "unknown field"
        elif "input" in err and not isinstance(err["input"], dict | list):
            msg = f"{msg} (got {err['input']!r})"
        issues.append((loc, msg))
    return issues


def validate_options(spec: Any, options: Mapping[str, Any], block: str) -> BaseModel:
    """Validate a block's options with the plugin's Config; unknown keys are always refused."""
    options = dict(options)
    presets = getattr(spec, "presets", None) or {}
    preset = options.get("preset")
    if preset is not None:
        if preset not in presets:
            available = ", ".join(sorted(presets)) or "none"
            raise ConfigError(
                [(f"{block}.preset", f"unknown preset {preset!r} (available: {available})")]
            )
        fields = spec.config.model_fields
        base = {k: v for k, v in presets[preset].items() if k in fields}
        options = {**base, **options}
        if "preset" not in fields:
            options.pop("preset")
    known = set(spec.config.model_fields)
    unknown = [key for key in options if key not in known]
    if unknown:
        valid = ", ".join(sorted(known)) or "none"
        raise ConfigError(
            [(f"{block}.{key}", f"unknown field (valid fields: {valid})") for key in unknown]
        )
    try:
        return spec.config.model_validate(options)
    except ValidationError as exc:
        raise ConfigError(_pydantic_issues(exc, block)) from None


def resolve_config(raw: Mapping[str, Any], registry: Registry) -> ResolvedConfig:
    """Validate a raw config against the loaded plugins; all problems are reported together."""
    try:
        run = RunConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(_pydantic_issues(exc, "")) from None

    issues: list[tuple[str, str]] = []
    options: dict[str, BaseModel] = {}
    specs: dict[str, Any] = {}
    for block, kind in PLUGIN_BLOCKS.items():
        plugin_block: PluginBlock = getattr(run, block)
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
    if issues:
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
