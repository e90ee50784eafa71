"""The runner end to end: real worker processes training a tiny model through the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from workbench.cli import main
from workbench.paths import resolve_home
from workbench.runner import launcher
from workbench.runner.procs import pid_alive
from workbench.store import open_store


def store_for(home: Path):
    return open_store(resolve_home(home))


def wait_until(predicate, timeout: float = 120.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting")


def start_background(home: Path, config_path: Path) -> tuple[int, subprocess.Popen]:
    """Record a run like ``workbench run`` does and start its worker in the background."""
    from workbench.config import load_config
    from workbench.registry import load_registry

    paths = resolve_home(home).ensure()
    store = open_store(paths)
    registry = load_registry()
    run_id = launcher.create_run(store, registry, load_config(config_path, registry))
    return run_id, launcher.spawn(paths, run_id, store=store)


def test_tiny_run_succeeds_and_stores_metrics_samples_and_checkpoint(
    home, write_config, capsys, monkeypatch
):
    from workbench.runner import startup

    monkeypatch.setattr(startup, "SAME_COMMAND_S", 0.0)  # main() is called, not the process
    began = time.time()
    assert main(["run", str(write_config())]) == 0
    took = time.time() - began
    out = capsys.readouterr().out
    assert out.startswith("run 1: tiny")
    store = store_for(home)
    run = store.get_run(1)
    assert run.status == "succeeded"
    assert run.step == 30 and run.max_steps == 30
    assert run.started_at is not None and run.finished_at is not None
    assert run.device.startswith("cpu")
    assert run.package_versions["torch"] == torch.__version__
    assert set(run.plugin_versions) == {"gpt", "toy", "text"}
    names = set(store.metric_names(1))
    assert {"train/loss", "val/loss", "lr"} <= names
    train = store.metrics(1, "train/loss")
    assert [m.step for m in train] == sorted({m.step for m in train})
    assert train[-1].value < train[0].value  # it learned something
    assert [m.step for m in store.metrics(1, "val/loss")] == [10, 20, 30]
    (startup,) = store.metrics(1, "startup_s")  # from the command's start to the first step
    assert startup.step == 0 and 0 < startup.value < took
    assert len(store.samples(1)) == 3
    kinds = {a.kind for a in store.artifacts(1)}
    assert {"checkpoint", "model", "tokenizer"} <= kinds
    run_dir = resolve_home(home).run_dir(1)
    checkpoint = torch.load(
        run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False
    )
    assert checkpoint["global_step"] == 30
    assert not list((run_dir / "checkpoints").glob("*.tmp"))


def test_lightning_logger_beside_the_store_and_generate(home, write_config, capsys):
    assert main(["run", str(write_config()), "--set", "trainer.loggers=[csv]"]) == 0
    csv_files = list(resolve_home(home).run_dir(1).glob("csv/**/metrics.csv"))
    assert len(csv_files) == 1 and "train/loss" in csv_files[0].read_text()
    # The resolved config reaches the Lightning logger as hyper-parameters, nested keys flattened.
    hparams = yaml.safe_load((csv_files[0].parent / "hparams.yaml").read_text())
    assert hparams["name"] == "tiny" and hparams["stage/name"] == "pretrain"
    assert hparams["stage/max_steps"] == 30 and hparams["architecture/name"] == "bigram"
    assert hparams["trainer/loggers"] == "['csv']"
    capsys.readouterr()
    assert main(["generate", "1", "--prompt", "the ", "--max-new-tokens", "12", "--seed", "1"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("the ") and len(text.rstrip("\n")) == 4 + 12


def test_logger_whose_package_is_missing_is_refused_naming_its_extra(
    home, write_config, capsys, monkeypatch
):
    from workbench.runner import tracking

    monkeypatch.setattr(tracking, "_installed", lambda module: False)
    assert main(["run", str(write_config()), "--set", "trainer.loggers=[csv, mlflow]"]) == 2
    err = capsys.readouterr().err
    assert "trainer.loggers" in err and "pip install 'workbench[mlflow]'" in err
    assert store_for(home).list_runs() == []


def test_bad_config_is_refused_before_any_run_is_written(home, write_config, capsys):
    assert main(["run", str(write_config()), "--set", "stage.lr=fast"]) == 2
    err = capsys.readouterr().err
    assert "stage.lr: Input should be a valid number" in err
    assert store_for(home).list_runs() == []
    assert main(["run", str(write_config()), "--set", "architecture.name=nope"]) == 2
    assert "unknown architecture 'nope'" in capsys.readouterr().err
    assert store_for(home).list_runs() == []


def test_failing_run_stores_traceback_and_keeps_earlier_runs(home, write_config, capsys):
    assert main(["run", str(write_config("good"))]) == 0
    store = store_for(home)
    before = store.metrics(1)
    crash = write_config("crash")
    assert (
        main(
            [
                "run",
                str(crash),
                "--set",
                "stage.name=crashing-pretrain",
                "--set",
                "stage.crash_at_step=5",
            ]
        )
        == 1
    )
    run = store.get_run(2)
    assert run.status == "failed"
    assert "Traceback" in run.error and "InjectedCrash: injected failure at step 5" in run.error
    assert store.get_run(1).status == "succeeded"
    assert store.metrics(1) == before


def test_sigterm_checkpoints_cancels_and_resume_continues(home, write_config, capsys):
    config = write_config(
        "slow", name="slow-pretrain", step_sleep=0.05, max_steps=80, checkpoint_every=1000
    )
    run_id, proc = start_background(home, config)
    store = store_for(home)
    wait_until(
        lambda: store.get_run(run_id).status == "running" and store.get_run(run_id).step >= 15
    )
    assert main(["cancel", str(run_id)]) == 0
    assert proc.wait(timeout=60) == 3
    run = store.get_run(run_id)
    assert run.status == "cancelled"
    stopped_at = run.step
    assert 15 <= stopped_at < 80
    ckpt = resolve_home(home).run_dir(run_id) / "checkpoints" / "last.ckpt"
    assert torch.load(ckpt, map_location="cpu", weights_only=False)["global_step"] == stopped_at

    assert main(["resume", str(run_id)]) == 0
    run = store.get_run(run_id)
    assert run.status == "succeeded" and run.step == 80
    steps = [m.step for m in store.metrics(run_id, "train/loss")]
    assert len(steps) == len(set(steps)), "a restart from zero would log steps twice"
    assert steps[0] <= stopped_at < steps[-1] == 80
    assert main(["resume", str(run_id)]) == 2  # a succeeded run cannot be resumed


def test_killed_run_is_found_interrupted_on_next_start(home, write_config, capsys):
    config = write_config("victim", name="slow-pretrain", step_sleep=0.05, max_steps=500)
    run_id, proc = start_background(home, config)
    store = store_for(home)
    wait_until(lambda: store.get_run(run_id).step >= 3)
    os.kill(proc.pid, signal.SIGKILL)
    # Not reaped yet: a zombie must count as gone.
    wait_until(lambda: not pid_alive(proc.pid), timeout=10)
    assert store.get_run(run_id).status == "running"
    assert main(["runs"]) == 0
    assert f"run {run_id} was interrupted" in capsys.readouterr().err
    assert store.get_run(run_id).status == "interrupted"
    proc.wait()


def test_sweep_of_four_runs_at_most_two_at_a_time(home, write_config, capsys):
    config = write_config("sweep", name="slow-pretrain", step_sleep=0.02, max_steps=20)
    code = main(
        [
            "sweep",
            str(config),
            "--grid",
            "stage.lr=1e-2,5e-3",
            "--grid",
            "seed=1,2",
            "--max-parallel",
            "2",
        ]
    )
    assert code == 0
    store = store_for(home)
    runs = store.list_runs()
    assert len(runs) == 4 and all(r.status == "succeeded" for r in runs)
    assert {r.sweep_id for r in runs} == {runs[0].sweep_id}
    events = sorted([(r.started_at, 1) for r in runs] + [(r.finished_at, -1) for r in runs])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert peak == 2


def test_sweep_with_a_bad_variant_writes_nothing(home, write_config, capsys):
    code = main(["sweep", str(write_config()), "--grid", "stage.lr=1e-2,oops"])
    assert code == 2
    assert "stage.lr" in capsys.readouterr().err
    assert store_for(home).list_runs() == []


def test_third_party_plugin_installed_with_pip_runs(
    home, write_config, tmp_path, monkeypatch, capsys
):
    example = Path(__file__).resolve().parents[1] / "examples" / "workbench-plugin-example"
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(example),
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(target), os.environ["PYTHONPATH"]]))
    env = dict(os.environ)
    listing = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "plugins", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    import json

    loaded = {p["name"]: p for p in json.loads(listing.stdout)["loaded"]}
    assert loaded["example"]["version"] == "0.2.0"
    assert loaded["example"]["specs"]["datasets"] == ["counting"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench.cli",
            "run",
            str(write_config()),
            "--set",
            "dataset={name: counting, size_chars: 5000}",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    run = store_for(home).get_run(1)
    assert run.status == "succeeded" and run.dataset == "counting"
    assert run.plugin_versions["example"] == "0.2.0"


def test_create_only_then_an_external_worker_runs_it(home, write_config, capsys):
    assert main(["run", str(write_config()), "--create-only"]) == 0
    out = capsys.readouterr().out
    assert "start it with: python -m workbench.runner.worker" in out
    assert main(["runs"]) == 0  # reconciling leaves an unowned queued run alone
    store = store_for(home)
    assert store.get_run(1).status == "queued"
    command = out.strip().splitlines()[-1].removeprefix("start it with: python ").split()
    subprocess.run([sys.executable, *command], check=True, capture_output=True)
    assert store.get_run(1).status == "succeeded"


def test_a_worker_that_dies_at_once_is_found_and_one_that_cannot_start_fails(
    home, write_config, monkeypatch, capsys
):
    from workbench.config import load_config
    from workbench.registry import load_registry

    paths = resolve_home(home).ensure()
    store = open_store(paths)
    registry = load_registry()
    first = launcher.create_run(store, registry, load_config(write_config(), registry))
    second = launcher.create_run(store, registry, load_config(write_config(), registry))

    monkeypatch.setattr(
        launcher, "worker_command", lambda *a, **k: [sys.executable, "-c", "raise SystemExit(3)"]
    )
    launcher.spawn(paths, first, store=store).wait()
    assert main(["runs"]) == 0
    assert store.get_run(first).status == "interrupted"

    monkeypatch.setattr(launcher, "worker_command", lambda *a, **k: ["/nonexistent/python"])
    with pytest.raises(OSError):
        launcher.spawn(paths, second, store=store)
    run = store.get_run(second)
    assert run.status == "failed" and "could not start the worker" in run.error


def test_ctrl_c_on_a_foreground_run_checkpoints_and_cancels(home, write_config):
    config = write_config(
        "fg", name="slow-pretrain", step_sleep=0.05, max_steps=400, checkpoint_every=1000
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "run", str(config)],
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # As from a terminal: a shell that starts the test suite as a background job leaves
        # SIGINT ignored, and an ignored signal stays ignored in every child.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    store = store_for(home)
    wait_until(lambda: store.list_runs() and store.list_runs()[0].step >= 5)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
    assert proc.wait(timeout=60) == 130
    run = store.list_runs()[0]
    assert run.status == "cancelled"
    ckpt = resolve_home(home).run_dir(run.id) / "checkpoints" / "last.ckpt"
    assert torch.load(ckpt, map_location="cpu", weights_only=False)["global_step"] == run.step


def test_a_second_run_on_the_same_text_reuses_the_cached_tokenizer_and_encoding(
    home, write_config, capsys
):
    """Issue 15: tokenizer fit and encoding cached by content hash in the home's cache; the
    second run adds no entry (a hit) and trains exactly as the first."""
    cache = resolve_home(home).cache
    assert main(["run", str(write_config("first"))]) == 0
    entries = sorted(p.relative_to(cache) for p in cache.rglob("*") if p.is_file())
    assert any(p.parts[0] == "tokenizers" for p in entries)
    assert sum(p.parts[0] == "encodings" for p in entries) == 2  # train and val
    assert main(["run", str(write_config("second"))]) == 0
    assert sorted(p.relative_to(cache) for p in cache.rglob("*") if p.is_file()) == entries
    store = store_for(home)
    losses = [[m.value for m in store.metrics(run, "val/loss")] for run in (1, 2)]
    assert losses[0] == losses[1]
