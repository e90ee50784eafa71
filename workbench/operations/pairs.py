"""Comparison pairs for preference labelling: the prompts, the pairs sampled from one run, the
pairs a policy and its reference answer, and storing them.

``workbench pairs generate`` calls :func:`sample_pairs` (two different completions per prompt
from one causal LM) and :func:`policy_pairs` (a policy's answers the reward model scores highest,
each against its reference's answer, picked by the reward run's stage through the registry: its
``proxy_pairs``); the runner stores the pairs a stage queues with :func:`store_pairs_against`.
Each prompt is stored with its ``source`` (:func:`prompt_source`), from which
:func:`world_for_source` rebuilds the synthetic world a simulated annotator judges by.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from workbench.operations import OperationError
from workbench.operations.datasets import build_dataset_block, parse_dataset_block
from workbench.paths import Paths
from workbench.registry import Registry, UnknownPluginError
from workbench.specs import DatasetSpec, PairToLabel, StageSpec
from workbench.store import RunRecord, Store

PROMPTS_KIND = "prompts"
"""The dataset kind comparison pairs take their prompts from."""
STOP = "\n"
DISTINCT_ATTEMPTS = 5
"""Samples of a pair drawn again when both completions come out the same, before giving up."""


# -- prompts ----------------------------------------------------------------------------------


def prompts_block(run: RunRecord, registry: Registry, dataset_yaml: str | None) -> dict[str, Any]:
    """The prompts dataset block: ``--dataset`` as given, or else :func:`default_prompts_block`."""
    if dataset_yaml:
        return parse_dataset_block(dataset_yaml, "{name: synthetic-prompts}")
    return default_prompts_block(run, registry)


def default_prompts_block(run: RunRecord, registry: Registry) -> dict[str, Any]:
    """A registered dataset of kind ``prompts``, chosen by what it is rather than by its name.

    One built on the same corpus options as RUN's dataset (its options model shares a base with
    that dataset's: ``synthetic-prompts`` and ``synthetic``, ``synthetic-task`` or
    ``synthetic-preferences`` all extend the synthetic corpus's) comes first, with the options of
    RUN's dataset it accepts, so that the world is the one RUN read; otherwise the first one
    registered (built-in plugins register first), with its defaults.
    """
    candidates = [
        spec for spec in registry.of_type(DatasetSpec).values() if spec.dataset_kind == PROMPTS_KIND
    ]
    if not candidates:
        raise OperationError(
            f"no dataset of kind {PROMPTS_KIND!r} is registered (is the text plugin disabled? see "
            "`workbench plugins`); name one with --dataset"
        )
    run_dataset = dict(run.config.get("dataset") or {})
    run_spec = registry.of_type(DatasetSpec).get(str(run_dataset.pop("name", "")))
    for spec in candidates:
        if run_spec is not None and _same_corpus(spec.config, run_spec.config):
            fields = spec.config.model_fields
            return {"name": spec.name, **{k: v for k, v in run_dataset.items() if k in fields}}
    return {"name": candidates[0].name}


def _same_corpus(a: type[BaseModel], b: type[BaseModel]) -> bool:
    """Whether two datasets' options models extend one options model that has fields (the same
    corpus options, so the same values name the same generated data)."""
    shared = set(a.__mro__) & set(b.__mro__)
    return any(issubclass(c, BaseModel) and c.model_fields for c in shared)


def prompt_source(block: Mapping[str, Any], seed: int) -> str:
    """The ``source`` stored with a prompt: its dataset block (every option resolved) and the
    seed, enough to build the dataset again (:func:`world_for_source`)."""
    return json.dumps({"dataset": dict(block), "seed": seed}, sort_keys=True)


@dataclass(frozen=True)
class Prompts:
    """The prompts of a dataset of kind ``prompts``, with what each prompt's generator knows
    (its ``properties``) and their ``source``."""

    texts: list[str]
    properties: list[dict[str, Any]]
    source: str


def load_prompts(
    block: Mapping[str, Any], seed: int, registry: Registry, paths: Paths, limit: int
) -> Prompts:
    """The first ``limit`` prompts (train, then val) of the dataset a block names."""
    try:
        spec = registry.dataset(str(block["name"]))
    except UnknownPluginError as exc:
        raise OperationError(str(exc)) from None
    if spec.dataset_kind != PROMPTS_KIND:
        raise OperationError(
            f"dataset {spec.name!r} is of kind {spec.dataset_kind!r}; pairs need a dataset of "
            "kind 'prompts' (e.g. synthetic-prompts)"
        )
    built = build_dataset_block(block, seed, registry, paths)
    texts = [*built.dataset.train, *built.dataset.val][:limit]
    properties = list(built.dataset.properties) or [{} for _ in texts]
    return Prompts(texts, properties, prompt_source(built.block, seed))


def world_for_source(source: str, registry: Registry, paths: Paths) -> Any:
    """The synthetic world behind a prompt's ``source`` (as :func:`prompt_source` writes it), or
    None when the source names no dataset whose extras hold a world."""
    try:
        recorded = json.loads(source)
        block = dict(recorded["dataset"])
        seed = int(recorded["seed"])
        registry.dataset(str(block["name"]))
    except (ValueError, TypeError, KeyError, UnknownPluginError):
        return None
    dataset = build_dataset_block(block, seed, registry, paths).dataset
    return (getattr(dataset, "extras", None) or {}).get("world")


# -- two samples of one run -------------------------------------------------------------------


@dataclass(frozen=True)
class Sampling:
    """How completions are sampled: each ends at the first newline."""

    temperature: float
    top_k: int | None
    max_tokens: int
    seed: int

    def generation(self) -> dict[str, Any]:
        """The settings stored with each completion."""
        return {
            "temperature": self.temperature,
            "top_k": self.top_k,
            "max_new_tokens": self.max_tokens,
            "stop": STOP,
            "seed": self.seed,
        }


def completion_sampler(loaded: Any, sampling: Sampling) -> Callable[[str], list[str]]:
    """``sample(prompt) -> [text, text]``: two completions, each cut at the first newline."""
    import torch

    model, tokenizer = loaded.model, loaded.tokenizer
    block = int(getattr(model, "block_size", 0)) or None
    generator = torch.Generator().manual_seed(sampling.seed)
    try:
        stop_ids = [list(tokenizer.encode(STOP))]
    except (KeyError, ValueError):
        stop_ids = []  # no newline in the vocabulary: cut the decoded text instead

    def sample(prompt: str) -> list[str]:
        try:
            context = list(tokenizer.encode(prompt))
        except (KeyError, ValueError) as exc:
            raise OperationError(
                f"prompt {prompt!r} cannot be encoded by the run's tokenizer ({exc}); generate "
                "from a run trained on the prompts' corpus"
            ) from None
        if block:
            context = context[-block:]
        idx = torch.tensor([context, context], dtype=torch.long)
        with torch.no_grad():
            rows = model.generate(
                idx,
                sampling.max_tokens,
                temperature=sampling.temperature,
                top_k=sampling.top_k,
                stop_sequences=stop_ids or None,
                generator=generator,
            )
        return [tokenizer.decode(row).split(STOP, 1)[0] for row in rows]

    return sample


@dataclass
class SampledPairs:
    """What :func:`sample_pairs` stored."""

    source: str
    prompts: int
    """Prompts tried."""
    pair_ids: list[int]
    skipped: int
    """Prompts left out: every try gave two equal completions (or an empty one)."""


def sample_pairs(
    store: Store,
    registry: Registry,
    paths: Paths,
    run: RunRecord,
    loaded: Any,
    prompts: Prompts,
    sampling: Sampling,
    *,
    allow_empty: bool = False,
    progress: Callable[[Iterable[str]], Iterable[str]] = lambda texts: texts,
) -> SampledPairs:
    """Sample two different completions of each prompt from the loaded run (``loaded``: its
    :class:`~workbench.runner.build.LoadedRun`) and store prompts, completions and pairs."""
    sample = completion_sampler(loaded, sampling)
    kept: list[tuple[int, list[str]]] = []
    skipped = 0
    for index, prompt in enumerate(progress(prompts.texts)):
        for _ in range(DISTINCT_ATTEMPTS):
            first, second = sample(prompt)
            empty = not (first.strip() and second.strip())
            if first != second and (allow_empty or not empty):
                kept.append((index, [first, second]))
                break
        else:
            skipped += 1

    generation = {**sampling.generation(), "step": run.step}
    prompt_ids = store.add_prompts(
        (prompts.texts[index], prompts.source, prompts.properties[index]) for index, _ in kept
    )
    completion_ids = store.add_completions(
        [
            (prompt_id, text, generation)
            for prompt_id, (_, pair) in zip(prompt_ids, kept, strict=True)
            for text in pair
        ],
        run_id=run.id,
    )
    pair_ids = store.add_pairs(
        (completion_ids[i], completion_ids[i + 1]) for i in range(0, len(completion_ids), 2)
    )
    return SampledPairs(prompts.source, len(prompts.texts), pair_ids, skipped)


# -- a policy against its reference -----------------------------------------------------------


def store_pairs_against(
    store: Store, source: str, pairs: Sequence[PairToLabel], run_id: int, parent_id: int
) -> list[int]:
    """Store :class:`~workbench.specs.PairToLabel` items: the prompts (with ``source``), the
    run's and the other run's (its parent's, its reference's) completions, and the pairs;
    return the pair ids."""
    prompt_ids = store.add_prompts((p.prompt, source, dict(p.properties)) for p in pairs)
    ours = store.add_completions(
        [(pid, p.completion, dict(p.generation)) for pid, p in zip(prompt_ids, pairs, strict=True)],
        run_id=run_id,
    )
    theirs = store.add_completions(
        [
            (pid, p.parent_completion, dict(p.parent_generation))
            for pid, p in zip(prompt_ids, pairs, strict=True)
        ],
        run_id=parent_id,
    )
    return store.add_pairs(zip(ours, theirs, strict=True))


def proxy_pairs_picker(registry: Registry, reward_run: RunRecord) -> Callable[..., Any]:
    """The ``proxy_pairs`` of the stage that trained ``reward_run``, else of the first registered
    stage that offers one (see :class:`workbench.specs.StageSpec`)."""
    stages = registry.of_type(StageSpec)
    own = stages.get(str((reward_run.config.get("stage") or {}).get("name", "")))
    for spec in (own, *stages.values()):
        if spec is not None and spec.proxy_pairs is not None:
            return spec.proxy_pairs
    raise OperationError(
        "--from-run needs a stage that picks proxy pairs (the rlhf plugin's reward-model); "
        "see `workbench plugins`"
    )


@dataclass
class PolicyPairs:
    """What :func:`policy_pairs` stored."""

    pool: int
    """Prompts the policy answered."""
    pair_ids: list[int]
    proxy: list[float] = field(default_factory=list)
    """The reward model's score of each pair's policy answer, best first."""


def policy_pairs(
    store: Store,
    registry: Registry,
    paths: Paths,
    runs: tuple[RunRecord, RunRecord, RunRecord],
    reward_ref: int | str,
    prompts: Prompts,
    sampling: Sampling,
    count: int,
) -> PolicyPairs:
    """Pair the policy's answers the reward model scores highest with the reference's answers
    to the same prompts and store them; ``runs`` is (policy, reference, reward run), all
    finished. The reward run's stage picks the pairs (:func:`proxy_pairs_picker`)."""
    from workbench.runner import build
    from workbench.specs import ProxyPairsContext

    policy, reference, reward_run = runs
    pick = proxy_pairs_picker(registry, reward_run)

    def load(record: RunRecord) -> Any:
        return build.load_run(record.config, paths.run_dir(record.id), registry)

    context = ProxyPairsContext(
        policy=load(policy),
        reference=load(reference),
        reward=load(reward_run),
        reward_ref=reward_ref,
        prompts=prompts.texts,
        count=count,
        seed=sampling.seed,
        max_new_tokens=sampling.max_tokens,
        temperature=sampling.temperature,
    )
    try:
        picked = pick(context)
    except ValueError as exc:
        raise OperationError(str(exc)) from None
    generation = sampling.generation()
    pairs = [
        PairToLabel(
            prompt=prompts.texts[p.index],
            completion=p.policy,
            parent_completion=p.reference,
            properties=prompts.properties[p.index],
            generation={**generation, "step": policy.step, "proxy": p.proxy},
            parent_generation={**generation, "step": reference.step, "proxy": p.reference_proxy},
        )
        for p in picked
    ]
    pair_ids = store_pairs_against(store, prompts.source, pairs, policy.id, reference.id)
    return PolicyPairs(len(prompts.texts), pair_ids, [p.proxy for p in picked])
