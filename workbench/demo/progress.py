"""The demo's one progress display: a bar over the whole chain (weighted by each step's
estimated time), the current step and its own progress, and a line per finished step."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import IO

from tqdm import tqdm

from workbench.demo.recipe import Step


class Display:
    """Draws on ``stream`` (the terminal's standard error by default), never on the streams an
    in-process command's output is redirected into."""

    def __init__(
        self, steps: Sequence[Step], stream: IO[str] | None = None, enabled: bool | None = None
    ):
        """``enabled``: draw the bar (default: when ``stream`` is a terminal; otherwise each
        step's start and end are printed as lines, for logs)."""
        self.steps = list(steps)
        self.stream = stream or sys.__stderr__ or sys.stderr
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled
        self._done = 0.0
        self._index = 0
        self._lock = threading.Lock()
        self.bar = tqdm(
            total=round(sum(s.seconds for s in self.steps), 1),
            file=self.stream,
            disable=not enabled,
            dynamic_ncols=True,
            bar_format="{desc}{percentage:3.0f}%|{bar:20}| {elapsed} {postfix}",
            mininterval=0.5,
        )
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        # Keeps the elapsed time moving while a step runs in this process.
        while not self._stop.wait(1.0):
            with self._lock:
                self.bar.refresh()

    def start(self, index: int, step: Step) -> None:
        with self._lock:
            self._index = index
            self.bar.set_description_str(f"[{index + 1}/{len(self.steps)}] {step.key} ", False)
            self.bar.set_postfix_str(step.title, refresh=True)
            if not self.enabled:
                self.bar.write(f"[{index + 1}/{len(self.steps)}] {step.key}: {step.title}",
                               file=self.stream)  # fmt: skip

    def advance(self, fraction: float, detail: str) -> None:
        """The current step is ``fraction`` done; ``detail`` says where it is."""
        step = self.steps[self._index]
        with self._lock:
            self.bar.n = round(self._done + step.seconds * min(max(fraction, 0.0), 1.0), 1)
            self.bar.set_postfix_str(detail, refresh=True)

    def finish(self, line: str) -> None:
        """The current step is done: print ``line`` above the bar."""
        step = self.steps[self._index]
        with self._lock:
            self._done += step.seconds
            self.bar.n = round(self._done, 1)
            self.bar.write(line, file=self.stream)
            self.bar.refresh()

    def note(self, line: str) -> None:
        with self._lock:
            self.bar.write(line, file=self.stream)

    def close(self) -> None:
        self._stop.set()
        self._ticker.join(timeout=2)
        with self._lock:
            self.bar.close()
