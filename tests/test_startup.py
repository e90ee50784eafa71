"""The start time a run's ``startup_s`` counts from."""

from __future__ import annotations

import os
import time

from workbench.runner import startup


def test_process_start_is_in_the_past_and_stable():
    first = startup.process_started_at()
    assert first <= time.time()
    assert abs(startup.process_started_at() - first) < 0.05
    assert startup.process_started_at(os.getppid()) <= first + 0.05  # a parent starts earlier


def test_worker_counts_from_the_launchers_time_when_plausible(monkeypatch):
    own = startup.process_started_at()
    monkeypatch.setenv(startup.STARTED_AT_ENV, repr(own - 2.5))
    assert startup.started_at() == own - 2.5
    # A time after this process started, one from hours ago, or garbage: its own start.
    for bad in (repr(own + 60), repr(own - 7200), "soon"):
        monkeypatch.setenv(startup.STARTED_AT_ENV, bad)
        assert startup.started_at() == own
    monkeypatch.delenv(startup.STARTED_AT_ENV)
    assert startup.started_at() == own


def test_a_command_inside_an_older_process_counts_from_its_call(monkeypatch):
    monkeypatch.setattr(startup, "process_started_at", lambda pid=None: 1000.0)
    monkeypatch.setattr(startup, "_COMMAND_ENTERED", 1003.0)
    assert startup.command_started_at() == 1000.0  # the CLI process itself
    monkeypatch.setattr(startup, "_COMMAND_ENTERED", 1500.0)
    assert startup.command_started_at() == 1500.0  # main() called by a long-lived process
