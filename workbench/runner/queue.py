"""Sweeps: one base config expanded into many runs, executed from a queue a few at a time."""

from __future__ import annotations

import itertools
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from workbench.config import ConfigError, ResolvedConfig, apply_overrides, resolve_config
from workbench.paths import Paths
from workbench.registry import Registry
from workbench.runner import launcher
from workbench.store import Store


def parse_grid(items: Sequence[str]) -> list[list[str]]:
    """``["stage.lr=1e-3,3e-4", "architecture.n_layer=2,4"]`` → the cartesian product of
    override lists: ``[["stage.lr=1e-3", "architecture.n_layer=2"], ...]``."""
    axes: list[list[str]] = []
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        choices = [v.strip() for v in values.split(",")]
        if not sep or not key or not values.strip() or any(not v for v in choices):
            raise ConfigError(
                [("--grid", f"{item!r}: expected KEY=V1,V2,... e.g. stage.lr=1e-3,3e-4")]
            )
        axes.append([f"{key}={value}" for value in choices])
    return [list(combo) for combo in itertools.product(*axes)] if axes else []


def parse_cases(items: Sequence[str]) -> list[list[str]]:
    """``--case "stage.lr=1e-3 architecture.n_layer=2"`` → one override list per case."""
    cases = []
    for item in items:
        overrides = shlex.split(item)
        if not overrides or any("=" not in o for o in overrides):
            raise ConfigError([("--case", f"{item!r}: expected space-separated KEY=VALUE pairs")])
        cases.append(overrides)
    return cases


def _suffix(overrides: Sequence[str]) -> str:
    return ",".join(o.split(".")[-1] for o in overrides)


def expand(
    base: Mapping[str, Any], variants: Sequence[Sequence[str]], registry: Registry
) -> list[ResolvedConfig]:
    """Validate every variant before anything is written; all errors are reported together."""
    if not variants:
        variants = [[]]
    resolved: list[ResolvedConfig] = []
    issues: list[tuple[str, str]] = []
    for overrides in variants:
        try:
            config = resolve_config(apply_overrides(base, overrides), registry)
        except ConfigError as exc:
            label = " ".join(overrides) or "base config"
            issues.extend((f"[{label}] {loc}".strip(), msg) for loc, msg in exc.issues)
            continue
        if overrides:
            config.run.name = f"{config.run.name}[{_suffix(overrides)}]"
        resolved.append(config)
    if issues:
        raise ConfigError(issues)
    return resolved


def create_sweep(
    store: Store,
    registry: Registry,
    base: Mapping[str, Any],
    configs: Sequence[ResolvedConfig],
    max_parallel: int,
) -> tuple[int, list[int]]:
    """Write the sweep and its queued runs (configs already validated)."""
    for config in configs:
        launcher.resolve_parent(store, config.run.init_from)
    sweep_id = store.create_sweep(
        name=str(base.get("name", "sweep")), base_config=dict(base), max_parallel=max_parallel
    )
    run_ids = [launcher.create_run(store, registry, c, sweep_id=sweep_id) for c in configs]
    return sweep_id, run_ids


def run_queue(
    paths: Paths,
    store: Store,
    run_ids: Sequence[int],
    max_parallel: int,
    *,
    poll_s: float = 0.2,
    on_change: Callable[[int, str], None] | None = None,
) -> dict[int, str]:
    """Run queued runs with at most ``max_parallel`` worker processes at once.

    Runs cancelled while still queued are skipped. Ctrl-C (or SIGTERM to this process) asks the
    running workers to checkpoint and stop, and cancels those not started. Returns the final
    status of each run."""
    if max_parallel < 1:
        raise ValueError("max_parallel must be at least 1")
    pending = list(run_ids)
    active: dict[int, subprocess.Popen] = {}
    previous = signal.getsignal(signal.SIGTERM)

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if sys.platform != "win32":
        signal.signal(signal.SIGTERM, _terminate)
    try:
        while pending or active:
            for run_id, proc in list(active.items()):
                if proc.poll() is not None:
                    del active[run_id]
                    status = launcher.wait_foreground(store, run_id, proc)
                    if on_change:
                        on_change(run_id, status)
            while pending and len(active) < max_parallel:
                run_id = pending.pop(0)
                if store.get_run(run_id).status != "queued":
                    continue
                active[run_id] = launcher.spawn(paths, run_id, store=store)
                if on_change:
                    on_change(run_id, "started")
            time.sleep(poll_s)
    except KeyboardInterrupt:
        for run_id in pending:
            if store.get_run(run_id).status == "queued":
                store.set_status(run_id, "cancelled", error="sweep stopped before this run started")
        for proc in active.values():
            proc.send_signal(signal.SIGTERM)
        for run_id, proc in active.items():
            launcher.wait_foreground(store, run_id, proc)
    finally:
        if sys.platform != "win32":
            signal.signal(signal.SIGTERM, previous)
    return {run_id: store.get_run(run_id).status for run_id in run_ids}
