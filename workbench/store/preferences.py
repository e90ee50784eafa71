"""Preference labelling in the store: prompts, completions, comparison pairs, annotators, labels.

:class:`PreferenceQueries` is mixed into :class:`workbench.store.store.Store`; like the rest of
the store it runs every method in one short transaction and hands back frozen records.

Rules the methods keep:

* Each annotator has at most one current label per pair: labelling again replaces it, and
  :meth:`PreferenceQueries.undo` deletes the annotator's most recent label.
* Every annotator meets the pairs it has not labelled in one shuffled order that is the same for
  everyone and stable between calls (a multiplicative hash of the pair id), so early labels of
  different annotators overlap and their agreement can be measured early.
* Human and simulated labels are never mixed by accident: exports take one annotator, or one
  kind (``human`` by default), and mix both only when asked with ``kind="all"``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import ColumnElement, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from workbench.store.db import StoreError
from workbench.store.models import (
    ANNOTATOR_KINDS,
    PREFERENCE_CHOICES,
    Annotator,
    ComparisonPair,
    Completion,
    PreferenceLabel,
    Prompt,
    Run,
    utcnow,
)

KIND_FILTERS: Final[tuple[str, ...]] = (*ANNOTATOR_KINDS, "all")
"""What an export's ``kind`` may be: one annotator kind, or ``all`` to mix them on purpose."""

PREFERRED: Final[frozenset[str]] = frozenset({"a", "b"})
"""Choices that name a winner (ties and "both bad" give no chosen/rejected pair)."""

_SHUFFLE_MULTIPLIER: Final[int] = 2654435761  # Knuth's multiplicative hash, mod 2**32
_IN_CHUNK: Final[int] = 500


class AnnotatorNotFound(StoreError, LookupError):
    """No annotator has the name that was asked for."""


class PairNotFound(StoreError, LookupError):
    """No comparison pair has the id that was asked for."""


@dataclass(frozen=True, slots=True)
class AnnotatorRecord:
    """A labeller: ``kind`` is ``human`` or ``simulated`` (then ``plugin`` and ``config`` say
    which rule and options)."""

    id: int
    name: str
    kind: str
    plugin: str | None
    config: dict[str, Any] | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PromptRecord:
    id: int
    text: str
    source: str
    properties: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CompletionRecord:
    id: int
    prompt_id: int
    run_id: int | None
    text: str
    generation: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PairRecord:
    """A comparison pair with its prompt and both completions' texts."""

    id: int
    prompt_id: int
    prompt: str
    source: str
    properties: dict[str, Any]
    completion_a_id: int
    completion_a: str
    completion_b_id: int
    completion_b: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LabelRecord:
    """One annotator's current judgement of one pair."""

    id: int
    pair_id: int
    annotator: str
    annotator_kind: str
    choice: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PreferenceExample:
    """A label that names a winner, in the shape a reward model or DPO trains on."""

    pair_id: int
    annotator: str
    annotator_kind: str
    prompt: str
    chosen: str
    rejected: str

    def trl(self) -> dict[str, str]:
        """TRL's preference format: ``{"prompt", "chosen", "rejected"}``."""
        return {"prompt": self.prompt, "chosen": self.chosen, "rejected": self.rejected}


@dataclass(frozen=True, slots=True)
class LabelProgress:
    """How far one annotator is: pairs labelled out of all pairs."""

    annotator: str
    labelled: int
    total: int

    @property
    def remaining(self) -> int:
        return self.total - self.labelled


@dataclass(frozen=True, slots=True)
class AnnotatorStats:
    """An annotator with how many labels it holds, in total and per choice."""

    name: str
    kind: str
    plugin: str | None
    labelled: int
    choices: dict[str, int]


@dataclass(frozen=True, slots=True)
class Agreement:
    """How two annotators agree over the pairs both labelled.

    ``share`` is the fraction of those pairs with the same choice (None without overlap);
    ``kappa`` is Cohen's kappa over the four choices, None when undefined (no overlap, or both
    always gave the same single choice, so chance agreement is already 1).
    """

    annotator_a: str
    annotator_b: str
    overlap: int
    agreed: int
    share: float | None
    kappa: float | None


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Cohen's kappa of paired judgements ``(first, second)``: (p_o - p_e) / (1 - p_e)."""
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(1 for x, y in pairs if x == y) / n
    first = Counter(x for x, _ in pairs)
    second = Counter(y for _, y in pairs)
    expected = sum(first[c] * second[c] for c in first) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def _check_choice(choice: str) -> str:
    if choice not in PREFERENCE_CHOICES:
        raise ValueError(
            f"invalid choice {choice!r}: expected one of {', '.join(PREFERENCE_CHOICES)}"
        )
    return choice


def _check_kind(kind: str) -> str:
    if kind not in ANNOTATOR_KINDS:
        raise ValueError(
            f"invalid annotator kind {kind!r}: expected one of {', '.join(ANNOTATOR_KINDS)}"
        )
    return kind


def _shuffled(column: Any) -> ColumnElement[int]:
    """A stable pseudo-random sort key of an integer id (SQLite has 64-bit integers)."""
    return (column * _SHUFFLE_MULTIPLIER) % 4294967296


def _annotator_record(row: Annotator) -> AnnotatorRecord:
    return AnnotatorRecord(
        id=row.id,
        name=row.name,
        kind=row.kind,
        plugin=row.plugin,
        config=row.config,
        created_at=row.created_at,
    )


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield list(ids[start : start + _IN_CHUNK])


class PreferenceQueries:
    """The preference-labelling half of :class:`workbench.store.store.Store`."""

    if TYPE_CHECKING:

        def _read(self) -> AbstractContextManager[Session]: ...

        def _write(self) -> AbstractContextManager[Session]: ...

    # -- annotators ------------------------------------------------------------------------

    def ensure_annotator(
        self,
        name: str,
        kind: str = "human",
        *,
        plugin: str | None = None,
        config: Mapping[str, Any] | None = None,
        normalise: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
    ) -> AnnotatorRecord:
        """The annotator ``name``, created on first use.

        An existing annotator of the other kind, or a simulated one recorded with another plugin
        or config, is refused (:class:`StoreError`): its labels would stop meaning one rule.
        ``normalise`` (the plugin's config model, filling in defaults) compares a recorded config
        by what it means, so an option the plugin gained since, at its default, is the same rule;
        a recorded config it refuses is a different one.
        """
        _check_kind(kind)
        name = name.strip()
        if not name:
            raise ValueError("an annotator needs a name")
        if kind == "human" and (plugin is not None or config is not None):
            raise ValueError("only simulated annotators have a plugin and a config")
        wanted_config = dict(config) if config is not None else None
        with self._write() as s:
            row = s.scalars(select(Annotator).where(Annotator.name == name)).first()
            if row is None:
                row = Annotator(
                    name=name, kind=kind, plugin=plugin, config=wanted_config, created_at=utcnow()
                )
                s.add(row)
                s.flush()
                return _annotator_record(row)
            if row.kind != kind:
                raise StoreError(
                    f"annotator {name!r} is {row.kind}, not {kind}: human and simulated labels "
                    "are kept apart, so use another name"
                )
            if kind == "simulated" and not _same_rule(
                (row.plugin, row.config), (plugin, wanted_config), normalise
            ):
                raise StoreError(
                    f"annotator {name!r} was recorded with plugin {row.plugin!r} and config "
                    f"{json.dumps(row.config, sort_keys=True)}; label under another name to use "
                    f"plugin {plugin!r} with config {json.dumps(wanted_config, sort_keys=True)}"
                )
            return _annotator_record(row)

    def get_annotator(self, name: str) -> AnnotatorRecord:
        """The annotator ``name``; :class:`AnnotatorNotFound` when there is none."""
        with self._read() as s:
            return _annotator_record(self._annotator_row(s, name))

    def list_annotators(self, kind: str | None = None) -> list[AnnotatorRecord]:
        """Annotators (of one kind, or all), by name."""
        query = select(Annotator).order_by(Annotator.name)
        if kind is not None:
            query = query.where(Annotator.kind == _check_kind(kind))
        with self._read() as s:
            return [_annotator_record(row) for row in s.scalars(query)]

    @staticmethod
    def _annotator_row(s: Session, name: str) -> Annotator:
        row = s.scalars(select(Annotator).where(Annotator.name == name)).first()
        if row is None:
            raise AnnotatorNotFound(f"no annotator named {name!r}")
        return row

    # -- prompts, completions, pairs -------------------------------------------------------

    def add_prompts(self, rows: Iterable[tuple[str, str, Mapping[str, Any]]]) -> list[int]:
        """Store ``(text, source, properties)`` rows; return their ids in order.

        A prompt with the same text and source as a stored one is not stored twice: its
        existing id is returned (generating pairs again adds completions, not prompts).
        """
        items = [(str(text), str(source), dict(props)) for text, source, props in rows]
        if not items:
            return []
        now = utcnow()
        ids: list[int | None] = [None] * len(items)
        with self._write() as s:
            known: dict[tuple[str, str], int] = {}
            for source in {source for _, source, _ in items}:
                texts = {text for text, src, _ in items if src == source}
                query = select(Prompt.id, Prompt.text).where(Prompt.source == source)
                for pid, text in s.execute(query.order_by(Prompt.id)):
                    if text in texts:
                        known.setdefault((text, source), pid)
            fresh: list[int] = []
            seen_fresh: dict[tuple[str, str], int] = {}
            for index, (text, source, _) in enumerate(items):
                key = (text, source)
                if key in known:
                    ids[index] = known[key]
                elif key not in seen_fresh:
                    seen_fresh[key] = index
                    fresh.append(index)
            if fresh:
                new_ids = s.scalars(
                    insert(Prompt).returning(Prompt.id, sort_by_parameter_order=True),
                    [
                        {
                            "text": items[i][0],
                            "source": items[i][1],
                            "properties": items[i][2],
                            "created_at": now,
                        }
                        for i in fresh
                    ],
                ).all()
                for index, new_id in zip(fresh, new_ids, strict=True):
                    known[(items[index][0], items[index][1])] = new_id
            for index, (text, source, _) in enumerate(items):
                if ids[index] is None:
                    ids[index] = known[(text, source)]
        return [int(i) for i in ids if i is not None]

    def get_prompt(self, prompt_id: int) -> PromptRecord:
        with self._read() as s:
            row = s.get(Prompt, prompt_id)
            if row is None:
                raise StoreError(f"no prompt with id {prompt_id}")
            return PromptRecord(
                id=row.id,
                text=row.text,
                source=row.source,
                properties=row.properties,
                created_at=row.created_at,
            )

    def add_completions(
        self,
        rows: Iterable[tuple[int, str, Mapping[str, Any]]],
        *,
        run_id: int | None = None,
    ) -> list[int]:
        """Store ``(prompt_id, text, generation settings)`` rows generated by ``run_id``;
        return their ids in order."""
        now = utcnow()
        values = [
            {
                "prompt_id": int(prompt_id),
                "run_id": run_id,
                "text": str(text),
                "generation": dict(generation),
                "created_at": now,
            }
            for prompt_id, text, generation in rows
        ]
        if not values:
            return []
        with self._write() as s:
            if run_id is not None and s.get(Run, run_id) is None:
                raise StoreError(f"no run with id {run_id}")
            wanted = sorted({v["prompt_id"] for v in values})
            found: set[int] = set()
            for chunk in _chunks(wanted):
                found.update(s.scalars(select(Prompt.id).where(Prompt.id.in_(chunk))))
            missing = [pid for pid in wanted if pid not in found]
            if missing:
                raise StoreError(f"no prompt with id {', '.join(map(str, missing[:10]))}")
            return list(
                s.scalars(
                    insert(Completion).returning(Completion.id, sort_by_parameter_order=True),
                    values,
                ).all()
            )

    def completions(self, prompt_id: int) -> list[CompletionRecord]:
        """A prompt's completions, oldest first."""
        with self._read() as s:
            rows = s.scalars(
                select(Completion).where(Completion.prompt_id == prompt_id).order_by(Completion.id)
            )
            return [
                CompletionRecord(
                    id=r.id,
                    prompt_id=r.prompt_id,
                    run_id=r.run_id,
                    text=r.text,
                    generation=r.generation,
                    created_at=r.created_at,
                )
                for r in rows
            ]

    def add_pairs(self, rows: Iterable[tuple[int, int]]) -> list[int]:
        """Store comparison pairs ``(completion_a_id, completion_b_id)``; return their ids.

        Both completions must exist, differ, and complete the same prompt (the pair's prompt).
        """
        wanted = [(int(a), int(b)) for a, b in rows]
        if not wanted:
            return []
        for a, b in wanted:
            if a == b:
                raise ValueError(f"a pair compares two different completions, got {a} twice")
        now = utcnow()
        with self._write() as s:
            ids = sorted({c for pair in wanted for c in pair})
            prompt_of: dict[int, int] = {}
            for chunk in _chunks(ids):
                query = select(Completion.id, Completion.prompt_id).where(Completion.id.in_(chunk))
                prompt_of.update({cid: pid for cid, pid in s.execute(query)})
            missing = [c for c in ids if c not in prompt_of]
            if missing:
                raise StoreError(f"no completion with id {', '.join(map(str, missing[:10]))}")
            values = []
            for a, b in wanted:
                if prompt_of[a] != prompt_of[b]:
                    raise StoreError(
                        f"completions {a} and {b} complete different prompts "
                        f"({prompt_of[a]} and {prompt_of[b]})"
                    )
                values.append(
                    {
                        "prompt_id": prompt_of[a],
                        "completion_a_id": a,
                        "completion_b_id": b,
                        "created_at": now,
                    }
                )
            return list(
                s.scalars(
                    insert(ComparisonPair).returning(
                        ComparisonPair.id, sort_by_parameter_order=True
                    ),
                    values,
                ).all()
            )

    def count_pairs(self, run_id: int | None = None) -> int:
        """How many comparison pairs there are (``run_id``: whose first completion that run
        generated)."""
        query = select(func.count()).select_from(ComparisonPair)
        if run_id is not None:
            query = query.join(Completion, Completion.id == ComparisonPair.completion_a_id).where(
                Completion.run_id == run_id
            )
        with self._read() as s:
            return int(s.scalar(query) or 0)

    @staticmethod
    def _pair_query() -> Any:
        a = aliased(Completion, name="completion_a")
        b = aliased(Completion, name="completion_b")
        return (
            select(
                ComparisonPair.id,
                ComparisonPair.prompt_id,
                Prompt.text,
                Prompt.source,
                Prompt.properties,
                ComparisonPair.completion_a_id,
                a.text,
                ComparisonPair.completion_b_id,
                b.text,
                ComparisonPair.created_at,
            )
            .join(Prompt, Prompt.id == ComparisonPair.prompt_id)
            .join(a, a.id == ComparisonPair.completion_a_id)
            .join(b, b.id == ComparisonPair.completion_b_id)
        )

    def get_pair(self, pair_id: int) -> PairRecord:
        """The pair with its prompt and completions; :class:`PairNotFound` when there is none."""
        with self._read() as s:
            row = s.execute(self._pair_query().where(ComparisonPair.id == pair_id)).first()
            if row is None:
                raise PairNotFound(f"no comparison pair with id {pair_id}")
            return PairRecord(*row)

    def unlabelled_pairs(
        self,
        annotator: str,
        *,
        exclude: Iterable[int] = (),
        limit: int | None = None,
    ) -> list[PairRecord]:
        """The pairs ``annotator`` has not labelled, in the shared shuffled order, leaving out
        the ids in ``exclude`` (pairs skipped in this session)."""
        skipped = sorted({int(i) for i in exclude})
        with self._read() as s:
            who = self._annotator_row(s, annotator)
            labelled = select(PreferenceLabel.pair_id).where(PreferenceLabel.annotator_id == who.id)
            query = self._pair_query().where(ComparisonPair.id.not_in(labelled))
            for chunk in _chunks(skipped):
                query = query.where(ComparisonPair.id.not_in(chunk))
            query = query.order_by(_shuffled(ComparisonPair.id), ComparisonPair.id)
            if limit is not None:
                query = query.limit(limit)
            return [PairRecord(*row) for row in s.execute(query)]

    def next_pair(self, annotator: str, *, exclude: Iterable[int] = ()) -> PairRecord | None:
        """The next pair for ``annotator`` to label (see :meth:`unlabelled_pairs`), or None."""
        found = self.unlabelled_pairs(annotator, exclude=exclude, limit=1)
        return found[0] if found else None

    # -- labels ----------------------------------------------------------------------------

    def label(self, annotator: str, pair_id: int, choice: str) -> LabelRecord:
        """Record ``annotator``'s ``choice`` (a, b, tie, both_bad) for a pair, replacing the
        annotator's earlier label of it."""
        return self.label_many(annotator, [(pair_id, choice)])[0]

    def label_many(self, annotator: str, rows: Iterable[tuple[int, str]]) -> list[LabelRecord]:
        """Record several ``(pair_id, choice)`` labels in one transaction (later rows win)."""
        wanted = [(int(pair_id), _check_choice(choice)) for pair_id, choice in rows]
        out: list[LabelRecord] = []
        with self._write() as s:
            who = self._annotator_row(s, annotator)
            for pair_id, choice in wanted:
                if s.get(ComparisonPair, pair_id) is None:
                    raise PairNotFound(f"no comparison pair with id {pair_id}")
                # Delete and insert (not update): the new row gets the highest id, so it is the
                # one undo removes first.
                s.execute(
                    delete(PreferenceLabel).where(
                        PreferenceLabel.pair_id == pair_id,
                        PreferenceLabel.annotator_id == who.id,
                    )
                )
                row = PreferenceLabel(
                    pair_id=pair_id, annotator_id=who.id, choice=choice, created_at=utcnow()
                )
                s.add(row)
                try:
                    s.flush()
                except IntegrityError as err:  # pragma: no cover - guarded by the checks above
                    raise StoreError(f"cannot label pair {pair_id}: {err.orig}") from err
                out.append(
                    LabelRecord(
                        id=row.id,
                        pair_id=pair_id,
                        annotator=who.name,
                        annotator_kind=who.kind,
                        choice=choice,
                        created_at=row.created_at,
                    )
                )
        return out

    def undo(self, annotator: str) -> LabelRecord | None:
        """Delete ``annotator``'s most recent label and return it (None when there is none)."""
        with self._write() as s:
            who = self._annotator_row(s, annotator)
            row = s.scalars(
                select(PreferenceLabel)
                .where(PreferenceLabel.annotator_id == who.id)
                .order_by(PreferenceLabel.id.desc())
                .limit(1)
            ).first()
            if row is None:
                return None
            record = LabelRecord(
                id=row.id,
                pair_id=row.pair_id,
                annotator=who.name,
                annotator_kind=who.kind,
                choice=row.choice,
                created_at=row.created_at,
            )
            s.delete(row)
            return record

    def labels(
        self,
        *,
        annotator: str | None = None,
        pair_id: int | None = None,
        limit: int | None = None,
    ) -> list[LabelRecord]:
        """Current labels (who labelled what), newest first."""
        query = (
            select(
                PreferenceLabel.id,
                PreferenceLabel.pair_id,
                Annotator.name,
                Annotator.kind,
                PreferenceLabel.choice,
                PreferenceLabel.created_at,
            )
            .join(Annotator, Annotator.id == PreferenceLabel.annotator_id)
            .order_by(PreferenceLabel.id.desc())
        )
        with self._read() as s:
            if annotator is not None:
                query = query.where(Annotator.id == self._annotator_row(s, annotator).id)
            if pair_id is not None:
                query = query.where(PreferenceLabel.pair_id == pair_id)
            if limit is not None:
                query = query.limit(limit)
            return [LabelRecord(*row) for row in s.execute(query)]

    def progress(self, annotator: str) -> LabelProgress:
        """How many pairs ``annotator`` has labelled, out of all pairs."""
        with self._read() as s:
            who = self._annotator_row(s, annotator)
            labelled = s.scalar(
                select(func.count())
                .select_from(PreferenceLabel)
                .where(PreferenceLabel.annotator_id == who.id)
            )
            total = s.scalar(select(func.count()).select_from(ComparisonPair))
            return LabelProgress(
                annotator=who.name, labelled=int(labelled or 0), total=int(total or 0)
            )

    def annotator_stats(self) -> list[AnnotatorStats]:
        """Every annotator with its label counts (total and per choice), by name."""
        with self._read() as s:
            annotators = list(s.scalars(select(Annotator).order_by(Annotator.name)))
            counts: dict[int, dict[str, int]] = {row.id: {} for row in annotators}
            query = select(
                PreferenceLabel.annotator_id, PreferenceLabel.choice, func.count()
            ).group_by(PreferenceLabel.annotator_id, PreferenceLabel.choice)
            for annotator_id, choice, n in s.execute(query):
                counts[annotator_id][choice] = int(n)
        return [
            AnnotatorStats(
                name=row.name,
                kind=row.kind,
                plugin=row.plugin,
                labelled=sum(counts[row.id].values()),
                choices={c: counts[row.id].get(c, 0) for c in PREFERENCE_CHOICES},
            )
            for row in annotators
        ]

    # -- export and agreement --------------------------------------------------------------

    def preference_examples(
        self, *, annotator: str | None = None, kind: str | None = None
    ) -> list[PreferenceExample]:
        """Labels that name a winner, as prompt / chosen / rejected (ties and "both bad" are
        dropped), oldest first.

        Either one ``annotator`` (by name), or one ``kind``: ``human`` (the default),
        ``simulated``, or ``all`` to mix the two on purpose.
        """
        if annotator is not None and kind is not None:
            raise ValueError("choose one annotator or one kind, not both")
        if kind is None:
            kind = "human"
        if kind not in KIND_FILTERS:
            raise ValueError(f"invalid kind {kind!r}: expected one of {', '.join(KIND_FILTERS)}")
        a = aliased(Completion, name="completion_a")
        b = aliased(Completion, name="completion_b")
        query = (
            select(
                ComparisonPair.id,
                Annotator.name,
                Annotator.kind,
                Prompt.text,
                a.text,
                b.text,
                PreferenceLabel.choice,
            )
            .join(ComparisonPair, ComparisonPair.id == PreferenceLabel.pair_id)
            .join(Annotator, Annotator.id == PreferenceLabel.annotator_id)
            .join(Prompt, Prompt.id == ComparisonPair.prompt_id)
            .join(a, a.id == ComparisonPair.completion_a_id)
            .join(b, b.id == ComparisonPair.completion_b_id)
            .where(PreferenceLabel.choice.in_(sorted(PREFERRED)))
            .order_by(PreferenceLabel.id)
        )
        with self._read() as s:
            if annotator is not None:
                query = query.where(Annotator.id == self._annotator_row(s, annotator).id)
            elif kind != "all":
                query = query.where(Annotator.kind == kind)
            out = []
            for pair_id, name, who_kind, prompt, text_a, text_b, choice in s.execute(query):
                chosen, rejected = (text_a, text_b) if choice == "a" else (text_b, text_a)
                out.append(
                    PreferenceExample(
                        pair_id=pair_id,
                        annotator=name,
                        annotator_kind=who_kind,
                        prompt=prompt,
                        chosen=chosen,
                        rejected=rejected,
                    )
                )
            return out

    def _choices_of(self, s: Session) -> dict[str, dict[int, str]]:
        query = select(Annotator.name, PreferenceLabel.pair_id, PreferenceLabel.choice).join(
            Annotator, Annotator.id == PreferenceLabel.annotator_id
        )
        out: dict[str, dict[int, str]] = {}
        for name, pair_id, choice in s.execute(query):
            out.setdefault(name, {})[pair_id] = choice
        return out

    @staticmethod
    def _agreement(first: str, second: str, by: dict[str, dict[int, str]]) -> Agreement:
        x, y = by.get(first, {}), by.get(second, {})
        both = [(x[p], y[p]) for p in sorted(x.keys() & y.keys())]
        agreed = sum(1 for u, v in both if u == v)
        return Agreement(
            annotator_a=first,
            annotator_b=second,
            overlap=len(both),
            agreed=agreed,
            share=agreed / len(both) if both else None,
            kappa=cohen_kappa(both),
        )

    def agreement(self, first: str, second: str) -> Agreement:
        """How ``first`` and ``second`` agree over the pairs both labelled."""
        with self._read() as s:
            self._annotator_row(s, first)
            self._annotator_row(s, second)
            return self._agreement(first, second, self._choices_of(s))

    def agreements(self) -> list[Agreement]:
        """Agreement of every two annotators that labelled at least one pair in common."""
        with self._read() as s:
            by = self._choices_of(s)
        out = []
        for first, second in combinations(sorted(by), 2):
            found = self._agreement(first, second, by)
            if found.overlap:
                out.append(found)
        return out


def _same_rule(
    recorded: tuple[str | None, Mapping[str, Any] | None],
    wanted: tuple[str | None, Mapping[str, Any] | None],
    normalise: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None,
) -> bool:
    """Whether a simulated annotator's recorded plugin and config are the wanted ones."""
    if recorded == wanted:
        return True
    if normalise is None or recorded[0] != wanted[0]:
        return False
    try:
        return dict(normalise(recorded[1] or {})) == dict(normalise(wanted[1] or {}))
    except ValueError:  # the plugin no longer accepts what was recorded
        return False
