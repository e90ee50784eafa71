"""Hook specifications: the whole contract between the workbench and its plugins.

Every hook is a "register callback": the host passes a ``register`` function and the plugin calls
it once per spec it provides. Implementations may accept fewer arguments than the spec (pluggy's
opt-in arguments), so new arguments can be added later without breaking plugins.

A plugin module looks like::

    from workbench import hookimpl
    from workbench.specs import ArchitectureSpec

    @hookimpl
    def register_architectures(register):
        register(ArchitectureSpec(name="my-net", summary="...", config=MyConfig, factory=build))

Registering must stay cheap (the CLI registers every plugin to validate a config): keep specs and
their Configs free of torch and Lightning, and give a heavy factory as
``LazyFactory("my_plugin.model:build")`` (:class:`workbench.specs.LazyFactory`), which imports
its module only when called.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("workbench")
hookimpl = pluggy.HookimplMarker("workbench")


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


@hookspec
def register_architectures(register: Callable[[Any], None]) -> None:
    """Register model architectures.

    Call ``register(ArchitectureSpec(...))`` once per architecture. The spec's ``factory`` builds a
    plain ``torch.nn.Module`` from the validated Config and a :class:`workbench.specs.ModelContext`;
    ``protocols`` names what the model implements (see :mod:`workbench.protocols`).
    """


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


@hookspec
def register_stages(register: Callable[[Any], None]) -> None:
    """Register training stages (pre-training, fine-tuning, reward modelling, PPO, ...).

    Call ``register(StageSpec(...))``. The spec's ``factory`` receives a
    :class:`workbench.specs.StageContext` and returns :class:`workbench.specs.StageParts`: a
    ``LightningModule``, a ``LightningDataModule`` and the trainer settings the stage needs.
    ``requires`` names the protocol the architecture must implement.
    """


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


@hookspec
def register_evaluations(register: Callable[[Any], None]) -> None:
    """Register evaluations that run on a finished run's model.

    Call ``register(EvaluationSpec(...))``. The ``factory`` receives an
    :class:`workbench.specs.EvaluationContext` and returns a ``dict`` of metric name to float.
    """


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


@hookspec
def register_datasets(register: Callable[[Any], None]) -> None:
    """Register datasets.

    Call ``register(DatasetSpec(...))``. The ``factory`` receives the validated Config and a
    :class:`workbench.specs.DatasetContext` and returns a dataset object of the spec's ``kind``
    (for ``"text"``: a :class:`workbench.data.TextCorpus`).
    """


@hookspec
def register_tokenizers(register: Callable[[Any], None]) -> None:
    """Register tokenizers.

    Call ``register(TokenizerSpec(...))``. The ``factory`` receives the validated Config and returns
    an object following :class:`workbench.protocols.Tokenizer` (``fit``, ``encode``, ``decode``,
    ``save``, ``load``, ``vocab_size``).
    """


# ---------------------------------------------------------------------------------------------
# Annotation
# ---------------------------------------------------------------------------------------------


@hookspec
def register_annotators(register: Callable[[Any], None]) -> None:
    """Register simulated annotators that label comparison pairs by a stated rule.

    Call ``register(AnnotatorSpec(...))``. The ``factory`` receives the validated Config and returns
    an object with ``label(prompt, a, b, properties, world) -> "a" | "b" | "tie" | "both_bad"``
    (see :class:`workbench.specs.AnnotatorSpec` and ``docs/labelling.md``).
    """


# ---------------------------------------------------------------------------------------------
# Interoperability
# ---------------------------------------------------------------------------------------------


@hookspec
def register_exporters(register: Callable[[Any], None]) -> None:
    """Register export formats for finished runs (``workbench export RUN --format NAME``).

    Call ``register(ExporterSpec(...))``; the spec's ``name`` is the format. The ``factory``
    receives a :class:`workbench.specs.ExportContext` (the run's model, tokenizer, heads, resolved
    config and the output folder) and returns the paths it wrote; it raises ``ValueError`` for a
    run it cannot export (an architecture with no mapping in that format).
    """


# ---------------------------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------------------------


@hookspec
def register_claims(register: Callable[[Any], None]) -> None:
    """Register claims of the papers, each checked against the stored runs (the Claims tab,
    ``workbench report``).

    Call ``register(ClaimSpec(...))`` once per claim: ``claim`` states it in one sentence,
    ``paper`` names where it comes from, and the ``factory`` receives a
    :class:`workbench.specs.ClaimContext` (the runs to judge, with their metrics and
    evaluations) and returns a :class:`workbench.specs.ClaimResult`: a plotly figure, the
    measured figure, a verdict (holds, does not hold, not yet measured) and the command that
    would measure it.
    """
