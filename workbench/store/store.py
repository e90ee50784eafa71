"""The workbench's only gateway to its database.

The preference-labelling queries live in :mod:`workbench.store.preferences` and are mixed into
:class:`Store`.

:func:`open_store` migrates the database and returns a :class:`Store`. Every :class:`Store`
method runs in its own short transaction and returns plain frozen dataclasses, never ORM
objects, so callers can keep them across threads and after the session is gone. Writes begin
with ``BEGIN IMMEDIATE`` (several processes may write: the UI, runners, sweeps); reads begin
deferred and, in WAL mode, never wait for a writer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, TypeVar

from sqlalchemy import Engine, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from workbench.paths import Paths
from workbench.store.db import (
    RunHasChildren,
    RunNotFound,
    StoreError,
    deferred,
    make_engine,
    upgrade,
)
from workbench.store.models import (
    ACTIVE_STATUSES,
    RUN_STATUSES,
    TERMINAL_STATUSES,
    Artifact,
    Base,
    Evaluation,
    EvaluationItem,
    Metric,
    Run,
    Sample,
    Sweep,
    utcnow,
)
from workbench.store.preferences import PreferenceQueries

__all__ = [
    "ArtifactRecord",
    "EvaluationRecord",
    "MetricRecord",
    "RunHasChildren",
    "RunNotFound",
    "RunRecord",
    "SampleRecord",
    "Store",
    "StoreError",
    "SweepRecord",
    "open_store",
]

UPDATABLE_RUN_FIELDS: Final[frozenset[str]] = frozenset(
    {"pid", "pid_started", "device", "step", "max_steps", "run_dir", "updated_at", "config"}
)
"""The run columns :meth:`Store.update_run` may change."""

_IN_CHUNK: Final[int] = 500  # ids per IN (...) list, well under SQLite's variable limit


@dataclass(frozen=True, slots=True)
class SweepRecord:
    """A sweep: runs sharing a base config, at most ``max_parallel`` running at once."""

    id: int
    name: str
    base_config: dict[str, Any]
    max_parallel: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RunRecord:
    """Every column of one run. Datetimes are aware UTC; ``config`` is the resolved config."""

    id: int
    name: str
    stage: str
    architecture: str
    dataset: str
    tokenizer: str
    status: str
    config: dict[str, Any]
    seed: int
    plugin_versions: dict[str, Any]
    package_versions: dict[str, Any]
    device: str | None
    parent_id: int | None
    sweep_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime | None
    pid: int | None
    pid_started: str | None
    error: str | None
    step: int
    max_steps: int | None
    run_dir: str | None

    @property
    def is_terminal(self) -> bool:
        """Whether the run has ended (succeeded, failed, cancelled or interrupted)."""
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True, slots=True)
class MetricRecord:
    """One logged scalar. ``value`` may be NaN or infinite; ``wall_time`` is epoch seconds."""

    step: int
    name: str
    value: float
    wall_time: float


@dataclass(frozen=True, slots=True)
class ArtifactRecord:
    """A file a run produced; ``path`` is relative to the workbench home, or absolute."""

    id: int
    run_id: int
    kind: str
    path: str
    sha256: str
    size: int
    step: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SampleRecord:
    """A generated text."""

    id: int
    run_id: int
    step: int
    prompt: str
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EvaluationRecord:
    """One evaluation of a run's model and its metrics."""

    id: int
    run_id: int
    name: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    status: str
    error: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EvaluationItemRecord:
    """One scored item of an evaluation: the prompt, the model's answer, the target and whether
    it was correct, with the task, number of demonstrations ``k`` and demo seed it belongs to."""

    id: int
    evaluation_id: int
    task: str
    k: int | None
    seed: int | None
    item: int | None
    prompt: str
    answer: str
    target: str
    correct: bool


ITEM_FIELDS: Final = ("task", "k", "seed", "item", "prompt", "answer", "target", "correct")
"""The keys of one logged evaluation item (see :meth:`Store.add_evaluation`)."""


_R = TypeVar("_R")


def _record(cls: type[_R], row: Base) -> _R:
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})  # type: ignore[arg-type]


def _item_row(evaluation_id: int, item: dict[str, Any]) -> dict[str, Any]:
    unknown = set(item) - set(ITEM_FIELDS)
    if unknown:
        raise StoreError(f"unknown evaluation item field(s) {sorted(unknown)}")
    row: dict[str, Any] = {"evaluation_id": evaluation_id, "k": None, "seed": None, "item": None}
    row.update(item)
    row["correct"] = bool(row["correct"])
    return row


def _check_status(status: str) -> str:
    if status not in RUN_STATUSES:
        raise ValueError(
            f"invalid run status {status!r}: expected one of {', '.join(RUN_STATUSES)}"
        )
    return status


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield list(ids[start : start + _IN_CHUNK])


class Store(PreferenceQueries):
    """Queries and updates of the workbench database; the only module that runs SQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine: Final[Engine] = engine
        self._reader: Final[Engine] = deferred(engine)

    # -- plumbing --------------------------------------------------------------------------

    def close(self) -> None:
        """Close the engine's pooled connections (the Store can still be used afterwards)."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            yield s

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self._reader, expire_on_commit=False) as s, s.begin():
            yield s

    @staticmethod
    def _run_row(s: Session, run_id: int) -> Run:
        row = s.get(Run, run_id)
        if row is None:
            raise RunNotFound(f"no run with id {run_id}")
        return row

    # -- sweeps ----------------------------------------------------------------------------

    def create_sweep(self, name: str, base_config: dict[str, Any], max_parallel: int) -> int:
        """Record a new sweep and return its id."""
        if max_parallel < 1:
            raise ValueError(f"max_parallel must be at least 1, got {max_parallel}")
        with self._write() as s:
            row = Sweep(
                name=name, base_config=base_config, max_parallel=max_parallel, created_at=utcnow()
            )
            s.add(row)
            s.flush()
            return row.id

    def get_sweep(self, sweep_id: int) -> SweepRecord:
        """The sweep with this id; :class:`StoreError` when there is none."""
        with self._read() as s:
            row = s.get(Sweep, sweep_id)
            if row is None:
                raise StoreError(f"no sweep with id {sweep_id}")
            return _record(SweepRecord, row)

    def list_sweeps(self) -> list[SweepRecord]:
        """Every sweep, newest first."""
        with self._read() as s:
            rows = s.scalars(select(Sweep).order_by(Sweep.created_at.desc(), Sweep.id.desc()))
            return [_record(SweepRecord, row) for row in rows]

    # -- runs ------------------------------------------------------------------------------

    def create_run(
        self,
        *,
        name: str,
        stage: str,
        architecture: str,
        dataset: str,
        tokenizer: str,
        config: dict[str, Any],
        seed: int,
        plugin_versions: dict[str, Any],
        package_versions: dict[str, Any],
        parent_id: int | None = None,
        sweep_id: int | None = None,
        status: str = "queued",
        pid: int | None = None,
        pid_started: str | None = None,
        max_steps: int | None = None,
    ) -> int:
        """Record a new run and return its id (never reused, even after a delete)."""
        _check_status(status)
        now = utcnow()
        with self._write() as s:
            if parent_id is not None:
                self._run_row(s, parent_id)
            if sweep_id is not None and s.get(Sweep, sweep_id) is None:
                raise StoreError(f"no sweep with id {sweep_id}")
            row = Run(
                name=name,
                stage=stage,
                architecture=architecture,
                dataset=dataset,
                tokenizer=tokenizer,
                status=status,
                config=config,
                seed=seed,
                plugin_versions=plugin_versions,
                package_versions=package_versions,
                parent_id=parent_id,
                sweep_id=sweep_id,
                pid=pid,
                pid_started=pid_started,
                max_steps=max_steps,
                step=0,
                created_at=now,
                updated_at=now,
                started_at=now if status == "running" else None,
                finished_at=now if status in TERMINAL_STATUSES else None,
            )
            s.add(row)
            s.flush()
            return row.id

    def get_run(self, run_id: int) -> RunRecord:
        """The run with this id; :class:`RunNotFound` when there is none."""
        with self._read() as s:
            return _record(RunRecord, self._run_row(s, run_id))

    def find_run(self, ref: str | int) -> RunRecord:
        """The run ``ref`` names: an id (int or string of digits), else the newest run so named."""
        if isinstance(ref, bool):
            raise TypeError(f"a run reference is an id or a name, not {ref!r}")
        with self._read() as s:
            if isinstance(ref, int) or (ref.isascii() and ref.isdigit()):
                row = s.get(Run, int(ref))
            else:
                row = s.scalars(
                    select(Run)
                    .where(Run.name == ref)
                    .order_by(Run.created_at.desc(), Run.id.desc())
                    .limit(1)
                ).first()
            if row is None:
                raise RunNotFound(f"no run with id or name {str(ref)!r}")
            return _record(RunRecord, row)

    def list_runs(
        self,
        *,
        status: str | Iterable[str] | None = None,
        stage: str | None = None,
        text: str | None = None,
        sweep_id: int | None = None,
        limit: int | None = None,
    ) -> list[RunRecord]:
        """Runs, newest first, filtered by status (one or several), stage, sweep and text.

        ``text`` matches a substring of the name, stage or architecture, ignoring case.
        """
        query = select(Run).order_by(Run.created_at.desc(), Run.id.desc())
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            for value in wanted:
                _check_status(value)
            query = query.where(Run.status.in_(wanted))
        if stage is not None:
            query = query.where(Run.stage == stage)
        if sweep_id is not None:
            query = query.where(Run.sweep_id == sweep_id)
        if text:
            query = query.where(
                or_(
                    Run.name.icontains(text, autoescape=True),
                    Run.stage.icontains(text, autoescape=True),
                    Run.architecture.icontains(text, autoescape=True),
                )
            )
        if limit is not None:
            query = query.limit(limit)
        with self._read() as s:
            return [_record(RunRecord, row) for row in s.scalars(query)]

    def children(self, run_id: int) -> list[RunRecord]:
        """The runs whose parent is ``run_id``, oldest first."""
        with self._read() as s:
            rows = s.scalars(select(Run).where(Run.parent_id == run_id).order_by(Run.id))
            return [_record(RunRecord, row) for row in rows]

    def set_status(self, run_id: int, status: str, *, error: str | None = None) -> RunRecord:
        """Move a run to ``status`` and keep its timestamps consistent; return the new state.

        Becoming ``running`` sets ``started_at`` if unset; a terminal status sets
        ``finished_at``; going back to ``queued``/``running`` (a resume) clears ``finished_at``.
        ``error`` replaces the stored error (so a resume or a success clears an old one).
        """
        _check_status(status)
        now = utcnow()
        with self._write() as s:
            row = self._run_row(s, run_id)
            row.status = status
            row.error = error
            if status == "running" and row.started_at is None:
                row.started_at = now
            if status in TERMINAL_STATUSES:
                row.finished_at = now
            else:
                row.finished_at = None
            row.updated_at = now
            s.flush()
            return _record(RunRecord, row)

    def update_run(self, run_id: int, **values: Any) -> RunRecord:
        """Change some of pid, pid_started, device, step, max_steps, run_dir, updated_at, config;
        return the new state (``config`` is replaced whole, e.g. to move a resumed run to other
        hardware).

        ``updated_at`` is set to now unless given; a new ``pid`` without its ``pid_started``
        clears the old process's identity.
        """
        unknown = sorted(set(values) - UPDATABLE_RUN_FIELDS)
        if unknown:
            raise ValueError(
                f"cannot update run field(s) {', '.join(unknown)}: "
                f"allowed are {', '.join(sorted(UPDATABLE_RUN_FIELDS))}"
            )
        if "pid" in values:
            values.setdefault("pid_started", None)
        if isinstance(values.get("run_dir"), os.PathLike):
            values["run_dir"] = os.fspath(values["run_dir"])
        stamp = values.setdefault("updated_at", utcnow())
        if not isinstance(stamp, datetime) or stamp.utcoffset() is None:
            raise ValueError(f"updated_at must be a timezone-aware datetime, got {stamp!r}")
        values["updated_at"] = stamp.astimezone(UTC)
        with self._write() as s:
            row = self._run_row(s, run_id)
            for key, value in values.items():
                setattr(row, key, value)
            s.flush()
            return _record(RunRecord, row)

    def delete_run(self, run_id: int) -> None:
        """Delete a run with its metrics, artifacts rows, samples and evaluations.

        Files on disk are left alone. Raises :class:`RunHasChildren` while other runs name
        this one as their parent.
        """
        with self._write() as s:
            self._run_row(s, run_id)
            child_ids = list(
                s.scalars(select(Run.id).where(Run.parent_id == run_id).order_by(Run.id))
            )
            if child_ids:
                raise RunHasChildren(
                    f"run {run_id} has child run(s) {', '.join(map(str, child_ids))}; "
                    "delete those first"
                )
            try:
                s.execute(delete(Run).where(Run.id == run_id))
            except IntegrityError as err:  # a child appeared despite the lock: be explicit
                raise RunHasChildren(f"run {run_id} has child runs") from err

    def reconcile(
        self,
        is_alive: Callable[[int, str | None], bool],
        last_words: Callable[[int], str | None] | None = None,
    ) -> list[int]:
        """Mark queued/running runs whose process is gone as ``interrupted``; return their ids.

        ``is_alive(pid, pid_started)`` tells whether the process recorded for a run still runs
        (see :func:`workbench.runner.procs.is_same_process`). A running run with no pid counts
        as gone; a queued run with no pid is waiting for a worker someone else will start
        (``workbench run --create-only``) and is left alone. ``is_alive`` is called outside any
        transaction, and a run whose status or pid changed meanwhile is left alone.
        ``last_words(run_id)``, when given, adds what the process left behind (the end of its
        log) to the recorded error, so a worker that died before it could write to the store
        still says why.
        """
        with self._read() as s:
            candidates = list(
                s.execute(
                    select(Run.id, Run.pid, Run.pid_started, Run.status)
                    .where(Run.status.in_(sorted(ACTIVE_STATUSES)))
                    .order_by(Run.id)
                )
            )
        gone = [
            (rid, pid, st)
            for rid, pid, started, st in candidates
            if (pid is None and st != "queued") or (pid is not None and not is_alive(pid, started))
        ]
        if not gone:
            return []
        now = utcnow()
        changed: list[int] = []
        with self._write() as s:
            for run_id, pid, old_status in gone:
                message = (
                    f"process {pid} is gone" if pid is not None else "process is gone (no pid)"
                )
                words = last_words(run_id) if last_words is not None else None
                if words:
                    message = f"{message}; the end of its log:\n{words}"
                result = s.execute(
                    update(Run)
                    .where(
                        Run.id == run_id,
                        Run.status == old_status,
                        Run.pid.is_(None) if pid is None else Run.pid == pid,
                    )
                    .values(status="interrupted", error=message, finished_at=now, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount:
                    changed.append(run_id)
        return changed

    # -- metrics ---------------------------------------------------------------------------

    def add_metrics(self, run_id: int, rows: Iterable[tuple[int, str, float, float]]) -> int:
        """Insert ``(step, name, value, wall_time)`` rows in one go; return how many."""
        values = [
            {
                "run_id": run_id,
                "step": int(step),
                "name": str(name),
                "value": float(value),
                "wall_time": float(wall_time),
            }
            for step, name, value, wall_time in rows
        ]
        with self._write() as s:
            bumped = s.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if not bumped.rowcount:
                raise RunNotFound(f"no run with id {run_id}")
            if values:
                s.execute(insert(Metric.__table__), values)
        return len(values)

    def metrics(self, run_id: int, name: str | None = None) -> list[MetricRecord]:
        """A run's metrics (one name, or all), ordered by name then step."""
        query = select(Metric.step, Metric.name, Metric.value, Metric.wall_time).where(
            Metric.run_id == run_id
        )
        if name is not None:
            query = query.where(Metric.name == name)
        query = query.order_by(Metric.name, Metric.step, Metric.id)
        with self._read() as s:
            return [MetricRecord(*row) for row in s.execute(query)]

    def metric_names(self, run_id: int) -> list[str]:
        """The distinct metric names a run logged, sorted."""
        with self._read() as s:
            query = (
                select(Metric.name).where(Metric.run_id == run_id).distinct().order_by(Metric.name)
            )
            return list(s.scalars(query))

    def last_metrics(self, run_ids: Sequence[int]) -> dict[int, dict[str, float]]:
        """For each run, each metric's value at its highest step (latest row on ties).

        Every requested id is a key, with ``{}`` for runs without metrics. One query per 500
        ids: the distinct (run, name) pairs come from the index, then one index seek each.
        """
        ids = list(dict.fromkeys(run_ids))
        out: dict[int, dict[str, float]] = {run_id: {} for run_id in ids}
        with self._read() as s:
            for chunk in _chunks(ids):
                pairs = (
                    select(Metric.run_id, Metric.name)
                    .where(Metric.run_id.in_(chunk))
                    .distinct()
                    .subquery("pairs")
                )
                inner = aliased(Metric)
                latest_id = (
                    select(inner.id)
                    .where(inner.run_id == pairs.c.run_id, inner.name == pairs.c.name)
                    .order_by(inner.step.desc(), inner.id.desc())
                    .limit(1)
                    .scalar_subquery()
                )
                query = select(Metric.run_id, Metric.name, Metric.value).join(
                    pairs, Metric.id == latest_id
                )
                for run_id, name, value in s.execute(query):
                    out[run_id][name] = value
        return out

    def delete_metrics_after(self, run_id: int, step: int) -> None:
        """Drop the metrics and samples logged after ``step`` (before resuming from it)."""
        with self._write() as s:
            s.execute(delete(Metric).where(Metric.run_id == run_id, Metric.step > step))
            s.execute(delete(Sample).where(Sample.run_id == run_id, Sample.step > step))

    # -- artifacts, samples, evaluations ---------------------------------------------------

    def add_artifact(
        self,
        run_id: int,
        *,
        kind: str,
        path: str | os.PathLike[str],
        sha256: str,
        size: int,
        step: int | None = None,
    ) -> int:
        """Record a file a run produced and return the row id."""
        with self._write() as s:
            self._run_row(s, run_id)
            row = Artifact(
                run_id=run_id,
                kind=kind,
                path=os.fspath(path),
                sha256=sha256,
                size=size,
                step=step,
                created_at=utcnow(),
            )
            s.add(row)
            s.flush()
            return row.id

    def artifacts(self, run_id: int, kind: str | None = None) -> list[ArtifactRecord]:
        """A run's artifacts (of one kind, or all), oldest first."""
        query = select(Artifact).where(Artifact.run_id == run_id)
        if kind is not None:
            query = query.where(Artifact.kind == kind)
        with self._read() as s:
            rows = s.scalars(query.order_by(Artifact.id))
            return [_record(ArtifactRecord, row) for row in rows]

    def add_sample(self, run_id: int, *, step: int, prompt: str, text: str) -> int:
        """Record a generated text and return the row id."""
        with self._write() as s:
            self._run_row(s, run_id)
            row = Sample(run_id=run_id, step=step, prompt=prompt, text=text, created_at=utcnow())
            s.add(row)
            s.flush()
            return row.id

    def samples(self, run_id: int) -> list[SampleRecord]:
        """A run's samples by step, then insertion order."""
        with self._read() as s:
            rows = s.scalars(
                select(Sample).where(Sample.run_id == run_id).order_by(Sample.step, Sample.id)
            )
            return [_record(SampleRecord, row) for row in rows]

    def add_evaluation(
        self,
        run_id: int,
        *,
        name: str,
        config: dict[str, Any],
        metrics: dict[str, Any],
        status: str = "succeeded",
        error: str | None = None,
        items: Sequence[dict[str, Any]] = (),
    ) -> int:
        """Record an evaluation's outcome and return the row id. ``items`` are its scored items
        (dicts with the keys of :data:`ITEM_FIELDS`; ``k``, ``seed`` and ``item`` may be
        missing), stored in the same transaction."""
        with self._write() as s:
            self._run_row(s, run_id)
            row = Evaluation(
                run_id=run_id,
                name=name,
                config=config,
                metrics=metrics,
                status=status,
                error=error,
                created_at=utcnow(),
            )
            s.add(row)
            s.flush()
            if items:
                s.execute(
                    insert(EvaluationItem),
                    [_item_row(row.id, item) for item in items],
                )
            return row.id

    def evaluation(self, evaluation_id: int) -> EvaluationRecord:
        """One evaluation by id (``StoreError`` when there is none)."""
        with self._read() as s:
            row = s.get(Evaluation, evaluation_id)
            if row is None:
                raise StoreError(f"no evaluation with id {evaluation_id}")
            return _record(EvaluationRecord, row)

    def evaluation_items(
        self,
        evaluation_id: int,
        *,
        task: str | None = None,
        k: int | None = None,
        correct: bool | None = None,
        limit: int | None = None,
    ) -> list[EvaluationItemRecord]:
        """An evaluation's scored items in the order they were logged, optionally only one
        task's, one ``k``'s, or only the correct (or wrong) ones."""
        query = select(EvaluationItem).where(EvaluationItem.evaluation_id == evaluation_id)
        if task is not None:
            query = query.where(EvaluationItem.task == task)
        if k is not None:
            query = query.where(EvaluationItem.k == k)
        if correct is not None:
            query = query.where(EvaluationItem.correct == correct)
        query = query.order_by(EvaluationItem.id)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as s:
            return [_record(EvaluationItemRecord, row) for row in s.scalars(query)]

    def evaluations(self, run_id: int) -> list[EvaluationRecord]:
        """A run's evaluations, oldest first."""
        with self._read() as s:
            rows = s.scalars(
                select(Evaluation).where(Evaluation.run_id == run_id).order_by(Evaluation.id)
            )
            return [_record(EvaluationRecord, row) for row in rows]


def open_store(paths: Paths) -> Store:
    """Create the home folders, migrate ``paths.database`` to the newest schema, open a Store."""
    paths.ensure()
    engine = make_engine(paths.database)
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)
