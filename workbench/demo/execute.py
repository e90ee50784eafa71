"""Running the demo's steps as ordinary runs, evaluations, pairs and labels in one home.

Each step first looks for what it would make: a run with the same resolved config (which names
the exact parent run by id) that succeeded, an evaluation of the run with the same options, pairs
sampled from the run, an annotator with nothing left to label. Found, it is reused, so a second
``workbench demo`` starts nothing new; a run with the same config that was cancelled or
interrupted is resumed from its checkpoint. Runs train in their own worker process, as ``workbench
run --detach`` starts them; evaluations, pairs and labels run in this process through the same
CLI commands a user would type. Ctrl-C cancels the running run (it checkpoints) and stops.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from workbench.config import load_config, validate_options
from workbench.demo.progress import Display
from workbench.demo.recipe import MIN_LABELS, Step
from workbench.paths import Paths
from workbench.registry import Registry
from workbench.runner import launcher
from workbench.store import RunRecord, Store, StoreError

POLL_SECONDS = 0.5


class DemoError(Exception):
    """A step that could not be done (its run failed, a command refused): the message says
    which and where to look."""


class DemoCancelled(Exception):
    """Ctrl-C: the running run was asked to checkpoint and stop."""


@dataclass(frozen=True)
class Outcome:
    """What a step did: ``reused`` what it found, ``ran`` it, or ``resumed`` a stopped run."""

    step: str
    action: str
    run_id: int | None
    detail: str


def resolve_refs(value: Any, ids: dict[str, int]) -> Any:
    """``value`` with every ``"@KEY"`` string replaced by the id of step KEY's run."""
    if isinstance(value, str) and value.startswith("@"):
        key = value[1:]
        if key not in ids:
            raise DemoError(f"step {key!r} has no run yet")
        return ids[key]
    if isinstance(value, dict):
        return {k: resolve_refs(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_refs(v, ids) for v in value]
    return value


def canonical(config: Any) -> str:
    return json.dumps(config, sort_keys=True, default=str)


class Demo:
    """Runs the steps in order in one home; ``ids`` maps each run step's key to its run."""

    def __init__(
        self,
        paths: Paths,
        store: Store,
        registry: Registry,
        steps: Sequence[Step],
        *,
        display: Display,
        log: IO[str],
        cli: Callable[[list[str]], int] | None = None,
    ):
        self.paths, self.store, self.registry = paths, store, registry
        self.steps = list(steps)
        self.display = display
        self.log = log
        self.ids: dict[str, int] = {}
        self.outcomes: list[Outcome] = []
        if cli is None:
            from workbench.cli import main as cli
        self._cli = cli

    # -- the chain -----------------------------------------------------------------------------

    def run(self, start: str | None = None) -> list[Outcome]:
        """Every step in order. Steps before ``start`` are only looked up: the newest succeeded
        run of each run step's name is used as it is."""
        keys = [step.key for step in self.steps]
        first = keys.index(start) if start is not None else 0
        for index, step in enumerate(self.steps):
            self.display.start(index, step)
            started = time.monotonic()
            if index < first:
                outcome = self._look_up(step)
            else:
                outcome = self._do(step)
            self.outcomes.append(outcome)
            self.display.finish(_line(outcome, step, time.monotonic() - started))
        return self.outcomes

    def _do(self, step: Step) -> Outcome:
        if step.kind == "run":
            return self._run(step)
        if step.kind == "evaluate":
            return self._evaluate(step)
        if step.kind == "pairs":
            return self._pairs(step)
        return self._label(step)

    def _look_up(self, step: Step) -> Outcome:
        if step.kind != "run":
            return Outcome(step.key, "skipped", None, "before --from")
        name = step.config["name"]  # type: ignore[index]
        found = [r for r in self.store.list_runs(status="succeeded") if r.name == name]
        if not found:
            raise DemoError(
                f"--from: step {step.key!r} has no succeeded run named {name!r} yet; run "
                "`workbench demo` without --from first"
            )
        self.ids[step.key] = found[0].id
        return Outcome(step.key, "reused", found[0].id, f"run {found[0].id} (before --from)")

    # -- runs ----------------------------------------------------------------------------------

    def _run(self, step: Step) -> Outcome:
        config = resolve_refs(step.config, self.ids)
        note = ""
        if step.needs_labels is not None:
            winners = self._winners(step.needs_labels)
            if winners < MIN_LABELS:
                dataset = config["dataset"]
                config["dataset"] = {
                    k: v for k, v in dataset.items() if not k.startswith("labels_")
                }
                note = f" (no labels: only {winners} of {step.needs_labels}'s name a winner)"
        resolved = load_config(None, self.registry, [], raw=config)
        wanted = canonical(resolved.to_dict())
        same = [
            r
            for r in self.store.list_runs(stage=resolved.plugin("stage"))
            if r.name == config["name"] and canonical(r.config) == wanted
        ]
        done = [r for r in same if r.status == "succeeded"]
        if done:
            self.ids[step.key] = done[0].id
            return Outcome(step.key, "reused", done[0].id, f"run {done[0].id} (same config){note}")
        active = [r for r in same if r.status in ("queued", "running")]
        if active:
            run = active[0]
            action = "waited for"
        else:
            stopped = [
                r
                for r in same
                if r.status in launcher.RESUMABLE
                and (self.paths.run_dir(r.id) / "checkpoints" / "last.ckpt").is_file()
            ]
            if stopped:
                run = stopped[0]
                launcher.prepare_resume(self.store, self.paths, run.id)
                launcher.spawn(self.paths, run.id, resume=True, store=self.store)
                action = "resumed"
            else:
                run_id = launcher.create_run(self.store, self.registry, resolved)
                launcher.spawn(self.paths, run_id, store=self.store)
                run = self.store.get_run(run_id)
                action = "ran"
        self.ids[step.key] = run.id
        final = self._wait(step, run.id)
        if final.status != "succeeded":
            reason = (final.error or "").strip().splitlines()[-1:] or ["no error recorded"]
            raise DemoError(
                f"step {step.key!r}: run {final.id} ({final.name}) {final.status}: {reason[0]}\n"
                f"  see `workbench show {final.id}` and {self.paths.run_dir(final.id) / 'run.log'}"
            )
        return Outcome(step.key, action, run.id, f"run {run.id} {final.name}{note}")

    def _winners(self, annotator: str) -> int:
        """How many of ``annotator``'s labels name a winner (0 when it has labelled nothing)."""
        try:
            return len(self.store.preference_examples(annotator=annotator))
        except LookupError:
            return 0

    def _wait(self, step: Step, run_id: int) -> RunRecord:
        record = self.store.get_run(run_id)
        try:
            while not record.is_terminal:
                time.sleep(POLL_SECONDS)
                record = self.store.get_run(run_id)
                total = record.max_steps or 0
                fraction = record.step / total if total else 0.0
                where = f"step {record.step}/{total}" if total else record.status
                self.display.advance(fraction, f"run {run_id} {record.name}: {where}")
        except KeyboardInterrupt:
            record = self.store.get_run(run_id)
            if not record.is_terminal:
                self.display.note(f"cancelling run {run_id} (it saves a checkpoint) ...")
                with contextlib.suppress(launcher.RunStateError):
                    launcher.cancel(self.store, run_id)
                launcher.wait_for_status(self.store, run_id, launcher.TERMINAL, timeout=120)
            raise DemoCancelled(f"run {run_id} ({record.name}) cancelled at {step.key!r}") from None
        return record

    # -- in-process commands -------------------------------------------------------------------

    def _command(self, step: Step, args: list[str]) -> Any:
        """Run a ``workbench`` command in this process, its output to the demo's log; returns
        its ``--json`` output."""
        argv = ["--home", str(self.paths.home), *args, "--json"]
        self.log.write(f"\n$ workbench {' '.join(argv)}\n")
        self.log.flush()
        out = _Tee(self.log)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(self.log):
            code = self._cli(argv)
        self.log.flush()
        if code != 0:
            raise DemoError(
                f"step {step.key!r}: `workbench {' '.join(args)}` exited {code}; see {self.log.name}"
            )
        try:
            return json.loads(out.text)
        except ValueError:
            return {}

    def _evaluate(self, step: Step) -> Outcome:
        run_id = self.ids[step.run]  # type: ignore[index]
        if step.needs_labels is not None:
            winners = self._winners(step.needs_labels)
            if winners < MIN_LABELS:
                return Outcome(
                    step.key, "skipped", run_id,
                    f"only {winners} of {step.needs_labels}'s labels name a winner",
                )  # fmt: skip
        options = resolve_refs(step.options, self.ids)
        spec = self.registry.evaluation(step.evaluation)  # type: ignore[arg-type]
        config = validate_options(spec, options, "evaluation").model_dump(mode="json")
        extra: list[str] = []
        if step.dataset is not None:
            block = dict(step.dataset)
            data_spec = self.registry.dataset(block.pop("name"))
            data = validate_options(data_spec, block, "dataset").model_dump(mode="json")
            config["dataset"] = {"name": data_spec.name, **data}
            extra = ["--dataset", json.dumps(step.dataset)]
        wanted = canonical(config)
        for evaluation in reversed(self.store.evaluations(run_id)):
            if (
                evaluation.name == spec.name
                and evaluation.status == "succeeded"
                and canonical(evaluation.config) == wanted
            ):
                return Outcome(step.key, "reused", run_id, f"evaluation {evaluation.id}")
        sets = [item for k, v in options.items() for item in ("--set", f"{k}={json.dumps(v)}")]
        result = self._command(step, ["evaluate", str(run_id), spec.name, *sets, *extra])
        return Outcome(step.key, "ran", run_id, f"evaluation {result.get('id', '?')}")

    def _pairs(self, step: Step) -> Outcome:
        run_id = self.ids[step.run]  # type: ignore[index]
        existing = self.store.count_pairs(run_id)
        if existing:
            return Outcome(step.key, "reused", run_id, f"{existing} pairs from run {run_id}")
        o = step.options
        result = self._command(
            step,
            ["pairs", "generate", str(run_id), "--count", str(o["count"]),
             "--max-tokens", str(o["max_tokens"]), "--temperature", str(o["temperature"])],
        )  # fmt: skip
        return Outcome(step.key, "ran", run_id, f"{result.get('pairs', '?')} pairs")

    def _label(self, step: Step) -> Outcome:
        name = step.options["annotator"]
        try:
            pending = bool(self.store.unlabelled_pairs(name, limit=1))
        except StoreError:
            pending = True  # the annotator has labelled nothing yet
        if not pending:
            return Outcome(step.key, "reused", None, f"{name} has labelled every pair")
        result = self._command(step, ["label", "--annotator", name])
        self.display.note(
            "  to label the pairs yourself instead: `workbench ui`, the Label tab (keys 1 2 3 4), "
            "then train a reward model with dataset {name: preference-labels, kind: human}"
        )
        return Outcome(step.key, "ran", None, f"{result.get('labelled', '?')} pairs labelled")


class _Tee:
    """Collects a command's standard output and copies it to the log."""

    def __init__(self, log: IO[str]):
        self.log = log
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        self.log.write(text)
        return len(text)

    def flush(self) -> None:
        self.log.flush()

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _line(outcome: Outcome, step: Step, seconds: float) -> str:
    mark = {"reused": "=", "ran": "✓", "resumed": "✓", "waited for": "✓", "skipped": "-"}
    took = f" [{int(seconds // 60)}:{int(seconds % 60):02d}]" if outcome.action != "reused" else ""
    return (
        f"{mark.get(outcome.action, '✓')} {step.key:<30} {outcome.action:<8} {outcome.detail}{took}"
    )


def log_path(paths: Paths) -> Path:
    return paths.home / "demo.log"
