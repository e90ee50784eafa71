"""The context every tab builder and handler receives (no module-level state)."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.paths import Paths
from workbench.registry import Registry
from workbench.store import Store


@dataclass
class UIContext:
    paths: Paths
    store: Store
    registry: Registry
