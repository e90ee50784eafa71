"""Deleting a run: the rules the dashboard's Delete and ``workbench delete`` share.

A run can be deleted once it has stopped (not queued or running) and while no other run starts
from it (names it as its parent through ``init_from``): its row goes with its metrics, samples,
artifact rows and evaluations, and its folder ``artifacts/runs/<id>`` with the files.
"""

from __future__ import annotations

import shutil

from workbench.paths import Paths
from workbench.store import RunHasChildren, RunRecord, Store

ACTIVE = ("queued", "running")
"""Statuses of a run that still has (or waits for) a process: cancel it first."""


class DeleteRefused(ValueError):
    """The run cannot be deleted now; the message says why and what to do first."""


def check_deletable(store: Store, run_id: int) -> RunRecord:
    """The run, when it may be deleted; :class:`DeleteRefused` naming why not (it is active, or
    other runs start from it), :class:`workbench.store.RunNotFound` when there is no such run."""
    run = store.get_run(run_id)
    if run.status in ACTIVE:
        raise DeleteRefused(f"run {run_id} is {run.status}; cancel it before deleting it")
    children = store.children(run_id)
    if children:
        ids = ", ".join(str(child.id) for child in children)
        raise DeleteRefused(
            f"run {run_id} has child run(s) {ids} that start from it; delete those first"
        )
    return run


def delete_run(store: Store, paths: Paths, run_id: int) -> RunRecord:
    """Delete a run from the store and its folder from the home; returns what was deleted."""
    run = check_deletable(store, run_id)
    try:
        store.delete_run(run_id)
    except RunHasChildren as exc:  # a child was created since the check
        raise DeleteRefused(str(exc)) from None
    run_dir = paths.run_dir(run_id)
    # Only ever a folder inside the home's artifacts (never what a symlink points elsewhere to).
    if run_dir.is_dir() and run_dir.resolve().is_relative_to(paths.artifacts.resolve()):
        shutil.rmtree(run_dir, ignore_errors=True)
    return run
