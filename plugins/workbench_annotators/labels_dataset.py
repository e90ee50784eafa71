"""The ``preference-labels`` dataset: the preference labels stored in the workbench home, as
TRL-format pairs ``{"prompt", "chosen", "rejected"}`` for a reward model or DPO.

Labels that name no winner (ties, "both bad") are left out. It takes one annotator's labels, or
one kind's (``human`` by default); human and simulated labels are mixed only with ``kind: all``.
Pairs, not labels, are split between train and val (:func:`workbench.label_split.held_out_pairs`,
the rule ``synthetic-preferences``' ``labels_val_fraction`` follows too), so two annotators'
labels of one pair never end up on both sides.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workbench.data import PreferencePairs
from workbench.label_split import held_out_pairs
from workbench.paths import Paths
from workbench.specs import DatasetContext, DatasetSpec
from workbench.store import open_store


class PreferenceLabelsConfig(BaseModel):
    """Which stored labels to read, and the share held out for validation."""

    model_config = ConfigDict(extra="forbid")

    annotator: str | None = Field(None, description="only this annotator's labels (by name)")
    kind: Literal["human", "simulated", "all"] | None = Field(
        None,
        description="only labels of this annotator kind (empty: human, unless an annotator is "
        "named); 'all' mixes human and simulated labels",
    )
    val_fraction: float = Field(
        0.1,
        ge=0.0,
        le=0.5,
        description="share of labelled pairs kept for validation (each pair by its id and the "
        "seed, so labelling more never moves a pair across)",
    )

    @model_validator(mode="after")
    def _one_filter(self) -> PreferenceLabelsConfig:
        if self.annotator is not None and self.kind is not None:
            raise ValueError("name an annotator or a kind, not both")
        return self


def load_preference_labels(config: PreferenceLabelsConfig, ctx: DatasetContext) -> PreferencePairs:
    if ctx.home is None:
        raise ValueError(
            "preference-labels reads the labels stored in a workbench home, and none was given"
        )
    with open_store(Paths(ctx.home)) as store:
        examples = store.preference_examples(annotator=config.annotator, kind=config.kind)
    which = (
        f"annotator {config.annotator!r}"
        if config.annotator is not None
        else f"kind {config.kind or 'human'!r}"
    )
    if not examples:
        raise ValueError(
            f"no preference labels of {which} that name a winner in {ctx.home}: label pairs with "
            "`workbench label` or in the dashboard's Label tab (ties and 'both bad' are not used)"
        )
    val_ids = held_out_pairs((e.pair_id for e in examples), config.val_fraction, ctx.seed)
    train = [e.trl() for e in examples if e.pair_id not in val_ids]
    val = [e.trl() for e in examples if e.pair_id in val_ids]
    return PreferencePairs(
        train=train,
        val=val,
        extras={
            "source": "store",
            "filter": which,
            "annotators": sorted({e.annotator for e in examples}),
            "labels": len(examples),
        },
    )


PREFERENCE_LABELS_SPEC = DatasetSpec(
    name="preference-labels",
    summary="preference labels stored in the workbench (one annotator, or human / simulated) as "
    "prompt / chosen / rejected pairs",
    config=PreferenceLabelsConfig,
    factory=load_preference_labels,
    dataset_kind="preferences",
)
