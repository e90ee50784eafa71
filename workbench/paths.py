"""Where the workbench keeps its data: one home folder holding the database and the artifacts.

The home is chosen by ``--home``, else ``$WORKBENCH_HOME``, else ``~/.workbench``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "WORKBENCH_HOME"
DEFAULT_HOME = Path("~/.workbench")


@dataclass(frozen=True)
class Paths:
    """The folders and files under one workbench home."""

    home: Path

    @property
    def database(self) -> Path:
        return self.home / "workbench.db"

    @property
    def artifacts(self) -> Path:
        return self.home / "artifacts"

    @property
    def cache(self) -> Path:
        return self.home / "cache"

    def run_dir(self, run_id: int) -> Path:
        return self.artifacts / "runs" / str(run_id)

    def ensure(self) -> Paths:
        for folder in (self.home, self.artifacts, self.cache):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def resolve_home(cli_home: str | os.PathLike[str] | None = None) -> Paths:
    """The home from the command line, the environment, or the default, in that order."""
    raw = cli_home or os.environ.get(HOME_ENV) or DEFAULT_HOME
    return Paths(Path(raw).expanduser().resolve())
