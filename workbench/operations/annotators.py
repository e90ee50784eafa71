"""Recording a simulated annotator before it labels: ``workbench label`` and the benchmarks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from workbench.specs import AnnotatorSpec
from workbench.store import AnnotatorRecord, Store


def ensure_simulated_annotator(
    store: Store, name: str, spec: AnnotatorSpec, options: BaseModel
) -> AnnotatorRecord:
    """The simulated annotator ``name`` for plugin ``spec`` with ``options``, created on first
    use. A recorded config is compared through the plugin's config model, so an option the plugin
    gained since (at its default) is the same rule; another rule under that name is refused
    (:class:`workbench.store.StoreError`)."""

    def normalise(config: Mapping[str, Any]) -> Mapping[str, Any]:
        return spec.config(**dict(config)).model_dump(mode="json")

    return store.ensure_annotator(
        name,
        "simulated",
        plugin=spec.name,
        config=options.model_dump(mode="json"),
        normalise=normalise,
    )
