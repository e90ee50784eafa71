"""``workbench items EVALUATION``: the scored items an evaluation logged, filtered by task and k.

Evaluations that log their items (``few-shot`` does: every prompt, the model's answer, the
target and whether it was correct) keep them with the evaluation's row; ``workbench show RUN``
lists a run's evaluations and their ids.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict

from workbench.cli.common import EXIT_OK, open_context, print_json, print_table


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "items",
        parents=[common],
        help="show the items an evaluation scored",
        description="Show the items EVALUATION scored (prompt, answer, target, correct), "
        "optionally one task's, one k's, or only the wrong or right ones.",
    )
    p.add_argument("evaluation", type=int, help="evaluation id (see `workbench show RUN`)")
    p.add_argument("--task", help="only this task")
    p.add_argument("--k", type=int, help="only prompts with this many demonstrations")
    verdict = p.add_mutually_exclusive_group()
    verdict.add_argument("--wrong", action="store_true", help="only the items scored wrong")
    verdict.add_argument("--right", action="store_true", help="only the items scored right")
    p.add_argument("--limit", type=int, default=None, help="at most this many items")
    p.add_argument("--json", action="store_true", help="print JSON (prompts in full)")
    p.set_defaults(handler=cmd_items)


def _short(text: str, width: int = 60) -> str:
    flat = text.replace("\n", "\\n")
    return flat if len(flat) <= width else "…" + flat[-(width - 1) :]


def cmd_items(args: argparse.Namespace) -> int:
    ctx = open_context(args.home)
    evaluation = ctx.store.evaluation(args.evaluation)
    correct = False if args.wrong else True if args.right else None
    items = ctx.store.evaluation_items(
        evaluation.id, task=args.task, k=args.k, correct=correct, limit=args.limit
    )
    if args.json:
        print_json([asdict(item) for item in items])
        return EXIT_OK
    print(
        f"evaluation {evaluation.id} ({evaluation.name}) of run {evaluation.run_id}: "
        f"{len(items)} item(s)"
    )
    rows = [
        (
            i.task,
            i.k,
            i.seed,
            i.item,
            _short(i.prompt),
            i.answer,
            i.target,
            "✓" if i.correct else "✗",
        )
        for i in items
    ]
    print_table(["task", "k", "seed", "item", "prompt (end)", "answer", "target", "ok"], rows)
    return EXIT_OK
