"""The ``synthetic-preferences`` dataset: comparison pairs for the synthetic corpus's preference
prompts, written by a stated rule instead of sampled from a model.

For every prompt (``Q: ...\\nA:``) the **chosen** completion is a true, complete, polite answer in
the corpus's own dialogue style: a polite opener ("Thank you for asking.") and one fact sentence
stating the true answer (two true facts about the person for a ``describe`` prompt), sometimes
followed by "I hope this helps.". The **rejected** completion is one flaw away from it:

- ``false``: the same polite answer stating a false fact (another town, job, food ...);
- ``rude``: the true answer behind a rude opener ("What a silly question.");
- ``off-topic``: a polite, true sentence about a different entity;
- ``truncated``: the polite true answer cut off mid-sentence;
- ``fragment``: the answer's word alone, no sentence ("Thank you for asking. Vedale."): it names
  the answer but states no fact;
- ``unresponsive``: a polite, true sentence about the right entity that does not answer (another
  of its facts; for a "tell me about" prompt, or an entity with one fact, the polite opener alone).

The last two are the answers a policy finds first when a reward model has only seen the first
four: short, or true without answering (docs/rlhf.md, "PPO").

The dataset takes the ``synthetic`` corpus's options (and seed), so its world is the one a model
pre-trained on that corpus has read about. Validation prompts never occur in training.
"""

from __future__ import annotations

import random
import re
from typing import Any, Literal

from pydantic import Field, field_validator

from workbench.data import PreferencePairs
from workbench.label_split import held_out_pairs
from workbench.specs import DatasetContext, DatasetSpec
from workbench_synthetic import (
    POLITE_PREFIXES,
    POLITE_SUFFIXES,
    RUDE_PREFIXES,
    Fact,
    SyntheticPromptsConfig,
    World,
    as_world,
    load_synthetic_prompts,
    render_fact,
    templates_for,
)

RejectedKind = Literal["false", "rude", "off-topic", "truncated", "fragment", "unresponsive"]
REJECTED_KINDS: tuple[str, ...] = (
    "false",
    "rude",
    "off-topic",
    "truncated",
    "fragment",
    "unresponsive",
)
PAIR_OPTIONS = {
    "pairs_per_prompt",
    "rejected_kinds",
    "labels_annotator",
    "labels_kind",
    "labels_repeat",
    "labels_val_fraction",
}
"""The options of :class:`SyntheticPreferencesConfig` that the prompts do not take."""


class SyntheticPreferencesConfig(SyntheticPromptsConfig):
    """The synthetic corpus's options, plus how the comparison pairs are written."""

    pairs_per_prompt: int = Field(
        2,
        ge=1,
        le=len(REJECTED_KINDS),
        description="comparison pairs per prompt, each with a different flaw",
    )
    rejected_kinds: list[RejectedKind] = Field(
        default_factory=lambda: list(REJECTED_KINDS),
        description="flaws a rejected completion may have: " + ", ".join(REJECTED_KINDS),
    )

    labels_annotator: str | None = Field(
        None,
        description="also train on the preference labels stored in the workbench home by this "
        "annotator (e.g. the Label tab's or the sentinel's pairs labelled with `workbench label`): "
        "the InstructGPT loop's new comparisons added to the old ones",
    )
    labels_kind: Literal["human", "simulated", "all"] | None = Field(
        None, description="instead of one annotator: every stored label of this kind"
    )
    labels_repeat: int = Field(
        1, ge=1, le=1000, description="how many times each stored label is added to training"
    )
    labels_val_fraction: float = Field(
        0.0,
        ge=0.0,
        le=0.5,
        description="share of the labelled pairs held out for validation (flaw 'label' in the "
        "evaluation's per-flaw accuracy), chosen as the preference-labels dataset with the same "
        "val_fraction and seed chooses them",
    )

    @field_validator("rejected_kinds")
    @classmethod
    def _some_kinds(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one rejected kind")
        return list(dict.fromkeys(value))


def _sentence(world: World, fact: Fact, rng: random.Random) -> str:
    return render_fact(fact, rng.choice(templates_for(world, fact)))


def _true_facts(world: World, properties: dict[str, Any], rng: random.Random) -> list[Fact]:
    entity = properties["entity"]
    facts = world.facts_about(entity)
    if properties["kind"] == "question":
        return [next(f for f in facts if f.relation == properties["relation"])]
    core = [f for f in facts if f.relation in ("job", "lives_in", "pet", "likes")]
    return rng.sample(core, 2)


def _polite(body: str, rng: random.Random) -> str:
    text = f"{rng.choice(POLITE_PREFIXES)} {body}"
    if rng.random() < 0.3:
        text += f" {rng.choice(POLITE_SUFFIXES)}"
    return text


def _false_body(world: World, facts: list[Fact], rng: random.Random) -> str:
    wrong = rng.randrange(len(facts))
    out = []
    for i, fact in enumerate(facts):
        if i == wrong:
            fact = Fact(fact.relation, fact.subject, rng.choice(world.alternatives(fact)))
        out.append(_sentence(world, fact, rng))
    return " ".join(out)


def _off_topic_body(world: World, properties: dict[str, Any], rng: random.Random) -> str:
    """A true sentence about another person that does not happen to contain the answer."""
    entity, answer = properties["entity"], properties.get("answer")
    others = [p.name for p in world.people if p.name != entity]
    while True:
        other = rng.choice(others)
        core = [
            f
            for f in world.facts_about(other)
            if f.relation in ("job", "lives_in", "likes") and f.object != answer
        ]
        if core:
            return _sentence(world, rng.choice(core), rng)


def _unresponsive_body(world: World, properties: dict[str, Any], rng: random.Random) -> str | None:
    """A true sentence about the prompt's entity that does not contain its answer, or None
    where there is none to say (a describe prompt, an entity with a single fact)."""
    if properties["kind"] != "question":
        return None
    answer = properties.get("answer")
    others = [
        f
        for f in world.facts_about(properties["entity"])
        if f.relation != properties["relation"] and f.object != answer
    ]
    rng.shuffle(others)
    for fact in others:
        sentence = _sentence(world, fact, rng)
        if answer is None or re.search(rf"\b{re.escape(answer)}\b", sentence) is None:
            return sentence
    return None


def _truncate(text: str, rng: random.Random) -> str:
    """Cut ``text`` after a word somewhere in its middle, so the answer breaks off."""
    words = text.split(" ")
    keep = rng.randint(max(1, len(words) // 3), max(1, len(words) - 2))
    return " ".join(words[:keep]).rstrip(".,")


def write_pair(
    world: World, prompt: str, properties: dict[str, Any], kind: str, rng: random.Random
) -> dict[str, str]:
    """One ``{"prompt", "chosen", "rejected", "flaw"}`` record by the rule in the module docstring.

    Completions start with a space, as answers do after ``A:`` in the corpus's dialogues.
    """
    facts = _true_facts(world, properties, rng)
    true_body = " ".join(_sentence(world, f, rng) for f in facts)
    chosen = _polite(true_body, rng)
    if kind == "false":
        rejected = _polite(_false_body(world, facts, rng), rng)
    elif kind == "rude":
        rejected = f"{rng.choice(RUDE_PREFIXES)} {true_body}"
    elif kind == "off-topic":
        rejected = _polite(_off_topic_body(world, properties, rng), rng)
    elif kind == "truncated":
        rejected = _truncate(chosen, rng)
    elif kind == "fragment":
        rejected = _polite(f"{facts[0].object}.", rng)
    elif kind == "unresponsive":
        body = _unresponsive_body(world, properties, rng)
        rejected = _polite(body, rng) if body else rng.choice(POLITE_PREFIXES)
    else:
        raise ValueError(f"unknown rejected kind {kind!r}")
    return {"prompt": prompt, "chosen": " " + chosen, "rejected": " " + rejected, "flaw": kind}


def _stored_labels(
    config: SyntheticPreferencesConfig, ctx: DatasetContext
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The stored labels ``labels_annotator`` / ``labels_kind`` name (those that name a winner),
    as pairs whose ``flaw`` is ``"label"``, split into (train, held out) by
    ``labels_val_fraction``; none when neither is set."""
    if config.labels_annotator is None and config.labels_kind is None:
        return [], []
    if config.labels_annotator is not None and config.labels_kind is not None:
        raise ValueError("name labels_annotator or labels_kind, not both")
    if getattr(ctx, "home", None) is None:
        raise ValueError("stored labels are read from a workbench home, and none was given")
    from workbench.paths import Paths
    from workbench.store import open_store

    with open_store(Paths(ctx.home)) as store:
        try:
            examples = store.preference_examples(
                annotator=config.labels_annotator, kind=config.labels_kind
            )
        except LookupError:  # no such annotator
            examples = []
    if not examples:
        which = config.labels_annotator or config.labels_kind
        raise ValueError(
            f"no stored preference labels of {which!r} that name a winner in {ctx.home}: label "
            "pairs with `workbench label` or in the Label tab first"
        )
    held_out = held_out_pairs((e.pair_id for e in examples), config.labels_val_fraction, ctx.seed)
    train = [{**e.trl(), "flaw": "label"} for e in examples if e.pair_id not in held_out]
    val = [{**e.trl(), "flaw": "label"} for e in examples if e.pair_id in held_out]
    return train, val


def load_synthetic_preferences(
    config: SyntheticPreferencesConfig, ctx: DatasetContext
) -> PreferencePairs:
    prompts_config = SyntheticPromptsConfig(**config.model_dump(exclude=PAIR_OPTIONS))
    prompt_set = load_synthetic_prompts(prompts_config, ctx)
    world = as_world(prompt_set.extras["world"])
    seed = config.seed if config.seed is not None else ctx.seed
    kinds = list(config.rejected_kinds)
    n_pairs = min(config.pairs_per_prompt, len(kinds))
    prompts = [*prompt_set.train, *prompt_set.val]
    splits: dict[str, list[dict[str, str]]] = {"train": [], "val": []}
    train_prompts = set(prompt_set.train)
    for index, (prompt, properties) in enumerate(zip(prompts, prompt_set.properties, strict=True)):
        rng = random.Random(f"workbench-synthetic-preferences/{seed}/{index}")
        split = "train" if index < len(prompt_set.train) else "val"
        if split == "val" and prompt in train_prompts:
            continue  # the corpus may draw a question twice; keep validation prompts unseen
        for kind in rng.sample(kinds, n_pairs):
            splits[split].append(write_pair(world, prompt, properties, kind, rng))
    stored, held_out = _stored_labels(config, ctx)
    splits["train"] += stored * config.labels_repeat
    splits["val"] += held_out
    return PreferencePairs(
        train=splits["train"],
        val=splits["val"],
        extras={
            "world": prompt_set.extras["world"],
            "prompt_properties": dict(zip(prompts, prompt_set.properties, strict=True)),
            "preference_properties": prompt_set.extras["preference_properties"],
            "generator": prompt_set.extras["generator"],
            "rule": "chosen: polite, true, complete answer; rejected: " + ", ".join(kinds),
            "stored_labels": len(stored) + len(held_out),
            "held_out_labels": len(held_out),
        },
    )


SYNTHETIC_PREFERENCES_SPEC = DatasetSpec(
    name="synthetic-preferences",
    summary="comparison pairs for the synthetic corpus's RLHF prompts, written by a rule (chosen: "
    "true, complete, polite; rejected: false, rude, off-topic, truncated, a fragment or "
    "unresponsive)",
    config=SyntheticPreferencesConfig,
    factory=load_synthetic_preferences,
    dataset_kind="preferences",
)
