"""What a run is doing before its first training step, for the dashboard.

Before its first step a run spends seconds to minutes importing torch, building its data,
tokenizer and model, and starting Lightning. The worker writes each phase to ``phase.json`` in
the run's folder (a small file, replaced atomically; no database column), and the run's page
reads it while the run has no step yet.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

PHASE_FILE = "phase.json"

DATA = "building the data"
TOKENIZER = "building the tokenizer"
MODEL = "building the model"
FIRST_STEPS = "starting Lightning and the first steps"
STARTING = "starting the worker process (loading PyTorch)"
"""What a queued run, or a running one that has written no phase yet, is doing."""


@dataclass(frozen=True)
class Phase:
    name: str
    since: float
    """Epoch seconds at which the phase began."""

    def text(self, now: float | None = None) -> str:
        """``"building the data (4 s)"``."""
        seconds = max(0, int((now if now is not None else time.time()) - self.since))
        return f"{self.name} ({seconds} s)"


def set_phase(run_dir: Path, name: str) -> None:
    """Record that the run in ``run_dir`` has begun ``name``; never fails the run."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        tmp = run_dir / f".{PHASE_FILE}.tmp"
        tmp.write_text(json.dumps({"phase": name, "since": time.time()}), encoding="utf-8")
        os.replace(tmp, run_dir / PHASE_FILE)
    except OSError:
        pass


def read_phase(run_dir: Path) -> Phase | None:
    """The phase last recorded in ``run_dir``, or None."""
    try:
        data = json.loads((run_dir / PHASE_FILE).read_text(encoding="utf-8"))
        return Phase(str(data["phase"]), float(data["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
