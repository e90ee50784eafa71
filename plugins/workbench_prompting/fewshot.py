"""The ``few-shot`` evaluation: zero-, one- and few-shot prompting of a causal LM (GPT-2/GPT-3).

For every prompt task, every held-out item (``extras["prompt_tasks"]``), every number of
demonstrations ``k`` in ``shots`` and every demo-sampling seed, a prompt is built in the corpus's
own format from ``k`` demonstrations drawn from ``extras["prompt_demos"]``; the model answers by
greedy generation up to the format's stop (a newline), and the answer scores 1 when it equals the
item's output (surrounding whitespace ignored). Only forward passes run; no parameter changes.

Metrics (``<k>`` an evaluated shot count, ``<task>`` a prompt task name):

* ``acc/k=<k>``: exact-match accuracy averaged over tasks (each task weighs the same), then
  over seeds; ``acc_std/k=<k>``: its standard deviation over seeds (0 with one seed, and at
  k=0, where no demonstrations are drawn);
* ``acc/<task>/k=<k>`` and ``acc_std/<task>/k=<k>``: the same for one task;
* with ``scoring: rank`` or ``both``, the same four families with prefix ``rank_acc``: the
  correct output ranked first by log-likelihood among ``choices`` candidates;
* ``truncated/k=<k>``: share of prompts longer than the context (their first tokens were cut);
* ``items/<task>`` and ``items``: held-out items scored; ``params``: the model's parameter count.

The first item's literal prompt and answer are stored for every ``k`` with the run's samples,
and every scored item (task, k, seed, item index, prompt, answer, target, correct) goes to
``ctx.log_items``, which stores it with the evaluation (``workbench items EVALUATION``).

A held-out item that carries its own ``demos`` (an episode of a per-prompt mapping task, or an
item of a user's ``task_file``) draws its demonstrations from them instead of the task's pool.
With ``task_file`` the file's tasks are evaluated instead of the corpus's (see
:mod:`workbench_prompting.task_file`); without ``tasks`` the corpus's own text tasks
(``prompt_format["tasks_in_text"]``) are evaluated.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from workbench.specs import EvaluationContext
from workbench_prompting.prompts import Item, PromptFormat, draw_demonstrations, prompt_extras
from workbench_prompting.scoring import continuation_logprobs, greedy_answers
from workbench_prompting.specs import (  # noqa: F401  (re-exported from their old home)
    DEFAULT_SHOTS,
    FEW_SHOT_SPEC,
    FewShotConfig,
)
from workbench_prompting.task_file import load_task_file, vocabulary_check


@dataclass(frozen=True)
class Query:
    """One prompt to score: ``task``'s held-out item ``index`` with ``k`` demos of ``seed``."""

    task: str
    index: int
    k: int
    seed: int
    prompt: str
    output: str


def build_queries(
    heldout: dict[str, list[Item]],
    demos: dict[str, list[Item]],
    fmt: PromptFormat,
    *,
    tasks: Iterable[str],
    shots: Iterable[int],
    seeds: int,
    limit: int | None,
    instruction: bool,
    prefix: str = "",
    offset: int = 0,
) -> list[Query]:
    """Every prompt of the evaluation, in task, item, k, seed order.

    At k=0 no demonstration is drawn, so only seed 0 is built: other seeds would repeat it.
    """
    shots = sorted(set(shots))
    queries: list[Query] = []
    for task in tasks:
        held_inputs = {item["input"] for item in heldout[task]}
        text = fmt.instruction_for(task) if instruction else None
        for index, item in _selected(heldout[task], offset, limit):
            own = item.get("demos")
            # An item with its own demonstrations (an episode of a per-prompt mapping) draws
            # from them, and its query may recur among them: that is what the task tests.
            pool, exclude = (
                (own, set()) if own is not None
                else (demos.get(task, []), held_inputs | {item["input"]})
            )  # fmt: skip
            for k in shots:
                for seed in range(seeds if k > 0 else 1):
                    chosen = draw_demonstrations(
                        pool, k, seed=seed, task=task, index=index, exclude=exclude
                    )
                    prompt = prefix + fmt.prompt(chosen, item["input"], text)
                    queries.append(Query(task, index, k, seed, prompt, item["output"]))
    return queries


def default_tasks(dataset: object, heldout: dict[str, list[Item]]) -> list[str]:
    """The tasks evaluated when none are named: those the corpus's text demonstrates
    (``prompt_format["tasks_in_text"]``), else every task with held-out items."""
    in_text = getattr(dataset, "extras", {}).get("prompt_format", {}).get("tasks_in_text")
    chosen = [t for t in in_text or [] if t in heldout]
    return chosen or list(heldout)


def _selected(items: list[Item], offset: int, limit: int | None) -> list[tuple[int, Item]]:
    """``(index, item)`` of the held-out items an evaluation scores (index into the full list,
    so an item's demonstrations do not depend on ``offset`` and ``limit``)."""
    end = None if limit is None else offset + limit
    return list(enumerate(items))[offset:end]


def _logged(q: Query, answer: str, correct: bool) -> dict[str, object]:
    """One scored item as ``EvaluationContext.log_items`` takes it."""
    return {
        "task": q.task, "k": q.k, "seed": q.seed, "item": q.index, "prompt": q.prompt,
        "answer": answer, "target": q.output, "correct": correct,
    }  # fmt: skip


def _distractors(task: str, index: int, correct: str, outputs: list[str], count: int) -> list[str]:
    others = sorted({o for o in outputs if o != correct})
    rng = random.Random(f"workbench-few-shot/choices/{task}/{index}")
    return rng.sample(others, min(count, len(others)))


def summarise(
    correct: dict[tuple[str, int, int], list[bool]],
    tasks: list[str],
    shots: list[int],
    seeds: int,
    prefix: str,
) -> dict[str, float]:
    """Flat metrics from per-(task, k, seed) correctness lists (see the module docstring)."""
    metrics: dict[str, float] = {}
    for k in shots:
        used = range(seeds if k > 0 else 1)
        per_seed = []
        for seed in used:
            accs = [statistics.fmean(correct[(t, k, seed)]) for t in tasks if correct[(t, k, seed)]]
            per_seed.append(statistics.fmean(accs) if accs else 0.0)
        metrics[f"{prefix}/k={k}"] = statistics.fmean(per_seed)
        metrics[f"{prefix}_std/k={k}"] = statistics.stdev(per_seed) if len(per_seed) > 1 else 0.0
        for task in tasks:
            values = [
                statistics.fmean(correct[(task, k, s)]) for s in used if correct[(task, k, s)]
            ]
            metrics[f"{prefix}/{task}/k={k}"] = statistics.fmean(values) if values else 0.0
            metrics[f"{prefix}_std/{task}/k={k}"] = (
                statistics.stdev(values) if len(values) > 1 else 0.0
            )
    return metrics


def evaluate_few_shot(
    ctx: EvaluationContext, progress: Callable[[int, int], None] | None = None
) -> dict[str, float]:
    cfg: FewShotConfig = ctx.config  # type: ignore[assignment]
    progress = progress or ctx.progress
    tokenizer, model = ctx.tokenizer, ctx.model
    if cfg.task_file:
        heldout = load_task_file(cfg.task_file, vocabulary_check(tokenizer))
        demos: dict[str, list[Item]] = {}
        extras = getattr(ctx.dataset, "extras", None) or {}
        fmt = PromptFormat.from_extras(extras.get("prompt_format", {}))
        # The file's tasks are the user's own: no corpus instruction line names them.
        fmt = replace(fmt, instructions={})
        tasks = list(cfg.tasks) if cfg.tasks else list(heldout)
    else:
        heldout, demos, fmt = prompt_extras(ctx.dataset)
        tasks = list(cfg.tasks) if cfg.tasks else default_tasks(ctx.dataset, heldout)
    unknown = [t for t in tasks if t not in heldout]
    if unknown:
        raise ValueError(f"unknown prompt task(s) {unknown}; this corpus has {list(heldout)}")
    tasks = [t for t in tasks if _selected(heldout[t], cfg.offset, cfg.limit)]
    if not tasks:
        raise ValueError("no held-out items to evaluate (check offset and limit)")
    prefix = fmt.document_separator if cfg.document_separator else ""
    queries = build_queries(
        heldout, demos, fmt, tasks=tasks, shots=cfg.shots, seeds=cfg.seeds,
        limit=cfg.limit, instruction=cfg.instruction, prefix=prefix, offset=cfg.offset,
    )  # fmt: skip
    metrics: dict[str, float] = {}

    if cfg.scoring in ("generate", "both"):
        longest = max(len(tokenizer.encode(fmt.expected(q.output))) for q in queries)
        answers = greedy_answers(
            model,
            tokenizer,
            [q.prompt for q in queries],
            max_new_tokens=cfg.max_new_tokens or longest + 2,
            stop=fmt.stop,
            batch_size=cfg.batch_size,
            progress=progress,
        )
        correct: dict[tuple[str, int, int], list[bool]] = {
            (t, k, s): [] for t in tasks for k in cfg.shots for s in range(cfg.seeds)
        }
        truncated: dict[int, list[bool]] = {k: [] for k in cfg.shots}
        logged: list[dict[str, object]] = []
        for q in queries:
            answer = answers[q.prompt]
            right = answer.text.strip() == q.output.strip()
            correct[(q.task, q.k, q.seed)].append(right)
            truncated[q.k].append(answer.truncated)
            logged.append(_logged(q, answer.text, right))
        ctx.log_items(logged)
        metrics.update(summarise(correct, tasks, cfg.shots, cfg.seeds, "acc"))
        for k in cfg.shots:
            metrics[f"truncated/k={k}"] = statistics.fmean(truncated[k])
        # The first item of the first task, per k, for a person to read.
        for k in cfg.shots:
            first = next(q for q in queries if q.k == k)
            ctx.log_sample(k, first.prompt, answers[first.prompt].text)

    if cfg.scoring in ("rank", "both"):
        outputs = {t: [i["output"] for i in (*heldout[t], *demos.get(t, []))] for t in tasks}
        pairs: list[tuple[str, str]] = []
        spans: list[tuple[Query, list[str]]] = []
        for q in queries:
            candidates = [q.output, *_distractors(q.task, q.index, q.output, outputs[q.task],
                                                  cfg.choices - 1)]  # fmt: skip
            spans.append((q, candidates))
            pairs += [(q.prompt, fmt.expected(c) + fmt.stop) for c in candidates]
        scores = continuation_logprobs(model, tokenizer, pairs, batch_size=cfg.batch_size)
        ranked: dict[tuple[str, int, int], list[bool]] = {
            (t, k, s): [] for t in tasks for k in cfg.shots for s in range(cfg.seeds)
        }
        at = 0
        rank_logged: list[dict[str, object]] = []
        for q, candidates in spans:
            row = scores[at : at + len(candidates)]
            at += len(candidates)
            # The correct output is candidate 0; a tie does not count as ranked first.
            right = all(row[0] > s for s in row[1:])
            ranked[(q.task, q.k, q.seed)].append(right)
            best = max(range(len(row)), key=lambda i: (row[i], -i))
            rank_logged.append(_logged(q, candidates[best], right))
        if cfg.scoring == "rank":
            # With `both`, the generated answers are the ones logged.
            ctx.log_items(rank_logged)
        metrics.update(summarise(ranked, tasks, cfg.shots, cfg.seeds, "rank_acc"))

    for task in tasks:
        metrics[f"items/{task}"] = float(len(_selected(heldout[task], cfg.offset, cfg.limit)))
    metrics["items"] = float(sum(metrics[f"items/{t}"] for t in tasks))
    metrics["params"] = float(sum(p.numel() for p in model.parameters()))
    return metrics
