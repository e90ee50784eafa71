"""The SQLAlchemy ORM tables of the workbench database.

Two groups: the experiment tables (sweeps, runs, metrics, artifacts, samples, evaluations) and the
preference-labelling tables of RLHF's human-feedback half (annotators, prompts, completions,
comparison pairs, preference labels).

Only :mod:`workbench.store.store` queries these classes; everything outside the store sees
the plain frozen records that :class:`workbench.store.store.Store` returns. The schema here must
match the Alembic migrations under the repository's ``alembic/`` folder:
:func:`workbench.store.db.check` compares the two, and a test fails when they drift apart.

Every constraint and index gets a deterministic name from the naming convention below, so that
Alembic batch migrations (SQLite's "copy the table and move it" ALTER) can find them by name.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION: Final[dict[str, str]] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RUN_STATUSES: Final[tuple[str, ...]] = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "interrupted",
)
"""Every value ``runs.status`` may hold (enforced by a CHECK constraint)."""

TERMINAL_STATUSES: Final[frozenset[str]] = frozenset(
    {"succeeded", "failed", "cancelled", "interrupted"}
)
ACTIVE_STATUSES: Final[frozenset[str]] = frozenset({"queued", "running"})
RESUMABLE_STATUSES: Final[tuple[str, ...]] = ("cancelled", "interrupted", "failed")
"""Statuses a run can be resumed from (given a checkpoint), in the order messages name them."""

_STATUS_CHECK: Final[str] = "status IN ({})".format(", ".join(f"'{s}'" for s in RUN_STATUSES))

ANNOTATOR_KINDS: Final[tuple[str, ...]] = ("human", "simulated")
"""Every value ``annotators.kind`` may hold: a person (logged in), or a rule-based plugin."""

PREFERENCE_CHOICES: Final[tuple[str, ...]] = ("a", "b", "tie", "both_bad")
"""Every value ``preference_labels.choice`` may hold."""


def _in_check(column: str, values: tuple[str, ...]) -> str:
    return "{} IN ({})".format(column, ", ".join(f"'{v}'" for v in values))


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime stored as a naive UTC ``DATETIME``.

    SQLite has no time zones: values are converted to UTC and stripped of their tzinfo on the
    way in, and given ``UTC`` back on the way out. Naive datetimes are refused on the way in,
    because whether they meant local time or UTC cannot be known.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class NaNFloat(TypeDecorator[float]):
    """A float column that round-trips NaN.

    SQLite turns a bound NaN into NULL, so a NaN loss would either violate NOT NULL or come back
    as ``None``. This type stores NaN as NULL and reads NULL back as NaN (the column must
    therefore be nullable; ``None`` is never returned).
    """

    impl = Float
    cache_ok = True

    def process_bind_param(self, value: float | None, dialect: Dialect) -> float | None:
        if value is None:
            return None
        value = float(value)
        return None if math.isnan(value) else value

    def process_result_value(self, value: float | None, dialect: Dialect) -> float:
        return math.nan if value is None else float(value)


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base whose metadata names every constraint and index."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Sweep(Base):
    """A group of runs that share a base config and a parallelism limit."""

    __tablename__ = "sweeps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    base_config: Mapped[dict[str, Any]] = mapped_column(JSON)
    max_parallel: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Run(Base):
    """One training (or other stage) run and its lifecycle state."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status"),
        # AUTOINCREMENT: ids are never reused after a delete, so artifacts/runs/<id> of a
        # deleted run can never be mistaken for a new run's folder.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    stage: Mapped[str] = mapped_column(String(64))
    architecture: Mapped[str] = mapped_column(String(255))
    dataset: Mapped[str] = mapped_column(String(255))
    tokenizer: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(Integer)
    plugin_versions: Mapped[dict[str, Any]] = mapped_column(JSON)
    package_versions: Mapped[dict[str, Any]] = mapped_column(JSON)
    device: Mapped[str | None] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="RESTRICT"), index=True
    )
    sweep_id: Mapped[int | None] = mapped_column(
        ForeignKey("sweeps.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pid: Mapped[int | None] = mapped_column(Integer)
    # Which process ``pid`` meant when it was recorded ("<boot id>:<start ticks>"), so that a
    # reboot or a reused pid is not taken for the run's process.
    pid_started: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    max_steps: Mapped[int | None] = mapped_column(Integer)
    run_dir: Mapped[str | None] = mapped_column(String(1024))


class Metric(Base):
    """One scalar logged by a run at a global step."""

    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_run_id_name_step", "run_id", "name", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    # Nullable only so that NaN (stored as NULL by SQLite) survives; reads never give None.
    value: Mapped[float] = mapped_column(NaNFloat(), nullable=True)
    wall_time: Mapped[float] = mapped_column(Float)


class Artifact(Base):
    """A file a run produced (checkpoint, exported model, tokenizer, log, report...)."""

    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Sample(Base):
    """A text generated by a run's model at some step."""

    __tablename__ = "samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    prompt: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Evaluation(Base):
    """The outcome of one evaluation of a run's model."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EvaluationItem(Base):
    """One scored item of an evaluation (lm-evaluation-harness's ``--log_samples``): what the
    model was given, what it answered, the target and whether it counts as correct."""

    __tablename__ = "evaluation_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(
        ForeignKey("evaluations.id", ondelete="CASCADE"), index=True
    )
    task: Mapped[str] = mapped_column(String(255))
    k: Mapped[int | None] = mapped_column(Integer)
    seed: Mapped[int | None] = mapped_column(Integer)
    item: Mapped[int | None] = mapped_column(Integer)
    prompt: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    correct: Mapped[bool] = mapped_column(Boolean)


# -- preference labelling ---------------------------------------------------------------------


class Annotator(Base):
    """Someone or something that labels comparison pairs: a logged-in person, or a simulated
    annotator plugin (``plugin`` and its validated ``config`` say which rule it follows)."""

    __tablename__ = "annotators"
    __table_args__ = (CheckConstraint(_in_check("kind", ANNOTATOR_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    plugin: Mapped[str | None] = mapped_column(String(255))
    config: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Prompt(Base):
    """A prompt to complete; ``source`` says where it came from (e.g. the dataset block), and
    ``properties`` what its generator knows about it (the synthetic corpus's expected answer)."""

    __tablename__ = "prompts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Completion(Base):
    """A completion of a prompt, and the run and settings that generated it (``run_id`` becomes
    NULL when that run is deleted: the labels on it stay useful)."""

    __tablename__ = "completions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    generation: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ComparisonPair(Base):
    """Two different completions of one prompt, shown side by side as A and B."""

    __tablename__ = "comparison_pairs"
    __table_args__ = (
        CheckConstraint("completion_a_id <> completion_b_id", name="distinct_completions"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"), index=True)
    completion_a_id: Mapped[int] = mapped_column(
        ForeignKey("completions.id", ondelete="CASCADE"), index=True
    )
    completion_b_id: Mapped[int] = mapped_column(
        ForeignKey("completions.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PreferenceLabel(Base):
    """One annotator's current judgement of one pair (a relabel replaces it)."""

    __tablename__ = "preference_labels"
    __table_args__ = (
        UniqueConstraint("pair_id", "annotator_id"),
        CheckConstraint(_in_check("choice", PREFERENCE_CHOICES), name="choice"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("comparison_pairs.id", ondelete="CASCADE"))
    annotator_id: Mapped[int] = mapped_column(
        ForeignKey("annotators.id", ondelete="CASCADE"), index=True
    )
    choice: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
