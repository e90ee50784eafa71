"""The shipped example configs (``configs/*.yaml``) as starting points for a new run.

In a checkout (or an editable install) they are the repository-root ``configs/`` folder; an
installed wheel ships the same files as the package data ``workbench/_configs`` (see setup.py).
The dashboard's New run tab opens on :data:`DEFAULT_STARTER` and offers the others.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CONFIGS_PACKAGE = "workbench._configs"
DEFAULT_STARTER = "quickstart"
"""The config the New run form opens on: one that runs in minutes on a laptop CPU."""


@dataclass(frozen=True)
class Starter:
    """One shipped config: its name (the file's stem), file and first comment line."""

    name: str
    path: Path
    summary: str

    @property
    def label(self) -> str:
        return f"{self.name} — {self.summary}" if self.summary else self.name

    def load(self) -> dict[str, Any]:
        data = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}


def configs_dir() -> Path | None:
    """The folder of shipped configs, or None when neither a checkout nor a wheel has one."""
    candidates: list[Path] = []
    try:
        marker = importlib.resources.files(CONFIGS_PACKAGE).joinpath(f"{DEFAULT_STARTER}.yaml")
        candidates.append(Path(str(marker)).parent)
    except ModuleNotFoundError:
        pass
    candidates.append(Path(__file__).resolve().parents[1] / "configs")
    for folder in candidates:
        if folder.is_dir() and any(folder.glob("*.yaml")):
            return folder
    return None


def _summary(path: Path) -> str:
    """The first comment line of a config file, without its ``#``."""
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                text = line.strip()
                if text.startswith("#"):
                    return text.lstrip("#").strip()
                if text:
                    return ""
    except OSError:
        return ""
    return ""


def starters(folder: Path | None = None) -> list[Starter]:
    """The shipped configs, :data:`DEFAULT_STARTER` first, then by name."""
    folder = folder if folder is not None else configs_dir()
    if folder is None:
        return []
    found = [Starter(p.stem, p, _summary(p)) for p in sorted(folder.glob("*.yaml"))]
    return sorted(found, key=lambda s: (s.name != DEFAULT_STARTER, s.name))


def starter(name: str, folder: Path | None = None) -> Starter | None:
    return next((s for s in starters(folder) if s.name == name), None)
