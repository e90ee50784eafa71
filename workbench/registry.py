"""The plugin registry: loads plugins through pluggy and collects the typed specs they register.

Plugins come from the ``workbench`` entry-point group (built-ins and third-party packages alike),
from ``$WORKBENCH_PLUGIN_MODULES`` (comma-separated import paths, handy while writing a plugin),
and from objects passed in by tests. A plugin that fails to import, whose hook raises (or calls
``sys.exit()``), that registers a name already taken, or whose spec is malformed is reported with
its name and error and skipped as a whole; every other plugin still loads.

Built-ins win name clashes. The built-ins are the entry points of the ``workbench`` distribution
itself; they load before every other plugin, so a third-party plugin that registers a built-in's
spec name is the one refused, and a third-party entry point *named* like a built-in is refused
without being imported.

``$WORKBENCH_PLUGINS=a,b`` loads only the named plugins; ``$WORKBENCH_DISABLE_PLUGINS=c`` blocks one.
"""

from __future__ import annotations

import importlib
import os
import re
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, TypeVar, cast

import pluggy
from pydantic import BaseModel

from workbench import hookspecs
from workbench.specs import (
    SPEC_TYPES,
    AnnotatorSpec,
    ArchitectureSpec,
    ClaimSpec,
    DatasetSpec,
    EvaluationSpec,
    ExporterSpec,
    StageSpec,
    TokenizerSpec,
    _Spec,
)
from workbench.suggest import did_you_mean

ENTRY_POINT_GROUP = "workbench"
BUILTIN_DISTRIBUTION = "workbench"
"""The distribution whose entry points are the built-in plugins."""
ALLOW_ENV = "WORKBENCH_PLUGINS"
BLOCK_ENV = "WORKBENCH_DISABLE_PLUGINS"
MODULES_ENV = "WORKBENCH_PLUGIN_MODULES"

KINDS: tuple[str, ...] = tuple(SPEC_TYPES)
"""Registry sections, in display order: architectures, stages, evaluations, datasets, ..."""

_HOOK_FOR_KIND = {kind: f"register_{kind}" for kind in KINDS}

SpecT = TypeVar("SpecT", bound=_Spec)

_SINGULAR = {
    "architectures": "architecture",
    "stages": "stage",
    "evaluations": "evaluation",
    "datasets": "dataset",
    "tokenizers": "tokenizer",
    "annotators": "annotator",
    "exporters": "export format",
    "claims": "claim",
}


class UnknownPluginError(LookupError):
    """A config or command named a spec that no loaded plugin registers."""


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be loaded, and why."""

    name: str
    error: str


@dataclass
class LoadedPlugin:
    """A plugin that loaded, with the names of the specs it registered per kind."""

    name: str
    version: str | None
    specs: dict[str, list[str]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    builtin: bool = False
    """An entry point of the workbench distribution itself."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "builtin": self.builtin,
            "specs": self.specs,
        }


class _PluginRejected(Exception):
    pass


@dataclass
class Registry:
    """Everything the loaded plugins registered, by kind and name."""

    specs: dict[str, dict[str, _Spec]] = field(default_factory=lambda: {k: {} for k in KINDS})
    plugins: list[LoadedPlugin] = field(default_factory=list)
    failed: list[PluginFailure] = field(default_factory=list)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)

    # -- lookups -------------------------------------------------------------------------------

    def names(self, kind: str) -> list[str]:
        return sorted(self.specs[kind])

    def get(self, kind: str, name: str) -> _Spec:
        """The spec of ``kind`` called ``name``; the error lists what is available."""
        try:
            return self.specs[kind][name]
        except KeyError:
            available = ", ".join(self.names(kind)) or "none loaded"
            hint = ""
            failed = [f.name for f in self.failed]
            if failed:
                hint = f"; plugins that failed to load: {', '.join(failed)}"
            close = did_you_mean(name, self.specs[kind])
            raise UnknownPluginError(
                f"unknown {_SINGULAR[kind]} {name!r}{'; ' + close if close else ''} "
                f"(available: {available}{hint})"
            ) from None

    def _typed(self, cls: type[SpecT], name: str) -> SpecT:
        # Registering checked each spec's class against its kind (_call_register_hook).
        return cast(SpecT, self.get(cls.kind, name))

    def of_type(self, cls: type[SpecT]) -> dict[str, SpecT]:
        """Every registered spec of one class (``registry.of_type(StageSpec)``), by name, in the
        order they were registered (built-in plugins first)."""
        return {name: cast(SpecT, spec) for name, spec in self.specs.get(cls.kind, {}).items()}

    def architecture(self, name: str) -> ArchitectureSpec:
        return self._typed(ArchitectureSpec, name)

    def stage(self, name: str) -> StageSpec:
        return self._typed(StageSpec, name)

    def dataset(self, name: str) -> DatasetSpec:
        return self._typed(DatasetSpec, name)

    def tokenizer(self, name: str) -> TokenizerSpec:
        return self._typed(TokenizerSpec, name)

    def evaluation(self, name: str) -> EvaluationSpec:
        return self._typed(EvaluationSpec, name)

    def annotator(self, name: str) -> AnnotatorSpec:
        return self._typed(AnnotatorSpec, name)

    def exporter(self, name: str) -> ExporterSpec:
        return self._typed(ExporterSpec, name)

    def claim(self, name: str) -> ClaimSpec:
        return self._typed(ClaimSpec, name)

    def evaluations_measuring(self, what: str) -> list[str]:
        """The evaluations that declare they measure ``what`` (:attr:`EvaluationSpec.measures`),
        in the order they were registered (built-in plugins first)."""
        return [
            name for name, spec in self.of_type(EvaluationSpec).items() if what in spec.measures
        ]

    def owner(self, kind: str, name: str) -> str:
        return self.owners[(kind, name)]

    def _builtin_names(self) -> set[str]:
        return {p.name for p in self.plugins if p.builtin}

    def plugin_versions(self) -> dict[str, str | None]:
        return {p.name: p.version for p in self.plugins}

    # -- compatibility -------------------------------------------------------------------------

    def compatible_architectures(self, stage_name: str) -> list[str]:
        """Architectures implementing the protocol the stage requires."""
        stage = self.stage(stage_name)
        return [
            name
            for name, spec in sorted(self.of_type(ArchitectureSpec).items())
            if not stage.requires or stage.requires in spec.protocols
        ]

    def compatible_datasets(self, stage_name: str) -> list[str]:
        """Datasets whose kind the stage accepts."""
        stage = self.stage(stage_name)
        return [
            name
            for name, spec in sorted(self.of_type(DatasetSpec).items())
            if not stage.dataset_kinds or spec.dataset_kind in stage.dataset_kinds
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "loaded": [p.to_json() for p in self.plugins],
            "failed": [{"name": f.name, "error": f.error} for f in self.failed],
        }

    # -- loading -------------------------------------------------------------------------------

    def _add_plugin(
        self,
        pm: pluggy.PluginManager,
        name: str,
        obj: Any,
        version: str | None,
        *,
        builtin: bool = False,
    ) -> None:
        """Register one plugin's specs, all or nothing."""
        staged: list[_Spec] = []
        try:
            pm.register(obj, name=name)
        except BaseException as exc:  # pluggy validates hookimpl signatures here
            _reraise_interrupt(exc)
            self.failed.append(PluginFailure(name, _describe(exc)))
            return
        problems = _hook_problems(pm, obj)
        if problems:
            pm.unregister(name=name)
            self.failed.append(PluginFailure(name, "; ".join(problems)))
            return
        try:
            for kind in KINDS:
                hook = getattr(pm.hook, _HOOK_FOR_KIND[kind])
                for impl in hook.get_hookimpls():
                    if impl.plugin_name != name:
                        continue
                    staged.extend(_call_register_hook(impl, kind))
            seen: set[tuple[str, str]] = set()
            for spec in staged:
                key = (spec.kind, spec.name)
                if key in self.owners or key in seen:
                    other = self.owners.get(key, name)
                    by = "built-in plugin" if other in self._builtin_names() else "plugin"
                    raise _PluginRejected(
                        f"duplicate {_SINGULAR[spec.kind]} name {spec.name!r} "
                        f"(already registered by {by} {other!r}); rename it"
                    )
                seen.add(key)
        except _PluginRejected as exc:
            pm.unregister(name=name)
            self.failed.append(PluginFailure(name, str(exc)))
            return
        except BaseException as exc:  # SystemExit from a hook is this plugin's failure too
            _reraise_interrupt(exc)
            pm.unregister(name=name)
            self.failed.append(PluginFailure(name, _describe(exc)))
            return
        loaded = LoadedPlugin(name=name, version=version, builtin=builtin)
        for spec in staged:
            self.specs[spec.kind][spec.name] = spec
            self.owners[(spec.kind, spec.name)] = name
            loaded.specs[spec.kind].append(spec.name)
        self.plugins.append(loaded)


def _hook_problems(pm: pluggy.PluginManager, plugin: Any) -> list[str]:
    """What makes a registered plugin's hooks never run: a ``@hookimpl`` whose name matches no
    hook (``register_architecture``, without the "s"), or a function named like a hook that is
    not marked ``@hookimpl``. Either way the plugin would load with nothing in it.

    The first is what pluggy's ``check_pending()`` finds (it is checked per plugin here, so that
    only the faulty plugin is refused); ``optionalhook=True`` opts out of it."""
    hooks = list(_HOOK_FOR_KIND.values())
    problems = []
    for caller in pm.get_hookcallers(plugin) or []:
        if caller.has_spec():
            continue
        if any(impl.plugin is plugin and not impl.optionalhook for impl in caller.get_hookimpls()):
            hint = did_you_mean(caller.name, hooks)
            problems.append(
                f"{caller.name} is marked @hookimpl but is not a workbench hook"
                f"{'; ' + hint if hint else ''} (the hooks: {', '.join(hooks)})"
            )
    for hook in hooks:
        function = getattr(plugin, hook, None)
        if callable(function) and pm.parse_hookimpl_opts(plugin, hook) is None:
            problems.append(
                f"{hook} is not marked @hookimpl (from workbench import hookimpl), so it is "
                "never called"
            )
    return problems


def _reraise_interrupt(exc: BaseException) -> None:
    """Ctrl-C is the user's, not the plugin's: let it through."""
    if isinstance(exc, KeyboardInterrupt):
        raise exc


def _describe(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc)).rstrip()
    if isinstance(exc, SystemExit):
        # The traceback's last line ("SystemExit: 3") does not say who exited.
        text += f"\nthe plugin called sys.exit({exc.code!r}) while loading"
    return text


def _call_register_hook(impl: Any, kind: str) -> list[_Spec]:
    """Call one plugin's ``register_<kind>`` implementation and check what it registers."""
    collected: list[_Spec] = []
    expected = SPEC_TYPES[kind]

    def register(spec: Any) -> None:
        if not isinstance(spec, expected):
            raise _PluginRejected(
                f"register_{kind} registered {type(spec).__name__}, expected {expected.__name__}"
            )
        if not isinstance(spec.name, str) or not spec.name.strip():
            raise _PluginRejected(f"a {expected.__name__} has an empty name")
        if not (isinstance(spec.config, type) and issubclass(spec.config, BaseModel)):
            raise _PluginRejected(
                f"{_SINGULAR[kind]} {spec.name!r}: Config must be a pydantic BaseModel subclass, "
                f"got {spec.config!r}"
            )
        taken = sorted(RESERVED_OPTION_NAMES & set(spec.config.model_fields))
        if taken:
            raise _PluginRejected(
                f"{_SINGULAR[kind]} {spec.name!r}: Config declares {', '.join(taken)}, which a "
                "config block uses to name the plugin; rename the field"
            )
        if not callable(spec.factory):
            raise _PluginRejected(f"{_SINGULAR[kind]} {spec.name!r}: factory is not callable")
        collected.append(spec)

    kwargs = {"register": register} if "register" in impl.argnames else {}
    impl.function(**kwargs)
    return collected


RESERVED_OPTION_NAMES = frozenset({"name"})
"""Keys of a config block that belong to the core (``name`` selects the plugin), so no plugin
option may be called so: the block's key would silently win."""


def _split_env(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _distribution(ep: metadata.EntryPoint) -> str | None:
    """The canonical name of the distribution declaring ``ep`` (None when unknown)."""
    return _canonical(ep.dist.name) if ep.dist is not None else None


@dataclass(frozen=True)
class _EntryPoints:
    """The ``workbench`` entry points, built-ins apart, and those refused for their name."""

    builtins: list[metadata.EntryPoint]
    others: list[metadata.EntryPoint]
    refused: list[tuple[str, PluginFailure]]
    """(entry point name, failure) of each entry point named like one already chosen."""


def _entry_points() -> _EntryPoints:
    eps = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    builtin = _canonical(BUILTIN_DISTRIBUTION)
    chosen: dict[str, metadata.EntryPoint] = {}
    # Built-ins claim their names first, wherever their distribution sits on sys.path.
    for ep in sorted(eps, key=lambda ep: _distribution(ep) != builtin):
        if ep.name not in chosen:
            chosen[ep.name] = ep
    refused: list[tuple[str, PluginFailure]] = []
    for ep in eps:
        owner = chosen[ep.name]
        if ep is owner or _distribution(ep) == _distribution(owner):
            # The same distribution found twice on sys.path (e.g. editable + site): one plugin.
            continue
        who = "the built-in plugin" if _distribution(owner) == builtin else "the plugin"
        failure = PluginFailure(
            f"{ep.name} (from {_distribution(ep) or ep.value})",
            f"entry point {ep.name!r} = {ep.value!r} is named like {who} {ep.name!r} "
            f"of {_distribution(owner) or owner.value!r}; it was not loaded: rename the "
            "entry point",
        )
        refused.append((ep.name, failure))
    ordered = sorted(chosen.values(), key=lambda ep: ep.name)
    return _EntryPoints(
        builtins=[ep for ep in ordered if _distribution(ep) == builtin],
        others=[ep for ep in ordered if _distribution(ep) != builtin],
        refused=refused,
    )


def load_registry(
    *,
    allow: Sequence[str] | None = None,
    block: Sequence[str] | None = None,
    modules: Sequence[str] | None = None,
    plugins: Iterable[tuple[str, Any]] = (),
    use_entry_points: bool = True,
) -> Registry:
    """Load plugins and collect their specs.

    ``allow``/``block`` default to ``$WORKBENCH_PLUGINS``/``$WORKBENCH_DISABLE_PLUGINS``;
    ``modules`` (import paths) to ``$WORKBENCH_PLUGIN_MODULES``; ``plugins`` are extra
    ``(name, object)`` pairs (tests use these).
    """
    allow_list = list(allow) if allow is not None else _split_env(os.environ.get(ALLOW_ENV))
    block_list = list(block) if block is not None else _split_env(os.environ.get(BLOCK_ENV))
    module_list = list(modules) if modules is not None else _split_env(os.environ.get(MODULES_ENV))

    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    for name in block_list:
        pm.set_blocked(name)
    registry = Registry()

    def wanted(name: str) -> bool:
        return (not allow_list or name in allow_list) and name not in block_list

    # Built-ins load first, so that on a name clash they are the ones already registered.
    candidates: list[tuple[str, Any, str | None]] = []
    entry_points: set[int] = set()
    if use_entry_points:
        found = _entry_points()
        registry.failed.extend(failure for name, failure in found.refused if wanted(name))
        for ep in [*found.builtins, *found.others]:
            if not wanted(ep.name):
                continue
            version = ep.dist.version if ep.dist is not None else None
            candidates.append((ep.name, ep, version))
            # Marked by identity, not by type: with the importlib_metadata backport installed
            # (mlflow brings it), entry points are the backport's class, not the stdlib's.
            entry_points.add(id(ep))
        builtin_names = {ep.name for ep in found.builtins}
    else:
        builtin_names = set()
    for module_name in module_list:
        if wanted(module_name):
            candidates.append((module_name, module_name, None))
    for name, obj in plugins:
        if wanted(name):
            candidates.append((name, obj, getattr(obj, "__version__", None)))

    for name, source, version in candidates:
        try:
            if id(source) in entry_points:
                obj = source.load()
            elif isinstance(source, str):
                obj = importlib.import_module(source)
                version = getattr(obj, "__version__", None)
            else:
                obj = source
        except BaseException as exc:  # a broken plugin must never take the others down
            _reraise_interrupt(exc)
            registry.failed.append(PluginFailure(name, _describe(exc)))
            continue
        builtin = id(source) in entry_points and name in builtin_names
        registry._add_plugin(pm, name, obj, version, builtin=builtin)
    return registry
