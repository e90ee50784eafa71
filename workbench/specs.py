"""Typed spec objects that plugins register, and the contexts their factories receive.

Every spec has a ``name`` (what a config's ``name:`` key selects), a one-line ``summary``, a
pydantic ``config`` model validating the plugin's options, and a ``factory``.

Registering a spec must stay cheap: the CLI loads every plugin to validate a config before a
worker process does the training, and importing torch and Lightning there would cost seconds.
So a spec and its ``config`` model live in a module that imports neither, and the ``factory``
is usually a :class:`LazyFactory`, which names the function (``"package.module:function"``) and
imports its module on the first call::

    PRETRAIN_SPEC = StageSpec(
        name="pretrain",
        summary="...",
        config=PretrainConfig,  # defined in a module without torch
        factory=LazyFactory("workbench_gpt.pretrain:build_pretrain"),
    )

Any callable works as a factory too (third-party plugins may keep passing plain functions).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

if TYPE_CHECKING:
    import pytorch_lightning as pl
    import torch

    from workbench.protocols import Tokenizer
    from workbench.store import EvaluationRecord, MetricRecord, RunRecord


@dataclass(frozen=True)
class LazyFactory:
    """A factory named by its import path, ``"package.module:attribute"`` (dots after the colon
    reach nested attributes), imported when first called, so that registering the spec imports
    nothing heavy. Calling it calls the target with the same arguments."""

    target: str

    def __post_init__(self) -> None:
        module, _, attribute = self.target.partition(":")
        if not module or not attribute:
            raise ValueError(f"LazyFactory({self.target!r}): expected 'package.module:attribute'")

    def resolve(self) -> Callable[..., Any]:
        """Import the module and return the target (ImportError or AttributeError naming the
        path when it is not there; TypeError when it is not callable)."""
        module_name, _, attribute = self.target.partition(":")
        found: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            try:
                found = getattr(found, part)
            except AttributeError:
                raise AttributeError(
                    f"LazyFactory({self.target!r}): {module_name} has no {attribute!r}"
                ) from None
        if not callable(found):
            raise TypeError(f"LazyFactory({self.target!r}): {found!r} is not callable")
        return found

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"LazyFactory({self.target!r})"


@dataclass(frozen=True)
class _Spec:
    name: str
    summary: str
    config: type[BaseModel]
    factory: Callable[..., Any]
    """Builds what the spec describes (its signature is given by each spec class); a plain
    callable, or a :class:`LazyFactory` that imports its module only when called."""

    kind: ClassVar[str] = "spec"

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly description (for ``workbench plugins --json`` and the UI)."""
        return {"name": self.name, "summary": self.summary}


@dataclass(frozen=True)
class ArchitectureSpec(_Spec):
    """A model architecture: ``factory(config, ModelContext) -> torch.nn.Module``.

    ``presets`` maps a preset name to option values; a config block ``{name: gpt, preset: gpt-nano,
    n_layer: 2}`` starts from the preset and applies the explicit keys on top.
    """

    protocols: tuple[str, ...] = ()
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    kind: ClassVar[str] = "architectures"

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "protocols": list(self.protocols),
            "presets": sorted(self.presets),
        }


@dataclass(frozen=True)
class StageSpec(_Spec):
    """A training stage: ``factory(StageContext) -> StageParts``.

    ``requires`` is the protocol the architecture must implement; ``dataset_kinds`` the dataset
    kinds the stage can train on. ``proxy_pairs``, offered by a stage that trains a reward model,
    picks the comparison pairs where a policy may be hacking that reward model (``workbench pairs
    generate --from-run``): ``proxy_pairs(ProxyPairsContext) -> list[ProxyPair]``, raising
    ``ValueError`` for a reward run it cannot score with.
    """

    requires: str = ""
    dataset_kinds: tuple[str, ...] = ()
    proxy_pairs: Callable[..., Any] | None = None

    kind: ClassVar[str] = "stages"

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "requires": self.requires,
            "dataset_kinds": list(self.dataset_kinds),
        }


LABELLED_TASK_ACCURACY = "labelled-task-accuracy"
"""What an evaluation ``measures`` when it scores a fine-tuned run on its own labelled task:
metrics ``accuracy`` and ``n`` (the records scored), options ``split`` (``"val"`` or ``"test"``,
default ``"test"``) and ``max_records`` (None: the whole split). The Compare tab's learning curve
and the claims of fine-tuning read the evaluations that declare it."""


@dataclass(frozen=True)
class EvaluationSpec(_Spec):
    """An evaluation: ``factory(EvaluationContext) -> dict[str, float]``.

    ``measures`` names what the evaluation measures in a way the core reads by kind rather than
    by the evaluation's name (e.g. :data:`LABELLED_TASK_ACCURACY`).
    """

    requires: str = ""
    measures: tuple[str, ...] = ()

    kind: ClassVar[str] = "evaluations"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "requires": self.requires}


@dataclass(frozen=True)
class DatasetSpec(_Spec):
    """A dataset: ``factory(config, DatasetContext) -> dataset object of kind ``dataset_kind``."""

    dataset_kind: str = "text"

    kind: ClassVar[str] = "datasets"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "dataset_kind": self.dataset_kind}


@dataclass(frozen=True)
class TokenizerSpec(_Spec):
    """A tokenizer: ``factory(config) -> Tokenizer`` (not yet fitted)."""

    kind: ClassVar[str] = "tokenizers"


@dataclass(frozen=True)
class AnnotatorSpec(_Spec):
    """A simulated annotator: ``factory(config) -> object with label(prompt, a, b, properties,
    world) -> "a" | "b" | "tie" | "both_bad"``.

    ``a`` and ``b`` are the two completions of ``prompt``; ``properties`` is the prompt's stored
    record (what its generator knows, e.g. the synthetic corpus's expected answer; ``{}`` when
    none) and ``world`` the synthetic world the prompt was drawn from (``extras["world"]``), or
    ``None`` when the prompt came from elsewhere. An annotator states its rule in its docstring
    and is deterministic for a given config; its labels are stored under an annotator of kind
    ``simulated``. It may also offer ``score(prompt, completion, properties, world) -> float``,
    the rule as a number (higher is better, consistent with ``label``): the RLHF evaluations
    then report a mean gold reward beside the gold win rate."""

    kind: ClassVar[str] = "annotators"


@dataclass(frozen=True)
class ExporterSpec(_Spec):
    """An export format: ``factory(ExportContext) -> list[Path]`` (the files written).

    ``name`` is the format (``workbench export RUN --format NAME``). The factory raises
    ``ValueError`` naming what it cannot map (an architecture or option with no equivalent in the
    format); ``workbench export`` then exits 2 with the message.
    """

    kind: ClassVar[str] = "exporters"


@dataclass(frozen=True)
class ClaimSpec(_Spec):
    """A claim of a paper, checked against stored runs: ``factory(ClaimContext) -> ClaimResult``.

    ``summary`` is the claim in one sentence; ``paper`` says whose claim it is (the Claims tab
    groups and orders panels by ``order``, then name). ``config`` holds the claim's options, such
    as the thresholds of its verdict, with their defaults. The factory picks the runs that bear on
    the claim from :attr:`ClaimContext.runs` (any run, the demo's or the user's) and never
    raises for missing data: it answers ``not yet measured`` with the command that would
    measure it.
    """

    paper: str = ""
    order: float = 100.0

    kind: ClassVar[str] = "claims"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "paper": self.paper}


SPEC_TYPES: dict[str, type[_Spec]] = {
    cls.kind: cls
    for cls in (
        ArchitectureSpec,
        StageSpec,
        EvaluationSpec,
        DatasetSpec,
        TokenizerSpec,
        AnnotatorSpec,
        ExporterSpec,
        ClaimSpec,
    )
}
"""Spec class by registry section name ("architectures", "stages", ...)."""


# ---------------------------------------------------------------------------------------------
# Contexts handed to factories
# ---------------------------------------------------------------------------------------------


@dataclass
class ModelContext:
    """What an architecture factory needs to know beyond its own options."""

    vocab_size: int


@dataclass
class DatasetContext:
    """Where a dataset may cache downloads, and the run's seed for generated data."""

    cache_dir: Path
    seed: int
    home: Path | None = None
    """The workbench home (its database holds e.g. preference labels); ``None`` outside one."""


@dataclass
class RunInfo:
    """The identity and folders of the run being executed."""

    id: int
    name: str
    seed: int
    run_dir: Path
    home: Path


@dataclass(frozen=True)
class PairToLabel:
    """A comparison a stage queues for labelling (the Label tab, ``workbench label``): two
    completions of one prompt, the first written by this run's model, the second by its parent's
    (e.g. a policy's answer and its reference's), with the prompt's properties (what a simulated
    annotator checks) and the generation settings of each."""

    prompt: str
    completion: str
    parent_completion: str
    properties: Mapping[str, Any] = field(default_factory=dict)
    generation: Mapping[str, Any] = field(default_factory=dict)
    parent_generation: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProxyPair:
    """One prompt's policy answer (one the reward model scores high) and the reference's answer
    to the same prompt: a comparison where reward hacking would show."""

    index: int
    """The prompt's position in the list given."""
    policy: str
    reference: str
    proxy: float
    """The reward model's score of the policy's answer."""
    reference_proxy: float


@dataclass
class ProxyPairsContext:
    """What a stage's ``proxy_pairs`` receives: three finished runs, loaded (each a
    :class:`workbench.runner.build.LoadedRun`), the prompts and the sampling settings."""

    policy: Any
    reference: Any
    reward: Any
    """The reward model's run (one the stage offering ``proxy_pairs`` trained)."""
    reward_ref: int | str
    """How the user named the reward run (for messages)."""
    prompts: list[str]
    count: int
    """Pairs wanted: the prompts whose policy answers score highest, best first."""
    seed: int
    max_new_tokens: int
    temperature: float


@dataclass
class StageContext:
    """Everything a stage factory receives."""

    config: BaseModel
    run: RunInfo
    model: torch.nn.Module
    tokenizer: Tokenizer
    dataset: Any
    log_sample: Callable[[int, str, str], None] = lambda step, prompt, text: None
    """Store a generated sample: ``log_sample(step, prompt, text)``."""
    parent_heads: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    """State dicts of the heads the parent run (``init_from``) saved, by head name."""
    load_run: Callable[[int | str], Any] | None = None
    """Load another finished run (id or name) as a :class:`workbench.runner.build.LoadedRun`
    (model, tokenizer, heads), e.g. the reward model a PPO stage scores with."""
    queue_pairs: Callable[[list[PairToLabel]], list[int]] = lambda pairs: []
    """Store comparison pairs for labelling, their prompts recorded with the run's own dataset
    as the source (so an annotator finds the world they are about); returns the pair ids (none
    where the runner keeps no store, or the run has no parent)."""


@dataclass
class StageParts:
    """What a stage factory returns: the module, the data and the trainer settings it needs."""

    module: pl.LightningModule
    datamodule: pl.LightningDataModule
    max_steps: int
    trainer_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra ``pl.Trainer`` keyword arguments (e.g. ``val_check_interval``, ``gradient_clip_val``,
    ``accumulate_grad_batches``, ``limit_val_batches``)."""
    checkpoint_every: int | None = None
    """Save a checkpoint every this many optimizer steps (default: at each validation)."""
    heads: dict[str, torch.nn.Module] = field(default_factory=dict)
    """Modules the stage adds on top of the architecture (a classifier, reward or value head),
    by name. The runner saves their weights with the run (``heads.pt``) beside the model's, and
    hands them to evaluations and child runs."""


@dataclass
class EvaluationContext:
    """Everything an evaluation factory receives."""

    config: BaseModel
    run: RunInfo
    model: torch.nn.Module
    tokenizer: Tokenizer
    dataset: Any
    log_sample: Callable[[int, str, str], None] = lambda step, prompt, text: None
    log_items: Callable[[list[dict[str, Any]]], None] = lambda items: None
    """Keep every scored item with the evaluation (lm-evaluation-harness's ``--log_samples``):
    dicts with ``task``, ``prompt``, ``answer``, ``target``, ``correct`` and optionally ``k``,
    ``seed`` and ``item``. Stored with the evaluation's row (``Store.evaluation_items``)."""
    heads: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    """State dicts of the heads the run's stage saved, by head name."""
    run_config: dict[str, Any] = field(default_factory=dict)
    """The run's full resolved config (its ``stage`` block says e.g. which task a head is for)."""
    load_run: Callable[[int | str], Any] | None = None
    """Load another finished run (id or name), as in :class:`StageContext`."""
    progress: Callable[[int, int], None] | None = None
    """Report progress of a long evaluation: ``progress(done, total)`` (the CLI draws a bar)."""


@dataclass
class ExportContext:
    """Everything an exporter factory receives: a finished run and where to write."""

    config: BaseModel
    """The exporter's validated options."""
    run: RunInfo
    run_config: dict[str, Any]
    """The run's full resolved config (``architecture``, ``tokenizer`` and ``stage`` blocks)."""
    model: torch.nn.Module
    tokenizer: Tokenizer
    heads: dict[str, dict[str, torch.Tensor]]
    """State dicts of the heads the run's stage saved, by head name (``{}`` when none)."""
    out_dir: Path
    """The folder to write into (created, and empty or allowed to be overwritten)."""


VERDICTS: tuple[str, ...] = ("holds", "does not hold", "not yet measured")
"""What a claim's check can answer."""


@dataclass
class ClaimContext:
    """What a claim's factory receives: its options and the runs to judge, with read access to
    their metrics and evaluations (through the store; the factory never writes)."""

    config: BaseModel
    runs: list[RunRecord]
    """The runs to judge (succeeded ones, oldest first): every run of the home, or those the
    user picked."""
    get_run: Callable[[int], RunRecord]
    """Any run of the home by id (e.g. a picked run's parent)."""
    metrics: Callable[[int, str], list[MetricRecord]]
    """Every logged value of one metric of a run, in step order."""
    evaluations: Callable[[int], list[EvaluationRecord]]
    """A run's evaluations, oldest first."""
    measuring: Callable[[str], list[str]] = lambda what: []
    """The registered evaluations that measure ``what`` (see :attr:`EvaluationSpec.measures`)."""

    def last(self, run_id: int, metric: str) -> float | None:
        """The last logged value of ``metric`` (None when the run never logged it)."""
        values = self.metrics(run_id, metric)
        return values[-1].value if values else None

    def evaluation(
        self, run_id: int, name: str, where: Callable[[EvaluationRecord], bool] | None = None
    ) -> EvaluationRecord | None:
        """The run's newest succeeded evaluation called ``name`` (that ``where`` accepts)."""
        found = [
            e
            for e in self.evaluations(run_id)
            if e.name == name and e.status == "succeeded" and (where is None or where(e))
        ]
        return found[-1] if found else None


@dataclass
class ClaimResult:
    """A claim's verdict on the runs it was given."""

    verdict: str
    """One of :data:`VERDICTS`."""
    measured: str
    """The measured figure in a few words (or what is missing, when not yet measured)."""
    figure: Any = None
    """A plotly figure drawn from the runs (None: nothing to draw yet)."""
    command: str = ""
    """The command that would measure the claim (or measure it better)."""
    runs: tuple[int, ...] = ()
    """The ids of the runs the verdict rests on."""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {', '.join(VERDICTS)}")
