"""Persistent state of the workbench: runs, metrics, artifacts, samples, evaluations, sweeps,
and the preference labelling of RLHF (annotators, prompts, completions, pairs, labels).

Open it with :func:`open_store`, which migrates the SQLite database under the workbench home to
the newest schema. Only :class:`Store` runs queries; it hands back frozen records.
"""

from workbench.store.db import (
    DatabaseUnusable,
    MigrationError,
    RunHasChildren,
    RunNotFound,
    SchemaTooNew,
    StoreError,
)
from workbench.store.models import (
    ANNOTATOR_KINDS,
    PREFERENCE_CHOICES,
    RESUMABLE_STATUSES,
    RUN_STATUSES,
    TERMINAL_STATUSES,
)
from workbench.store.preferences import (
    KIND_FILTERS,
    Agreement,
    AnnotatorNotFound,
    AnnotatorRecord,
    AnnotatorStats,
    CompletionRecord,
    LabelProgress,
    LabelRecord,
    PairNotFound,
    PairRecord,
    PreferenceExample,
    PromptRecord,
    cohen_kappa,
)
from workbench.store.store import (
    ArtifactRecord,
    EvaluationItemRecord,
    EvaluationRecord,
    MetricRecord,
    RunRecord,
    SampleRecord,
    Store,
    SweepRecord,
    open_store,
)

__all__ = [
    "ANNOTATOR_KINDS",
    "KIND_FILTERS",
    "PREFERENCE_CHOICES",
    "RUN_STATUSES",
    "RESUMABLE_STATUSES",
    "TERMINAL_STATUSES",
    "Agreement",
    "AnnotatorNotFound",
    "AnnotatorRecord",
    "AnnotatorStats",
    "ArtifactRecord",
    "CompletionRecord",
    "DatabaseUnusable",
    "EvaluationItemRecord",
    "EvaluationRecord",
    "LabelProgress",
    "LabelRecord",
    "MetricRecord",
    "MigrationError",
    "PairNotFound",
    "PairRecord",
    "PreferenceExample",
    "PromptRecord",
    "RunHasChildren",
    "RunNotFound",
    "RunRecord",
    "SampleRecord",
    "SchemaTooNew",
    "Store",
    "StoreError",
    "SweepRecord",
    "cohen_kappa",
    "open_store",
]
