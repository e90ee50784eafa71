"""An evaluation run on a finished run's loaded model, and its outcome stored with the run.

``workbench evaluate``, the run page's Evaluate section and the Prompting tab all run
evaluations this way: the spec's factory receives an :class:`~workbench.specs.EvaluationContext`
built by :func:`evaluation_context`; texts it logs with ``log_sample`` are stored as the run's
samples at the step the run ended; the items it scores (``log_items``) are stored with the
evaluation; a failure is stored as a failed evaluation with its traceback.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from workbench.paths import Paths
from workbench.registry import Registry, UnknownPluginError
from workbench.specs import EvaluationContext, EvaluationSpec, RunInfo
from workbench.store import RunRecord, Store


def run_info(run: RunRecord, paths: Paths) -> RunInfo:
    """The identity and folders of a stored run, as factories receive them."""
    return RunInfo(
        id=run.id, name=run.name, seed=run.seed, run_dir=paths.run_dir(run.id), home=paths.home
    )


def protocol_problem(registry: Registry, run: RunRecord, protocol: str, what: str) -> str | None:
    """Why ``what`` cannot use the run's model (its architecture does not implement
    ``protocol``, or is not registered), or None when it can."""
    if not protocol:
        return None
    try:
        arch = registry.architecture(run.architecture)
    except UnknownPluginError as exc:
        return f"run {run.id}: {exc}"
    if protocol in arch.protocols:
        return None
    implemented = ", ".join(arch.protocols) or "none"
    return (
        f"{what} needs a {protocol!r} model; run {run.id}'s architecture {arch.name!r} "
        f"implements: {implemented}"
    )


def evaluation_context(
    config: BaseModel,
    run: RunRecord,
    loaded: Any,
    dataset: Any,
    *,
    store: Store,
    paths: Paths,
    registry: Registry,
    log_sample: Callable[[int, str, str], None] | None = None,
    log_items: Callable[[list[dict[str, Any]]], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EvaluationContext:
    """What an evaluation factory receives for a finished run (``loaded``: its
    :class:`~workbench.runner.build.LoadedRun`), with ``load_run`` reaching this home's runs."""
    from workbench.runner import build

    return EvaluationContext(
        config=config,
        run=run_info(run, paths),
        model=loaded.model,
        tokenizer=loaded.tokenizer,
        dataset=dataset,
        log_sample=log_sample or (lambda step, prompt, text: None),
        log_items=log_items or (lambda items: None),
        heads=loaded.heads,
        run_config=loaded.resolved.to_dict(),
        load_run=build.run_loader(store, paths, registry),
        progress=progress,
    )


def metrics_of(spec: EvaluationSpec, context: EvaluationContext) -> dict[str, float]:
    """Run the evaluation; its metrics as floats."""
    return {key: float(value) for key, value in dict(spec.factory(context)).items()}


def store_failure(store: Store, run_id: int, name: str, config: dict[str, Any]) -> int:
    """Store the evaluation being handled as failed, with the current exception's traceback."""
    return store.add_evaluation(
        run_id, name=name, config=config, metrics={}, status="failed", error=traceback.format_exc()
    )


@dataclass
class StoredEvaluation:
    """A finished evaluation: its stored row, and what it logged."""

    evaluation_id: int
    name: str
    status: str
    """``succeeded`` or ``failed``."""
    metrics: dict[str, float]
    samples: list[tuple[str, str]] = field(default_factory=list)
    """The ``(prompt, text)`` samples it logged (stored as the run's samples too)."""
    error: Exception | None = None
    """What it raised, when it failed."""


def evaluate_and_store(
    spec: EvaluationSpec,
    config: BaseModel,
    run: RunRecord,
    loaded: Any,
    dataset: Callable[[], Any],
    *,
    store: Store,
    paths: Paths,
    registry: Registry,
    stored_config: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StoredEvaluation:
    """Run ``spec`` with its validated ``config`` on the loaded run and store the outcome (as
    ``stored_config``, default the options' JSON); ``dataset()`` builds the data inside the
    guarded part, so a dataset that fails to build is stored as a failed evaluation too."""
    samples: list[tuple[str, str]] = []
    items: list[dict[str, Any]] = []

    def log_sample(step: int, prompt: str, text: str) -> None:
        # Evaluation samples are stored with the run, at the step the run ended.
        samples.append((prompt, text))
        store.add_sample(run.id, step=run.step, prompt=prompt, text=text)

    stored = config.model_dump(mode="json") if stored_config is None else stored_config
    try:
        context = evaluation_context(
            config,
            run,
            loaded,
            dataset(),
            store=store,
            paths=paths,
            registry=registry,
            log_sample=log_sample,
            log_items=items.extend,
            progress=progress,
        )
        metrics = metrics_of(spec, context)
    except Exception as exc:
        evaluation_id = store_failure(store, run.id, spec.name, stored)
        return StoredEvaluation(evaluation_id, spec.name, "failed", {}, samples, error=exc)
    evaluation_id = store.add_evaluation(
        run.id, name=spec.name, config=stored, metrics=metrics, items=items
    )
    return StoredEvaluation(evaluation_id, spec.name, "succeeded", metrics, samples)


__all__ = [
    "StoredEvaluation",
    "evaluate_and_store",
    "evaluation_context",
    "metrics_of",
    "protocol_problem",
    "run_info",
    "store_failure",
]
