"""Running the real demo recipe with ``--minutes 1`` in a fresh home (the slow demo test and the
Claims browser test share it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def demo_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    # One thread per process: on a shared CPU, two threads per run are many times slower.
    return {**env, "WORKBENCH_HOME": str(home), "OMP_NUM_THREADS": "1"}


def run_tiny_demo(home: Path) -> subprocess.CompletedProcess:
    """``workbench demo --minutes 1`` in ``home``; its exit code, output and errors."""
    return subprocess.run(
        [sys.executable, "-m", "workbench.cli", "demo", "--minutes", "1"],
        env=demo_env(home),
        capture_output=True,
        text=True,
        timeout=1800,
    )
