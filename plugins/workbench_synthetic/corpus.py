"""Corpus assembly: :func:`generate_corpus` generates the world, the labelled tasks, the text
splits (prose and prompt documents drawn to deterministic split quotas) and the extras. The text
plugin registers it as the ``synthetic`` dataset.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from workbench.data import TextCorpus
from workbench_synthetic.config import (
    DOC_SEP,
    EPISODIC_PROMPT_TASKS,
    ICL_INSTRUCTIONS,
    PROMPT_INSTRUCTIONS,
    PROMPT_TASK_NAMES,
    SyntheticConfig,
)
from workbench_synthetic.preferences import PREFERENCE_PROPERTIES, _PreferenceWriter
from workbench_synthetic.prompts import PROMPT_FORMAT, _PromptSampler
from workbench_synthetic.tasks import TASK_LABELS, TASK_TYPES, _make_task, _TaskWriter
from workbench_synthetic.world import generate_world

GENERATOR_VERSION = 1
"""Bumped whenever the same seed and options would produce different text."""

DOC_TYPE_WEIGHTS = {
    "biography": 25,
    "place": 12,
    "story": 25,
    "review": 13,
    "dialogue": 20,
    "lexicon": 5,
}
"""Relative frequencies of the prose document types (prompt documents come on top)."""


class _CorpusWriter(_TaskWriter, _PreferenceWriter):
    """One writer for documents, labelled tasks and preference prompts."""


def generate_corpus(config: SyntheticConfig, seed: int) -> TextCorpus:
    """Generate the corpus: the same ``config`` and ``seed`` give byte-identical results."""
    world = generate_world(config.n_entities, seed)
    writer = _CorpusWriter(world, config)

    def stream(name: str) -> random.Random:
        return random.Random(f"workbench-synthetic/{seed}/{name}")

    # Labelled tasks first, so that their review sentences can be kept out of the text.
    sizes = (config.task_train_size, config.task_eval_size, config.task_eval_size)
    n_choices = config.n_choices
    tasks = {
        "sentiment": _make_task(writer.sentiment_record, 2, sizes, stream("task/sentiment")),
        "entailment": _make_task(writer.entailment_record, 3, sizes, stream("task/entailment")),
        "similarity": _make_task(writer.similarity_record, 2, sizes, stream("task/similarity")),
        "multiple-choice": _make_task(
            writer.multiple_choice_record, n_choices, sizes, stream("task/multiple-choice")
        ),
    }
    forbidden_reviews = {r["text"] for split in tasks["sentiment"].values() for r in split}

    sampler = _PromptSampler(world, config, seed)
    rng = stream("text")
    makers: dict[str, Callable[[random.Random], str]] = {
        "biography": writer.biography,
        "place": writer.place,
        "story": writer.story,
        "review": lambda r: writer.reviews(r, forbidden_reviews),
        "dialogue": writer.dialogue,
        "lexicon": writer.lexicon,
    }
    weights = DOC_TYPE_WEIGHTS if config.doc_weights is None else config.doc_weights
    type_names = [name for name in DOC_TYPE_WEIGHTS if weights.get(name, 0) > 0]
    type_weights = [weights[name] for name in type_names]
    shares = (1.0 - config.val_fraction - config.test_fraction, config.val_fraction,
              config.test_fraction)  # fmt: skip
    docs: tuple[list[str], list[str], list[str]] = ([], [], [])
    chars = [0, 0, 0]
    doc_types: list[Counter[str]] = [Counter(), Counter(), Counter()]
    split_of: dict[str, int] = {}
    max_prompt_chars = 0
    refused = 0
    while chars[0] < config.size_chars:
        # Deterministic quotas: the next document goes to the split furthest below its share.
        # The split is chosen before the document is drawn, so no document type (or length)
        # favours a split.
        split = max(range(3), key=lambda i: (shares[i] * sum(chars) - chars[i], -i))
        if rng.random() < config.prompt_fraction:
            kind, doc = "prompt", sampler.document(rng)
            max_prompt_chars = max(max_prompt_chars, len(doc))
        else:
            kind = rng.choices(type_names, weights=type_weights)[0]
            doc = makers[kind](rng)
        # A document may repeat within its split (short prompt documents do), never across.
        if split_of.setdefault(doc, split) != split:
            refused += 1
            if refused > 10_000:
                raise ValueError(
                    "the options allow too few distinct documents for this size: enlarge "
                    "n_entities, name more prompt_tasks or lower size_chars"
                )
            continue
        refused = 0
        chars[split] += len(doc) + (len(DOC_SEP) if docs[split] else 0)
        docs[split].append(doc)
        doc_types[split][kind] += 1
    train, val, test = (DOC_SEP.join(d) for d in docs)

    text_words = set(re.findall(r"[a-z]+", train + "\n" + val + "\n" + test))
    demo_rng = stream("prompt-demos")
    prompt_demos = {
        task: [{"input": i, "output": o}
               for i, o in sampler.sample(task, demo_rng, config.prompt_eval_size)]
        for task in PROMPT_TASK_NAMES
    }  # fmt: skip
    # Episodic tasks have no shared pool: each held-out episode carries its own demonstrations.
    icl_demo_rng = stream("prompt-demos-icl")
    for task in sampler.icl_tasks:
        prompt_demos[task] = (
            []
            if task in EPISODIC_PROMPT_TASKS
            else [{"input": i, "output": o}
                  for i, o in sampler.sample(task, icl_demo_rng, config.prompt_eval_size)]
        )  # fmt: skip
    instructions = dict(PROMPT_INSTRUCTIONS)
    instructions.update({t: ICL_INSTRUCTIONS[t] for t in sampler.icl_tasks})
    if config.instruction_fraction == 0:
        # The text never shows an instruction line, so an evaluator should not write one.
        instructions = {}
    pref_rng = stream("preference")
    extras: dict[str, Any] = {
        "world": world.to_dict(),
        "tasks": tasks,
        "labels": {
            **TASK_LABELS,
            "multiple-choice": [f"choice {i}" for i in range(n_choices)],
        },
        "task_types": dict(TASK_TYPES),
        "prompt_tasks": sampler.heldout(text_words),
        "prompt_demos": prompt_demos,
        "prompt_format": {
            **PROMPT_FORMAT,
            "instructions": instructions,
            "max_shots": config.max_shots,
            "instruction_fraction": config.instruction_fraction,
            "tasks_in_text": list(config.prompt_tasks),
        },
        "preference_prompts": [
            writer.preference_prompt(pref_rng) for _ in range(config.n_preference_prompts)
        ],
        "preference_properties": {k: dict(v) for k, v in PREFERENCE_PROPERTIES.items()},
        "generator": {
            "name": "synthetic",
            "version": GENERATOR_VERSION,
            "seed": seed,
            # A corpus without doc_weights records its options as before the option existed.
            "config": config.model_dump(
                mode="json", exclude={"doc_weights"} if config.doc_weights is None else None
            ),
        },
        "stats": {
            "chars": {"train": len(train), "val": len(val), "test": len(test)},
            "documents": {
                split: dict(sorted(counter.items()))
                for split, counter in zip(("train", "val", "test"), doc_types, strict=True)
            },
            "max_prompt_document_chars": max_prompt_chars,
        },
    }
    return TextCorpus(train=train, val=val, test=test, extras=extras)
