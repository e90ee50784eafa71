"""Persistent state of the workbench: runs, metrics, artifacts, samples, evaluations, sweeps.

Open it with :func:`open_store`, which migrates the SQLite database under the workbench home to
the newest schema. Only :class:`Store` runs queries; it hands back frozen records.
"""

from workbench.store.db import MigrationError, RunHasChildren, RunNotFound, StoreError
from workbench.store.models import RUN_STATUSES, TERMINAL_STATUSES
from workbench.store.store import (
    ArtifactRecord,
    EvaluationRecord,
    MetricRecord,
    RunRecord,
    SampleRecord,
    Store,
    SweepRecord,
    open_store,
)

__all__ = [
    "RUN_STATUSES",
    "TERMINAL_STATUSES",
    "ArtifactRecord",
    "EvaluationRecord",
    "MetricRecord",
    "MigrationError",
    "RunHasChildren",
    "RunNotFound",
    "RunRecord",
    "SampleRecord",
    "Store",
    "StoreError",
    "SweepRecord",
    "open_store",
]
