"""Run pickers the tabs share: a run's label, the dropdown choices (every run, or the runs with a
saved causal LM), reading a picker's value back as a run id or a stored run, and which run a
picker shows when its tab opens.

Plain functions of the :class:`~workbench.ui.context.UIContext`; no Gradio components here.
"""

from __future__ import annotations

from typing import Any

from workbench.protocols import CAUSAL_LM
from workbench.registry import UnknownPluginError
from workbench.store import RunNotFound, RunRecord
from workbench.ui.context import UIContext
from workbench.ui.generation import has_saved_model


def run_label(run: RunRecord) -> str:
    """``"3 · name"``: how a picker shows a run."""
    return f"{run.id} · {run.name}"


def run_choices(ctx: UIContext) -> list[tuple[str, str]]:
    """``(label, id)`` pairs of every run, newest first, for run pickers."""
    return [(run_label(r), str(r.id)) for r in ctx.store.list_runs()]


def parse_run_id(value: Any) -> int | None:
    """A run id from a picker value ("3", 3, "3 · name") or None."""
    if value in (None, ""):
        return None
    text = str(value).strip().split(" ", 1)[0]
    return int(text) if text.isdigit() else None


def picked_run(
    ctx: UIContext,
    picked: Any,
    error: type[Exception],
    unpicked: str = "choose a finished run first",
) -> RunRecord:
    """The stored run a picker's value names; ``error(unpicked)`` when none is picked, and
    ``error`` with the store's message when the run is gone."""
    run_id = parse_run_id(picked)
    if run_id is None:
        raise error(unpicked)
    try:
        return ctx.store.get_run(run_id)
    except RunNotFound as exc:
        raise error(str(exc)) from None


def playable_runs(ctx: UIContext) -> list[RunRecord]:
    """Succeeded runs with a saved causal language model, newest first."""
    out = []
    for run in ctx.store.list_runs(status="succeeded"):
        try:
            spec = ctx.registry.architecture(run.architecture)
        except UnknownPluginError:
            continue
        if CAUSAL_LM in spec.protocols and has_saved_model(ctx.paths, run.id):
            out.append(run)
    return out


def playable_choices(ctx: UIContext) -> list[tuple[str, str]]:
    """``(label, id)`` pairs of :func:`playable_runs`, for pickers of a model to generate from."""
    return [(run_label(r), str(r.id)) for r in playable_runs(ctx)]


def refreshed_pick(current: Any, ids: list[str], chosen_by_user: bool) -> str | None:
    """The run a picker shows when its tab opens: the user's own choice while it still exists,
    else the newest run (not the newest of when the server started)."""
    if chosen_by_user and current in ids:
        return str(current)
    return ids[0] if ids else None
