"""Copied as ``utils.py`` into every lm-eval task folder the workbench writes: it loads a task's
documents from the JSONL file beside it (``custom_dataset: !function utils.load_docs``), so the
folder works from anywhere and nothing is downloaded. Keep it free of workbench imports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def load_docs(data_file: str, **_: Any) -> dict[str, Any]:
    """The ``test`` split: one document per line of ``data_file`` (relative to this folder)."""
    import datasets

    path = Path(__file__).resolve().parent / data_file
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return {"test": datasets.Dataset.from_list(rows)}
