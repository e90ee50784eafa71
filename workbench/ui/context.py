"""The context every tab builder and handler receives (no module-level state).

It carries the workbench's paths, its store (the only gateway to the database; each call opens
its own short session), the plugin registry, and a small cache of loaded models for generation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workbench.paths import Paths
from workbench.registry import Registry
from workbench.store import Store
from workbench.ui.generation import ModelCache


@dataclass
class UIContext:
    paths: Paths
    store: Store
    registry: Registry
    models: ModelCache = field(default_factory=ModelCache)

    @property
    def uploads(self) -> Path:
        """Where uploaded data files are kept (inside the home, never served)."""
        return self.paths.home / "uploads"

    @property
    def data_roots(self) -> tuple[Path, ...]:
        """The folders a path typed in the dashboard may point into."""
        return (self.uploads, self.paths.home / "data", self.paths.cache)
