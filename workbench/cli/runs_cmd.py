"""Commands that read runs: ``runs``, ``show`` and ``metrics``."""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import asdict
from typing import Any

import yaml

from workbench.cli.common import EXIT_OK, UserError, open_context, print_json, print_table
from workbench.store import RunRecord


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("runs", parents=[common], help="list runs, newest first")
    p.add_argument("--status", help="only runs with this status")
    p.add_argument("--stage", help="only runs of this stage")
    p.add_argument("--search", help="only runs whose name, stage or architecture contains this")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_runs)

    p = sub.add_parser("show", parents=[common], help="show one run")
    p.add_argument("run", help="run id or name")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_show)

    p = sub.add_parser(
        "metrics",
        parents=[common],
        help="a run's full metric history (table, JSON or CSV)",
        description="The full history of a run's metrics: a table with one row per step and "
        "one column per metric, or with --json / --csv one record per logged value (step, "
        "name, value, wall_time), as workbench.metrics() returns them in Python.",
    )
    p.add_argument("run", help="run id or name")
    p.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="NAME",
        help="only this metric, e.g. --metric val/loss (repeatable)",
    )
    formats = p.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="print JSON records")
    formats.add_argument("--csv", action="store_true", help="print CSV records")
    p.set_defaults(handler=cmd_metrics)


def run_summary(run: RunRecord, metrics: dict[str, float]) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "stage": run.stage,
        "architecture": run.architecture,
        "dataset": run.dataset,
        "tokenizer": run.tokenizer,
        "status": run.status,
        "parent": run.parent_id,
        "sweep": run.sweep_id,
        "step": run.step,
        "max_steps": run.max_steps,
        "created_at": run.created_at,
        "metrics": metrics,
    }


def _progress(run: RunRecord) -> str:
    return f"{run.step}/{run.max_steps}" if run.max_steps else str(run.step)


def cmd_runs(args: argparse.Namespace) -> int:
    ctx = open_context(args.home)
    runs = ctx.store.list_runs(status=args.status, stage=args.stage, text=args.search)
    last = ctx.store.last_metrics([r.id for r in runs])
    if args.json:
        print_json([run_summary(r, last.get(r.id, {})) for r in runs])
        return EXIT_OK
    rows = []
    for r in runs:
        m = last.get(r.id, {})
        loss = m.get("val/loss", m.get("train/loss"))
        rows.append(
            [
                r.id,
                r.name,
                r.stage,
                r.architecture,
                r.status,
                _progress(r),
                "" if loss is None else f"{loss:.4f}",
                r.parent_id or "",
            ]
        )
    print_table(["id", "name", "stage", "architecture", "status", "step", "loss", "parent"], rows)
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    ctx = open_context(args.home)
    store = ctx.store
    run = store.find_run(args.run)
    metrics = store.last_metrics([run.id]).get(run.id, {})
    artifacts = store.artifacts(run.id)
    samples = store.samples(run.id)
    children = store.children(run.id)
    if args.json:
        data = {k: v for k, v in asdict(run).items()}
        data["metrics"] = metrics
        data["artifacts"] = [asdict(a) for a in artifacts]
        data["samples"] = [asdict(s) for s in samples]
        data["children"] = [c.id for c in children]
        data["evaluations"] = [asdict(e) for e in store.evaluations(run.id)]
        print_json(data)
        return EXIT_OK
    print(f"run {run.id}: {run.name}")
    print(f"  status     {run.status} (step {_progress(run)})")
    print(
        f"  stage      {run.stage}   architecture {run.architecture}   dataset {run.dataset}"
        f"   tokenizer {run.tokenizer}"
    )
    print(
        f"  parent     {run.parent_id or '-'}   children {', '.join(str(c.id) for c in children) or '-'}"
    )
    print(f"  device     {run.device or '-'}   pid {run.pid or '-'}")
    print(
        f"  created    {run.created_at}   started {run.started_at or '-'}   finished {run.finished_at or '-'}"
    )
    if metrics:
        print("  metrics    " + "   ".join(f"{k} {v:.4g}" for k, v in sorted(metrics.items())))
    if artifacts:
        print("  artifacts")
        for a in artifacts:
            print(f"    {a.kind:<10} {a.path}  ({a.size} bytes, sha256 {a.sha256[:12]})")
    evaluations = store.evaluations(run.id)
    if evaluations:
        print("  evaluations")
        for e in evaluations:
            shown = "   ".join(
                f"{k} {v:.4g}" if isinstance(v, int | float) else f"{k} {v}"
                for k, v in sorted(e.metrics.items())
            )
            print(f"    #{e.id:<4} {e.name:<12} {e.status:<9} {shown}")
    # A stage's warnings are samples whose prompt is a bracketed tag, e.g. PPO's
    # "[reward-hacking sentinel]": show every one, not only the last sample.
    warnings = [s for s in samples if s.prompt.startswith("[") and s.prompt.endswith("]")]
    if warnings:
        print("  warnings")
        for w in warnings:
            print(f"    step {w.step}: {w.prompt} {w.text}")
    if samples:
        last = samples[-1]
        print(f"  last sample (step {last.step})")
        _print_text("prompt", last.prompt, keep="last")
        _print_text("output", last.text, keep="first")
    print("  config")
    for line in yaml.safe_dump(run.config, sort_keys=False).splitlines():
        print(f"    {line}")
    if run.error:
        print("  error")
        for line in run.error.rstrip().splitlines():
            print(f"    {line}")
    return EXIT_OK


SAMPLE_LINES = 8
"""Lines of a sample's prompt (its end) and of its output (its start) that ``show`` prints."""


def _print_text(label: str, text: str, *, keep: str) -> None:
    """``text`` under ``label`` as quoted lines: of a long text, the end (``keep="last"``, a
    prompt) or the start (``keep="first"``, an output); an empty text says so."""
    if not text.strip():
        print(f"    {label}  (empty)")
        return
    lines = text.splitlines()
    hidden = max(0, len(lines) - SAMPLE_LINES)
    out = [f"| {line}" for line in (lines[hidden:] if keep == "last" else lines[:SAMPLE_LINES])]
    if hidden and keep == "last":
        out.insert(0, f"({hidden} earlier line(s) not shown)")
    elif hidden:
        out.append(f"({hidden} more line(s) not shown)")
    for index, line in enumerate(out):
        print(f"    {label if index == 0 else ' ' * len(label)}  {line}")


def cmd_metrics(args: argparse.Namespace) -> int:
    ctx = open_context(args.home)
    run = ctx.store.find_run(args.run)
    records = ctx.store.metrics(run.id)
    names = sorted({m.name for m in records})
    unknown = [name for name in args.metric if name not in names]
    if unknown:
        logged = ", ".join(names) or "none yet"
        raise UserError(f"run {run.id} logged no metric {unknown[0]!r} (it logged: {logged})")
    if args.metric:
        records = [m for m in records if m.name in args.metric]
        names = [name for name in names if name in args.metric]
    rows = [asdict(m) for m in sorted(records, key=lambda m: (m.step, m.name))]
    if args.json:
        print_json(rows)
        return EXIT_OK
    if args.csv:
        writer = csv.DictWriter(
            sys.stdout, fieldnames=["step", "name", "value", "wall_time"], lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)
        return EXIT_OK
    if not rows:
        print(f"run {run.id} ({run.name}) has logged no metrics yet")
        return EXIT_OK
    by_step: dict[int, dict[str, float]] = {}
    for row in rows:
        by_step.setdefault(row["step"], {})[row["name"]] = row["value"]
    print_table(
        ["step", *names],
        [
            [step, *(_number(values.get(name)) for name in names)]
            for step, values in sorted(by_step.items())
        ],
    )
    return EXIT_OK


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"
