"""Commands that start or stop work: ``run``, ``sweep``, ``cancel``, ``resume``, ``generate``.

The store, the config and the plugins are imported inside the commands, so that ``workbench run``
starts its worker before importing them (the worker's start is on the way to the first step).
"""

from __future__ import annotations

import argparse
import sys


def add_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "run",
        parents=[common],
        help="run a config in the foreground",
        description="Validate CONFIG, record the run and train it in a worker "
        "process, showing a progress bar. Ctrl-C checkpoints and stops.",
    )
    p.add_argument("config", help="a run config YAML file")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set stage.lr=3e-4 (repeatable)",
    )
    p.add_argument(
        "--detach", action="store_true", help="start the run in the background and return"
    )
    p.add_argument(
        "--create-only",
        action="store_true",
        help="record the run as queued and print its id without starting it (to launch the "
        "worker yourself, e.g. under torchrun or SLURM)",
    )
    p.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved config as YAML (every default filled in, presets applied, "
        "--set overrides included) and exit: nothing is recorded or run",
    )
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser(
        "sweep",
        parents=[common],
        help="run a grid or list of variants of a config",
        description="Expand CONFIG with --grid (cartesian product) or --case "
        "(explicit list) overrides; every variant is validated before "
        "any run is recorded; runs execute at most --max-parallel at once.",
    )
    p.add_argument("config")
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="vary KEY over the values (repeat for more axes)",
    )
    p.add_argument(
        "--case",
        action="append",
        default=[],
        metavar="'K=V K2=V2'",
        help="one variant as space-separated overrides (repeatable)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override the base config",
    )
    p.add_argument("--max-parallel", type=int, default=2, help="runs at once (default 2)")
    p.set_defaults(handler=cmd_sweep)

    p = sub.add_parser(
        "cancel",
        parents=[common],
        help="cancel a queued or running run",
        description="Send SIGTERM: the run saves a checkpoint and ends cancelled.",
    )
    p.add_argument("run", help="run id or name")
    p.add_argument("--wait", action="store_true", help="wait until the run has stopped")
    p.set_defaults(handler=cmd_cancel)

    p = sub.add_parser(
        "resume", parents=[common], help="continue a stopped run from its checkpoint"
    )
    p.add_argument("run", help="run id or name")
    p.add_argument("--detach", action="store_true", help="resume in the background and return")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="trainer.K=V",
        help="change a trainer option, e.g. --set trainer.devices=1 (repeatable)",
    )
    p.set_defaults(handler=cmd_resume)

    p = sub.add_parser("generate", parents=[common], help="sample text from a finished run")
    p.add_argument("run", help="run id or name")
    p.add_argument("--prompt", required=True)
    p.add_argument("--max-new-tokens", type=int, default=200)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.set_defaults(handler=cmd_generate)


def _start(ctx, run_id: int, *, resume: bool, detach: bool) -> int:
    from workbench.cli.common import EXIT_OK
    from workbench.runner import launcher
    from workbench.runner.startup import command_started_at

    began = command_started_at()  # the worker's startup_s counts from this command's start
    if detach:
        proc = launcher.spawn(ctx.paths, run_id, resume=resume, store=ctx.store, started_at=began)
        print(
            f"run {run_id} started in the background (pid {proc.pid}); "
            f"log: {ctx.paths.run_dir(run_id) / 'run.log'}"
        )
        return EXIT_OK
    proc = launcher.spawn(
        ctx.paths, run_id, resume=resume, foreground=True, store=ctx.store, started_at=began
    )
    return _wait(ctx, run_id, proc)


def _wait(ctx, run_id: int, proc) -> int:
    from workbench.cli.common import STATUS_EXIT
    from workbench.runner import launcher

    status = launcher.wait_foreground(ctx.store, run_id, proc)
    run = ctx.store.get_run(run_id)
    print(f"run {run_id} {status} at step {run.step}")
    if status == "failed" and run.error:
        print(run.error.rstrip().splitlines()[-1], file=sys.stderr)
    return STATUS_EXIT.get(status, 1)


def cmd_run(args: argparse.Namespace) -> int:
    if args.print_config:
        import yaml

        from workbench.cli.common import EXIT_OK
        from workbench.config import load_config
        from workbench.registry import load_registry

        resolved = load_config(args.config, load_registry(), args.overrides)
        sys.stdout.write(yaml.safe_dump(resolved.to_dict(), sort_keys=False, allow_unicode=True))
        return EXIT_OK
    from workbench.paths import resolve_home
    from workbench.runner.prestart import prestart
    from workbench.runner.startup import command_started_at

    worker = None
    if not (args.detach or args.create_only):
        # The foreground worker starts importing now, while this process validates the config.
        paths = resolve_home(args.home).ensure()
        worker = prestart(paths, started_at=command_started_at())
    try:
        from workbench.cli.common import EXIT_OK, open_context
        from workbench.config import load_config
        from workbench.config_warnings import config_warnings, format_warnings
        from workbench.runner import launcher

        ctx = open_context(args.home)
        resolved = load_config(args.config, ctx.registry, args.overrides)
        if warnings := config_warnings(resolved):  # valid but senseless: say so, run anyway
            print(format_warnings(warnings), file=sys.stderr, flush=True)
        run_id = launcher.create_run(ctx.store, ctx.registry, resolved)
    except BaseException:
        if worker is not None:
            launcher.abandon(worker)
        raise
    print(f"run {run_id}: {resolved.name}", flush=True)
    if args.create_only:
        ctx.store.update_run(run_id, pid=None)  # no owner: a worker started elsewhere claims it
        print("start it with: python " + " ".join(launcher.worker_command(ctx.paths, run_id)[1:]))
        return EXIT_OK
    if worker is not None and launcher.hand_over(worker, ctx.store, run_id):
        return _wait(ctx, run_id, worker)
    return _start(ctx, run_id, resume=False, detach=args.detach)


def cmd_sweep(args: argparse.Namespace) -> int:
    from workbench.cli.common import EXIT_OK, UserError, open_context
    from workbench.config import load_yaml
    from workbench.runner import queue

    ctx = open_context(args.home)
    if args.max_parallel < 1:
        raise UserError("--max-parallel must be at least 1")
    from workbench.config import apply_overrides

    base = apply_overrides(load_yaml(args.config), args.overrides)
    variants = queue.parse_grid(args.grid) + queue.parse_cases(args.case)
    configs = queue.expand(base, variants, ctx.registry)
    sweep_id, run_ids = queue.create_sweep(
        ctx.store, ctx.registry, base, configs, args.max_parallel
    )
    print(
        f"sweep {sweep_id}: {len(run_ids)} runs ({', '.join(map(str, run_ids))}), "
        f"at most {args.max_parallel} at once",
        flush=True,
    )

    def report(run_id: int, status: str) -> None:
        print(f"  run {run_id} {status}", flush=True)

    results = queue.run_queue(ctx.paths, ctx.store, run_ids, args.max_parallel, on_change=report)
    failed = [rid for rid, status in results.items() if status != "succeeded"]
    print(f"sweep {sweep_id}: {len(run_ids) - len(failed)} of {len(run_ids)} succeeded")
    return 1 if failed else EXIT_OK


def cmd_cancel(args: argparse.Namespace) -> int:
    from workbench.cli.common import EXIT_OK, UserError, open_context
    from workbench.runner import launcher

    ctx = open_context(args.home)
    run = ctx.store.find_run(args.run)
    try:
        outcome = launcher.cancel(ctx.store, run.id)
    except launcher.RunStateError as exc:
        raise UserError(str(exc)) from None
    print(f"run {run.id}: {outcome}")
    if args.wait and outcome == "cancelling":
        status = launcher.wait_for_status(ctx.store, run.id, launcher.TERMINAL, timeout=300)
        print(f"run {run.id}: {status}")
    return EXIT_OK


def cmd_resume(args: argparse.Namespace) -> int:
    from workbench.cli.common import UserError, open_context
    from workbench.runner import launcher

    ctx = open_context(args.home)
    run = ctx.store.find_run(args.run)
    try:
        launcher.prepare_resume(
            ctx.store, ctx.paths, run.id, ctx.registry if args.overrides else None, args.overrides
        )
    except launcher.RunStateError as exc:
        raise UserError(str(exc)) from None
    print(f"run {run.id}: resuming from step {run.step}", flush=True)
    return _start(ctx, run.id, resume=True, detach=args.detach)


def cmd_generate(args: argparse.Namespace) -> int:
    import torch

    from workbench.cli.common import EXIT_BAD_INPUT, EXIT_OK, UserError, open_context
    from workbench.runner.build import load_run

    ctx = open_context(args.home)
    run = ctx.store.find_run(args.run)
    if args.max_new_tokens < 1:
        raise UserError("--max-new-tokens must be at least 1")
    if args.temperature < 0:
        raise UserError("--temperature must not be negative")
    if args.top_k is not None and args.top_k < 1:
        raise UserError("--top-k must be at least 1")
    if args.top_p is not None and not 0 < args.top_p <= 1:
        raise UserError("--top-p must be in (0, 1]")
    loaded = load_run(run.config, ctx.paths.run_dir(run.id), ctx.registry)
    ids = loaded.tokenizer.encode(args.prompt)
    if not ids:
        raise UserError("--prompt encodes to no tokens")
    block = loaded.model.block_size
    idx = torch.tensor([ids[-block:]], dtype=torch.long)
    gen = torch.Generator().manual_seed(args.seed) if args.seed is not None else None
    new = loaded.model.generate(
        idx,
        args.max_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        generator=gen,
    )[0]
    sys.stdout.write(args.prompt + loaded.tokenizer.decode(new) + "\n")
    return EXIT_OK if new is not None else EXIT_BAD_INPUT
