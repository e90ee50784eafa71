"""lm-evaluation-harness tasks built from the synthetic corpus's prompt tasks.

One task per number of demonstrations ``k`` (``workbench_prompts_k0``, ``workbench_prompts_k1``,
...), whose documents are the exact prompts the ``few-shot`` evaluation builds (the same
held-out items, the same demonstrations drawn with seed 0, the same instruction line and document
separator) with the expected answer. lm-eval then only generates greedily up to the format's stop
string and scores exact match ignoring surrounding whitespace, as ``few-shot`` does, so the two
evaluations can be compared item by item.

A task folder holds, per ``k``, ``workbench_prompts_k<k>.yaml`` and ``.jsonl``, plus ``utils.py``
(:mod:`workbench_hf.lm_eval_task_utils`) that loads the JSONL beside it. The shipped folder
``shipped_lm_eval_tasks/`` was written by :func:`main` for the quickstart corpus (``python -m
workbench_hf.lm_eval_tasks``; a test checks it is up to date).
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from workbench_prompting.fewshot import build_queries
from workbench_prompting.prompts import prompt_extras

__all__ = [
    "SHIPPED_TASKS",
    "TASK_PREFIX",
    "prompt_documents",
    "task_name",
    "write_task_folder",
]

TASK_PREFIX = "workbench_prompts"
SHIPPED_TASKS = Path(__file__).resolve().parent / "shipped_lm_eval_tasks"
"""The shipped task folder (the quickstart corpus's prompt tasks, k = 0 and 1)."""

SHIPPED_CORPUS = {"size_chars": 1_000_000}
SHIPPED_SEED = 1337
SHIPPED_LIMIT = 25
SHIPPED_SHOTS = (0, 1)


def task_name(k: int) -> str:
    """The lm-eval task of the prompts with ``k`` demonstrations."""
    return f"{TASK_PREFIX}_k{k}"


def prompt_documents(
    dataset: Any,
    *,
    shots: Iterable[int],
    tasks: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
    instruction: bool = True,
    document_separator: bool = True,
) -> tuple[dict[int, list[dict[str, Any]]], Any]:
    """``({k: documents}, prompt format)`` of a prompt corpus: every query ``few-shot`` builds
    with one demo-sampling seed, as ``{"task", "index", "k", "prompt", "answer"}``."""
    heldout, demos, fmt = prompt_extras(dataset)
    chosen = list(tasks) if tasks else list(heldout)
    unknown = [t for t in chosen if t not in heldout]
    if unknown:
        raise ValueError(f"unknown prompt task(s) {unknown}; this corpus has {list(heldout)}")
    prefix = fmt.document_separator if document_separator else ""
    queries = build_queries(
        heldout, demos, fmt, tasks=chosen, shots=shots, seeds=1, limit=limit,
        instruction=instruction, prefix=prefix, offset=offset,
    )  # fmt: skip
    documents: dict[int, list[dict[str, Any]]] = {k: [] for k in sorted(set(shots))}
    for q in queries:
        documents[q.k].append(
            {"task": q.task, "index": q.index, "k": q.k, "prompt": q.prompt, "answer": q.output}
        )
    return documents, fmt


def _task_yaml(name: str, data_file: str, stop: str, max_gen_toks: int) -> str:
    """One task's YAML (written by hand: lm-eval's ``!function`` tag is not plain YAML)."""
    config = {
        "task": name,
        "dataset_kwargs": {"data_file": data_file},
        "test_split": "test",
        "output_type": "generate_until",
        "doc_to_text": "prompt",
        "doc_to_target": "answer",
        "generation_kwargs": {
            "until": [stop] if stop else [],
            "do_sample": False,
            "temperature": 0.0,
            "max_gen_toks": max_gen_toks,
        },
        "metric_list": [
            {
                "metric": "exact_match",
                "aggregation": "mean",
                "higher_is_better": True,
                # few-shot compares answer.strip() with output.strip()
                "regexes_to_ignore": [r"^\s+", r"\s+$"],
            }
        ],
        "metadata": {"version": 1},
    }
    lines = [
        "# Written by workbench_hf.lm_eval_tasks: the few-shot evaluation's own prompts.",
        "custom_dataset: !function utils.load_docs",
    ]
    lines += [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in config.items()]
    return "\n".join(lines) + "\n"


def write_task_folder(
    folder: Path, documents: dict[int, list[dict[str, Any]]], *, stop: str, max_gen_toks: int
) -> list[str]:
    """Write one lm-eval task per ``k`` into ``folder``; returns the task names."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(__file__).with_name("lm_eval_task_utils.py"), folder / "utils.py")
    names = []
    for k, docs in sorted(documents.items()):
        name = task_name(k)
        data_file = f"{name}.jsonl"
        lines = [json.dumps(doc, ensure_ascii=False) for doc in docs]
        (folder / data_file).write_text("\n".join(lines) + "\n", encoding="utf-8")
        (folder / f"{name}.yaml").write_text(
            _task_yaml(name, data_file, stop, max_gen_toks), encoding="utf-8"
        )
        names.append(name)
    return names


def answer_budget(tokenize: Any, documents: dict[int, list[dict[str, Any]]], fmt: Any) -> int:
    """Answer tokens to generate, as ``few-shot`` chooses them: the longest expected answer + 2."""
    answers = {doc["answer"] for docs in documents.values() for doc in docs}
    return max(len(tokenize(fmt.expected(answer))) for answer in answers) + 2


def _shipped_dataset() -> Any:
    from workbench.registry import load_registry
    from workbench.specs import DatasetContext

    spec = load_registry().dataset("synthetic")
    config = spec.config(**SHIPPED_CORPUS)
    return spec.factory(config, DatasetContext(cache_dir=Path("."), seed=SHIPPED_SEED))


def build_shipped(folder: Path) -> list[str]:
    """Write the shipped task folder's content (quickstart corpus, 25 items per task, k = 0, 1;
    answers budgeted in characters, the quickstart model's tokens) into ``folder``."""
    documents, fmt = prompt_documents(_shipped_dataset(), shots=SHIPPED_SHOTS, limit=SHIPPED_LIMIT)
    budget = answer_budget(list, documents, fmt)
    return write_task_folder(folder, documents, stop=fmt.stop, max_gen_toks=budget)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Rewrite the shipped lm-eval task folder.")
    parser.add_argument("--out", type=Path, default=SHIPPED_TASKS)
    args = parser.parse_args(argv)
    for name in build_shipped(args.out):
        print(name)


if __name__ == "__main__":
    main()
