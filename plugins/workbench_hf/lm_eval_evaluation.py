"""The ``lm-eval`` evaluation: lm-evaluation-harness on a run, through its Hugging Face export.

The run is exported to a temporary folder (``workbench export --format hf``), loaded back with
``transformers`` (offline) and scored by lm-eval's ``HFLM`` on local task YAMLs:

- by default, the run's own synthetic prompt tasks, written as lm-eval tasks
  (:mod:`workbench_hf.lm_eval_tasks`): the ``few-shot`` evaluation's exact prompts for each ``k``
  in ``shots``, scored by lm-eval's greedy generation and exact match. Metrics: ``acc/k=<k>``
  (averaged over prompt tasks, each weighing the same, as ``few-shot`` does) and
  ``acc/<task>/k=<k>``, beside lm-eval's own ``lm_eval/workbench_prompts_k<k>/exact_match``;
- with ``tasks``, any lm-eval tasks found in ``include_path`` (default: the shipped folder, the
  quickstart corpus's prompts): every numeric metric as ``lm_eval/<task>/<metric>``.

Nothing is downloaded: the model and tokenizer come from the export, tasks from local folders.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workbench.specs import EvaluationContext, ExportContext
from workbench_hf import deps
from workbench_hf.config import HFExportConfig, LmEvalConfig
from workbench_hf.exporter import export_hf
from workbench_hf.lm_eval_tasks import SHIPPED_TASKS, answer_budget, prompt_documents
from workbench_hf.lm_eval_tasks import write_task_folder as write_tasks
from workbench_hf.specs import LM_EVAL_SPEC

__all__ = ["LM_EVAL_SPEC", "LmEvalConfig", "evaluate_lm_eval"]


def _offline() -> None:
    # Belt and braces: the model, tokenizer and tasks are all local, and must stay so.
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(name, "1")


def _export(ctx: EvaluationContext, folder: Path) -> None:
    export_hf(
        ExportContext(
            config=HFExportConfig(heads=False),
            run=ctx.run,
            run_config=ctx.run_config,
            model=ctx.model,
            tokenizer=ctx.tokenizer,
            heads={},
            out_dir=folder,
        )
    )


def _run_lm_eval(
    model_dir: Path, tasks: list[str], include_path: Path, cfg: LmEvalConfig, limit: int | None
) -> dict[str, Any]:
    _offline()
    transformers = deps.transformers("the lm-eval evaluation")
    deps.require("lm_eval", "the lm-eval evaluation")
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    model = transformers.AutoModelForCausalLM.from_pretrained(
        str(model_dir), local_files_only=True
    ).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)

    class WorkbenchHFLM(HFLM):
        """``HFLM`` that also takes a tokenizer without an end-of-text token (a ``char`` run
        without special tokens): there is then no end-of-text stop string to add."""

        def tok_decode(self, tokens: Any, skip_special_tokens: bool = True) -> Any:
            if tokens is None:
                return None
            return super().tok_decode(tokens, skip_special_tokens=skip_special_tokens)

    lm = WorkbenchHFLM(
        pretrained=model,
        tokenizer=tokenizer,
        batch_size=cfg.batch_size,
        max_length=int(model.config.n_positions) if hasattr(model.config, "n_positions") else None,
        device="cpu",
        # A tokenizer with neither BOS nor EOS (char without special tokens): lm-eval still
        # wants a prefix token (before an empty loglikelihood context); the first id will do.
        prefix_token_id=0
        if tokenizer.bos_token_id is None and tokenizer.eos_token_id is None
        else None,
    )
    manager = TaskManager(include_path=str(include_path), include_defaults=False)
    unknown = [t for t in tasks if t not in manager.all_tasks]
    if unknown:
        raise ValueError(
            f"lm-eval task(s) {unknown} not found in {include_path} "
            f"(found: {', '.join(manager.all_tasks) or 'none'})"
        )
    results = simple_evaluate(
        model=lm,
        tasks=tasks,
        num_fewshot=cfg.num_fewshot,
        limit=limit,
        task_manager=manager,
        log_samples=True,
        bootstrap_iters=0,
    )
    if results is None:
        raise RuntimeError("lm-eval returned no results")
    return results


def _task_metrics(results: dict[str, Any]) -> dict[str, float]:
    """lm-eval's numeric metrics as ``lm_eval/<task>/<metric>`` (filter ``none`` left out)."""
    metrics: dict[str, float] = {}
    for task, values in results.get("results", {}).items():
        for key, value in values.items():
            if "," not in key or key.split(",")[0].endswith("_stderr"):
                continue
            metric, filter_name = key.split(",", 1)
            if isinstance(value, int | float) and not isinstance(value, bool):
                suffix = metric if filter_name == "none" else f"{metric}/{filter_name}"
                metrics[f"lm_eval/{task}/{suffix}"] = float(value)
    return metrics


def _prompt_task_metrics(results: dict[str, Any], names: dict[int, str]) -> dict[str, float]:
    """``acc/k=<k>`` and ``acc/<task>/k=<k>`` from lm-eval's per-document results."""
    metrics: dict[str, float] = {}
    for k, name in names.items():
        per_task: dict[str, list[float]] = defaultdict(list)
        for sample in results["samples"][name]:
            per_task[sample["doc"]["task"]].append(float(sample["exact_match"]))
        for task, values in per_task.items():
            metrics[f"acc/{task}/k={k}"] = statistics.fmean(values)
        metrics[f"acc/k={k}"] = statistics.fmean(statistics.fmean(v) for v in per_task.values())
    return metrics


def evaluate_lm_eval(ctx: EvaluationContext) -> dict[str, float]:
    cfg: LmEvalConfig = ctx.config  # type: ignore[assignment]
    extras = getattr(ctx.dataset, "extras", None)
    if not cfg.tasks and (not isinstance(extras, Mapping) or "prompt_tasks" not in extras):
        raise ValueError(
            "lm-eval: this run's dataset has no prompt tasks to build lm-eval tasks from; "
            "evaluate on a prompt corpus (--dataset '{name: synthetic, ...}') or name "
            "lm-eval tasks of a local folder (--set 'tasks=[...]' --set include_path=DIR)"
        )
    include = Path(cfg.include_path).expanduser() if cfg.include_path else SHIPPED_TASKS
    if cfg.tasks and not include.is_dir():
        raise ValueError(f"lm-eval: include_path {include} is not a folder")
    with tempfile.TemporaryDirectory(prefix="workbench-lm-eval-") as tmp:
        model_dir = Path(tmp) / "model"
        model_dir.mkdir()
        _export(ctx, model_dir)
        if cfg.tasks:
            results = _run_lm_eval(model_dir, list(cfg.tasks), include, cfg, cfg.limit)
            return _task_metrics(results)
        documents, fmt = prompt_documents(
            ctx.dataset,
            shots=cfg.shots,
            tasks=cfg.prompt_tasks,
            limit=cfg.limit,
            offset=cfg.offset,
            instruction=cfg.instruction,
            document_separator=cfg.document_separator,
        )
        budget = answer_budget(ctx.tokenizer.encode, documents, fmt)
        task_dir = Path(tmp) / "tasks"
        names = write_tasks(task_dir, documents, stop=fmt.stop, max_gen_toks=budget)
        results = _run_lm_eval(model_dir, names, task_dir, cfg, None)
        by_k = dict(zip(sorted(documents), names, strict=True))
        return {**_prompt_task_metrics(results, by_k), **_task_metrics(results)}
