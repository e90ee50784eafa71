"""The synthetic world: a seeded, English-like corpus about an invented world, as a library.

This package registers nothing. The ``text`` plugin registers it as the ``synthetic``,
``synthetic-task`` and ``synthetic-prompts`` datasets; other plugins import it to check
completions against the world (``rlhf``, ``annotators``), to build prompt tasks (``prompting``) or
to read its lexicon (``transfer``). It depends only on the core (:mod:`workbench`), so a plugin
that imports it depends on no other plugin. Everything in ``__all__`` is the public API; names
with a leading underscore in the submodules are not.

The workbench must run its whole main job on a fresh machine with no network, so it writes its own
default data. :func:`generate_corpus` invents a small :class:`World` (people, towns, countries and
their facts, plus a lexicon of antonyms) and renders it through a template grammar into documents:

* prose for language-model pre-training (biographies, places, short stories, reviews with star
  ratings, question-and-answer dialogues, antonym notes);
* few-shot *prompt documents* (``input -> output`` lines from one of twelve string or world
  functions, 0 to ``max_shots`` demonstrations plus a query), mixed in at ``prompt_fraction``, so
  that in-context learning can emerge;

and derives from the same world, in ``TextCorpus.extras``:

* ``tasks`` / ``labels`` / ``task_types``: GPT-1-style labelled tasks (``sentiment``,
  ``entailment``, ``similarity``, ``multiple-choice``) with train / val / test lists of dicts;
* ``prompt_tasks`` (held-out evaluation items whose inputs never appear as prompt inputs in the
  text), ``prompt_demos`` (items safe to use as demonstrations) and ``prompt_format`` (the exact
  separators, so an evaluator builds the same prompts);
* ``preference_prompts`` and ``preference_properties``: prompts for RLHF and the measurable
  properties of a completion that a person or a simulated annotator can prefer, with pure helper
  functions (:func:`is_true_in_world`, :func:`completion_properties`, ...);
* ``world`` (:meth:`World.to_dict`), ``generator`` (version, seed, options) and ``stats``.

Everything is drawn from ``random.Random`` instances seeded by strings derived from the seed, so the
same seed and options give byte-identical text and identical extras on every machine. The grammar
is described in ``docs/synthetic-corpus.md``.

The package splits the generator by job: :mod:`.lexicon` (the closed vocabulary), :mod:`.config`
(:class:`SyntheticConfig`), :mod:`.world` (entities, :class:`Fact`, :func:`generate_world`),
:mod:`.facts` (the sentence grammar and fact checks), :mod:`.documents` (pre-training prose),
:mod:`.prompts` (few-shot prompt tasks), :mod:`.icl` (in-context learning tasks), :mod:`.tasks`
(labelled tasks), :mod:`.preferences` (preference prompts and annotator helpers), :mod:`.corpus`
(:func:`generate_corpus`) and :mod:`.views` (the corpus, one labelled task or the RLHF prompts as
datasets). Every public name is re-exported here.
"""

from __future__ import annotations

from workbench_synthetic.config import (
    DOC_SEP,
    PROMPT_INSTRUCTIONS,
    PROMPT_SEPARATOR,
    PROMPT_TASK_NAMES,
    STRING_PROMPT_TASKS,
    WORLD_PROMPT_TASKS,
    SyntheticConfig,
)
from workbench_synthetic.corpus import (
    DOC_TYPE_WEIGHTS,
    GENERATOR_VERSION,
    generate_corpus,
)
from workbench_synthetic.facts import (
    DESCRIBE_REQUESTS,
    FACT_TEMPLATES,
    NEGATED_TEMPLATES,
    PERSON_RELATIONS,
    QUESTIONS,
    Template,
    article,
    fact_check,
    is_true_in_world,
    parse_fact,
    render_fact,
    split_sentences,
    templates_for,
)
from workbench_synthetic.lexicon import (
    ANTONYM_PAIRS,
    FOODS,
    JOB_ACTIONS,
    JOBS,
    OTHER_ANTONYM_PAIRS,
    PERSON_TRAIT_PAIRS,
    PETS,
    POLITE_MARKERS,
    POLITE_PREFIXES,
    POLITE_SUFFIXES,
    REVIEW_ASPECTS,
    REVIEW_INTENSIFIERS,
    REVIEW_OPENERS,
    RUDE_MARKERS,
    RUDE_PREFIXES,
    TOWN_TRAIT_PAIRS,
    VENUE_COLOURS,
    VENUE_KINDS,
    VENUE_NOUNS,
    WHEN,
)
from workbench_synthetic.preferences import (
    PREFERENCE_PROPERTIES,
    completion_properties,
    is_complete_sentence,
    is_polite,
    is_rude,
    mentions_entity,
    repetition,
    word_count,
)
from workbench_synthetic.prompts import (
    PROMPT_FORMAT,
    PromptDocument,
    build_prompt,
    parse_prompt_document,
    prompt_answer,
    prompt_document_task,
)
from workbench_synthetic.tasks import (
    TASK_LABELS,
    TASK_TYPES,
)
from workbench_synthetic.views import (
    PROMPTS_VAL_FRACTION,
    SyntheticPromptsConfig,
    SyntheticTaskConfig,
    load_synthetic_corpus,
    load_synthetic_prompts,
    load_synthetic_task,
    split_preference_prompts,
)
from workbench_synthetic.world import (
    FUNCTIONAL_RELATIONS,
    Country,
    Fact,
    Person,
    Town,
    Venue,
    World,
    as_world,
    generate_world,
)

__all__ = [
    "ANTONYM_PAIRS",
    "Country",
    "DESCRIBE_REQUESTS",
    "DOC_SEP",
    "DOC_TYPE_WEIGHTS",
    "FACT_TEMPLATES",
    "FOODS",
    "FUNCTIONAL_RELATIONS",
    "Fact",
    "GENERATOR_VERSION",
    "JOBS",
    "JOB_ACTIONS",
    "NEGATED_TEMPLATES",
    "OTHER_ANTONYM_PAIRS",
    "PERSON_RELATIONS",
    "PERSON_TRAIT_PAIRS",
    "PETS",
    "POLITE_MARKERS",
    "POLITE_PREFIXES",
    "POLITE_SUFFIXES",
    "PREFERENCE_PROPERTIES",
    "PROMPT_FORMAT",
    "PROMPT_INSTRUCTIONS",
    "PROMPT_SEPARATOR",
    "PROMPT_TASK_NAMES",
    "PROMPTS_VAL_FRACTION",
    "Person",
    "PromptDocument",
    "QUESTIONS",
    "REVIEW_ASPECTS",
    "REVIEW_INTENSIFIERS",
    "REVIEW_OPENERS",
    "RUDE_MARKERS",
    "RUDE_PREFIXES",
    "STRING_PROMPT_TASKS",
    "SyntheticConfig",
    "SyntheticPromptsConfig",
    "SyntheticTaskConfig",
    "TASK_LABELS",
    "TASK_TYPES",
    "TOWN_TRAIT_PAIRS",
    "Template",
    "Town",
    "VENUE_COLOURS",
    "VENUE_KINDS",
    "VENUE_NOUNS",
    "Venue",
    "WHEN",
    "WORLD_PROMPT_TASKS",
    "World",
    "article",
    "as_world",
    "build_prompt",
    "completion_properties",
    "fact_check",
    "generate_corpus",
    "generate_world",
    "is_complete_sentence",
    "is_polite",
    "is_rude",
    "is_true_in_world",
    "load_synthetic_corpus",
    "load_synthetic_prompts",
    "load_synthetic_task",
    "mentions_entity",
    "parse_fact",
    "parse_prompt_document",
    "prompt_answer",
    "prompt_document_task",
    "render_fact",
    "repetition",
    "split_preference_prompts",
    "split_sentences",
    "templates_for",
    "word_count",
]
