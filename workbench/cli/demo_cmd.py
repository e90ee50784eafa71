"""``workbench demo``: the line from the Transformer to RLHF as one chain of ordinary runs.

The recipe is :mod:`workbench.demo.recipe`; the steps run through :mod:`workbench.demo.execute`.
At the end it prints the lineage, each claim's verdict and the dashboard command.
"""

from __future__ import annotations

import argparse
import signal
import sys

from workbench.cli.common import EXIT_CANCELLED, EXIT_FAILED, EXIT_OK, UserError, open_context
from workbench.demo.recipe import DEFAULT_MINUTES, recipe, step_keys


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "demo",
        parents=[common],
        help="run the whole lineage, Transformer to RLHF, in one command",
        description="Pre-train a GPT on the built-in corpus, fine-tune it GPT-1 style (and a twin "
        "from scratch), prompt it zero- and few-shot against a fine-tuned copy, sample comparison "
        "pairs, label them with a simulated annotator, train a reward model, PPO and DPO, judge "
        "them, and train the seq2seq Transformer beside them: ordinary runs in one lineage. What "
        "already succeeded with the same config is reused, so a second call continues where the "
        "first stopped (Ctrl-C cancels cleanly).",
    )
    p.add_argument(
        "--minutes",
        type=float,
        default=DEFAULT_MINUTES,
        help=f"time budget on 2 CPU cores; scales the step counts (default {DEFAULT_MINUTES:g})",
    )
    p.add_argument(
        "--from",
        dest="start",
        choices=step_keys(),
        metavar="STAGE",
        help="start at this stage; earlier ones use the newest succeeded run of their name "
        f"(stages: {', '.join(step_keys())})",
    )
    p.add_argument("--list", action="store_true", help="list the stages and stop")
    p.set_defaults(handler=cmd_demo)


def _interrupt_on_signals() -> None:
    """Ctrl-C, and SIGTERM (a scheduler stopping the demo), cancel cleanly; SIGINT too when a
    shell started the demo with it ignored (in the background)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


def _home_option(args: argparse.Namespace) -> str:
    return f" --home {args.home}" if args.home else ""


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        steps = recipe(args.minutes)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.list:
        for step in steps:
            print(f"{step.key:<30} {step.kind:<9} {step.title}")
        return EXIT_OK

    from workbench.demo.execute import Demo, DemoCancelled, DemoError, log_path
    from workbench.demo.progress import Display

    ctx = open_context(args.home)
    estimate = sum(step.seconds for step in steps) / 60
    log = log_path(ctx.paths)
    print(
        f"workbench demo: {len(steps)} stages, about {estimate:.0f} min on 2 CPU cores "
        f"(estimated); commands' output: {log}",
        flush=True,
    )
    _interrupt_on_signals()
    display = Display(steps)
    with open(log, "a", encoding="utf-8") as handle:
        demo = Demo(ctx.paths, ctx.store, ctx.registry, steps, display=display, log=handle)
        try:
            demo.run(args.start)
        except (DemoCancelled, KeyboardInterrupt) as exc:
            display.close()
            what = str(exc) or "stopped"
            print(f"\ncancelled: {what}", file=sys.stderr)
            print(f"run `workbench demo{_home_option(args)}` again to continue where it stopped",
                  file=sys.stderr)  # fmt: skip
            return EXIT_CANCELLED
        except DemoError as exc:
            display.close()
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        display.close()
    _summary(ctx, demo, args)
    return EXIT_OK


def _summary(ctx, demo, args: argparse.Namespace) -> None:
    from workbench.claims import check_claims

    print("\nThe lineage (run id · name · stage · parent):")
    shown: set[int] = set()
    for run_id in demo.ids.values():
        if run_id in shown:
            continue
        shown.add(run_id)
        run = ctx.store.get_run(run_id)
        parent = f"← {run.parent_id}" if run.parent_id else "(root)"
        print(f"  {run.id:>4} · {run.name:<34} {run.stage:<13} {parent}")
    print("\nClaims against every run of this home:")
    for panel in check_claims(ctx.registry, ctx.store):
        print(f"  {panel.verdict:<17} {panel.paper.split(' (')[0]}: {panel.name} — "
              f"{panel.result.measured}")  # fmt: skip
    home = _home_option(args)
    print(
        f"\nSee it in the dashboard (Runs, Compare, Prompting, Label, Claims): workbench ui{home}"
    )
    print(f"or as one offline page: workbench report{home} -o claims.html")
