"""The workbench from Python: for notebooks and scripts.

    import workbench

    run = workbench.run("configs/quickstart.yaml", overrides={"stage.max_steps": 200})
    model, tokenizer = workbench.load(run)
    workbench.metrics(run, "val/loss")      # a pandas DataFrame where pandas is installed
    workbench.runs()                        # every run of the home, newest first

A run executes in its own worker process, exactly as ``workbench run`` starts it, and is stored
in the same home (``home=`` or ``$WORKBENCH_HOME``, default ``~/.workbench``), so the CLI and the
dashboard see it. :func:`run` blocks with a progress bar (Ctrl-C, or an interrupt in a notebook,
asks the run to checkpoint and stop) or, with ``detach=True``, returns at once.

Bad input raises :class:`workbench.config.ConfigError` (a ``ValueError`` naming each field) or
:class:`workbench.store.RunNotFound` (a ``LookupError``) before anything is written.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench.paths import Paths, resolve_home
from workbench.store import RunRecord, Store, open_store

Run = RunRecord
"""What :func:`run` and :func:`runs` return: every column of a run (``id``, ``name``,
``status``, ``config``, ``step``, ``error``, ...), as the store keeps it."""

HomeLike = str | os.PathLike[str] | None
RunRef = int | str | RunRecord

POLL_SECONDS = 0.5

__all__ = ["Run", "load", "metrics", "run", "runs"]


def _open(home: HomeLike) -> tuple[Paths, Store]:
    from workbench.runner.reconcile import reconcile

    paths = resolve_home(home).ensure()
    store = open_store(paths)
    reconcile(store, paths)  # runs whose process is gone become "interrupted"
    return paths, store


def _find(store: Store, ref: RunRef) -> RunRecord:
    return store.get_run(ref.id) if isinstance(ref, RunRecord) else store.find_run(ref)


def _override_strings(overrides: Sequence[str] | Mapping[str, Any] | None) -> list[str]:
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        # JSON is YAML: each value keeps its type when the override is parsed.
        return [f"{key}={json.dumps(value)}" for key, value in overrides.items()]
    if isinstance(overrides, str):
        raise TypeError("overrides: give a list of 'KEY=VALUE' strings or a mapping, not one str")
    return list(overrides)


def run(
    config: str | os.PathLike[str] | Mapping[str, Any],
    overrides: Sequence[str] | Mapping[str, Any] | None = None,
    home: HomeLike = None,
    *,
    detach: bool = False,
    progress: bool = True,
) -> RunRecord:
    """Validate ``config`` (a YAML path or a dict), record the run and train it.

    ``overrides`` are ``["stage.lr=3e-4"]`` strings or a ``{"stage.lr": 3e-4}`` mapping, as
    ``--set`` takes them. Blocking, it returns the run once it has ended (check ``.status``);
    with ``detach=True`` it returns the queued run at once (its log is ``run.log`` in the run's
    folder).
    """
    from workbench.config import load_config
    from workbench.registry import load_registry
    from workbench.runner import launcher

    paths, store = _open(home)
    registry = load_registry()
    if isinstance(config, Mapping):
        resolved = load_config(None, registry, _override_strings(overrides), raw=config)
    else:
        resolved = load_config(Path(config), registry, _override_strings(overrides))
    run_id = launcher.create_run(store, registry, resolved)
    launcher.spawn(paths, run_id, store=store)
    if detach:
        return store.get_run(run_id)
    return _wait(store, run_id, progress)


def _wait(store: Store, run_id: int, progress: bool) -> RunRecord:
    """Poll the store until the run ends, drawing its steps; an interrupt cancels it."""
    from tqdm.auto import tqdm

    from workbench.runner import launcher

    record = store.get_run(run_id)
    bar = tqdm(total=record.max_steps, desc=f"run {run_id} {record.name}", disable=not progress)
    try:
        while not record.is_terminal:
            time.sleep(POLL_SECONDS)
            record = store.get_run(run_id)
            if record.max_steps and bar.total != record.max_steps:
                bar.total = record.max_steps
            bar.n = record.step
            bar.set_postfix_str(record.status, refresh=False)
            bar.refresh()
    except KeyboardInterrupt:
        if not store.get_run(run_id).is_terminal:
            launcher.cancel(store, run_id)
            launcher.wait_for_status(store, run_id, launcher.TERMINAL, timeout=120)
        raise
    finally:
        bar.close()
    return record


def runs(
    home: HomeLike = None, *, status: str | None = None, stage: str | None = None
) -> list[RunRecord]:
    """The runs of a home, newest first, optionally of one status or stage."""
    _, store = _open(home)
    return store.list_runs(status=status, stage=stage)


def load(run: RunRef, home: HomeLike = None, *, device: str = "cpu") -> tuple[Any, Any]:
    """A finished run's ``(model, tokenizer)``: the model in eval mode on ``device``."""
    from workbench.registry import load_registry
    from workbench.runner.build import load_run

    paths, store = _open(home)
    record = _find(store, run)
    if record.status != "succeeded":
        raise ValueError(f"run {record.id} ({record.name}) is {record.status}, not succeeded")
    loaded = load_run(record.config, paths.run_dir(record.id), load_registry())
    return loaded.model.to(device).eval(), loaded.tokenizer


def metrics(run: RunRef, name: str | None = None, home: HomeLike = None) -> Any:
    """Every logged value of a run (or of one metric): rows of ``step``, ``name``, ``value``
    and ``wall_time``, as a pandas DataFrame where pandas is installed, else a list of dicts."""
    _, store = _open(home)
    record = _find(store, run)
    rows = [
        {"step": m.step, "name": m.name, "value": m.value, "wall_time": m.wall_time}
        for m in store.metrics(record.id, name)
    ]
    try:
        import pandas
    except ImportError:
        return rows
    return pandas.DataFrame(rows, columns=["step", "name", "value", "wall_time"])
