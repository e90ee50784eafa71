"""Checking every registered claim against a set of runs: one :class:`ClaimPanel` each.

A claim whose check raises is shown as not yet measured with the error, never taking the other
panels down (a claim plugin is third-party code)."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workbench.registry import Registry
from workbench.specs import ClaimContext, ClaimResult, ClaimSpec
from workbench.store import RunRecord, Store


@dataclass(frozen=True)
class ClaimPanel:
    """One claim and its verdict, ready to draw: the Claims tab and the HTML report show it."""

    name: str
    paper: str
    claim: str
    plugin: str
    result: ClaimResult
    figure: Any
    """The claim's figure, or a placeholder saying what would measure it."""

    @property
    def verdict(self) -> str:
        return self.result.verdict


def claim_specs(registry: Registry) -> list[ClaimSpec]:
    """The registered claims in display order (``order``, then name)."""
    specs = list(registry.of_type(ClaimSpec).values())
    return sorted(specs, key=lambda spec: (spec.order, spec.name))


def judged_runs(store: Store, run_ids: Sequence[int] | None = None) -> list[RunRecord]:
    """The runs claims are judged on: the succeeded runs of the home, oldest first, or only
    those of ``run_ids`` (None: all)."""
    runs = sorted(store.list_runs(status="succeeded"), key=lambda run: run.id)
    if run_ids is None:
        return runs
    wanted = {int(run_id) for run_id in run_ids}
    return [run for run in runs if run.id in wanted]


def check_claims(
    registry: Registry, store: Store, run_ids: Sequence[int] | None = None
) -> list[ClaimPanel]:
    """Every registered claim's verdict on the succeeded runs (or those of ``run_ids``)."""
    from workbench.charts.claims import placeholder_figure

    runs = judged_runs(store, run_ids)
    panels = []
    for spec in claim_specs(registry):
        try:
            context = ClaimContext(
                config=spec.config(),
                runs=runs,
                get_run=store.get_run,
                metrics=lambda run_id, name: store.metrics(run_id, name),
                evaluations=store.evaluations,
                measuring=registry.evaluations_measuring,
            )
            result = spec.factory(context)
            if not isinstance(result, ClaimResult):
                raise TypeError(f"returned {type(result).__name__}, expected ClaimResult")
        except Exception as exc:
            result = ClaimResult(
                verdict="not yet measured",
                measured=f"the check failed: {type(exc).__name__}: {exc}",
                command="",
            )
            traceback.print_exc()
        figure = result.figure
        if figure is None:
            figure = placeholder_figure(result.measured, result.command)
        panels.append(
            ClaimPanel(
                name=spec.name,
                paper=spec.paper,
                claim=spec.summary,
                plugin=registry.owners.get(("claims", spec.name), ""),
                result=result,
                figure=figure,
            )
        )
    return panels
