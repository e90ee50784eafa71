"""Lightning loggers beside the store: package checks, the shared MLflow store, the config as
hyper-parameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.runner import tracking


def test_csv_needs_nothing_and_unknown_loggers_are_named():
    assert tracking.missing_logger_error(["csv"]) is None
    assert tracking.missing_logger_error([]) is None
    assert "unknown logger 'wandb'" in tracking.missing_logger_error(["wandb"])


def test_missing_packages_name_the_extra(monkeypatch):
    monkeypatch.setattr(tracking, "_installed", lambda module: module == "tensorboardX")
    # tensorboardX is an accepted stand-in for tensorboard; mlflow has none.
    assert tracking.missing_logger_error(["tensorboard"]) is None
    message = tracking.missing_logger_error(["tensorboard", "mlflow"])
    assert message == (
        "the mlflow logger needs the mlflow package, which is not installed; "
        "install it with: pip install 'workbench[mlflow]'"
    )


def test_mlflow_runs_of_one_home_share_one_store(tmp_path: Path):
    uri = tracking.mlflow_tracking_uri(tmp_path, None)
    assert uri == f"sqlite:///{(tmp_path / 'mlflow.db').resolve()}"
    assert tracking.mlflow_tracking_uri(tmp_path, "http://127.0.0.1:5000") == (
        "http://127.0.0.1:5000"
    )


def test_flatten_and_log_config_reach_every_logger():
    seen: list[dict] = []

    class Recorder:
        def log_hyperparams(self, params):
            seen.append(params)

    config = {"name": "r", "stage": {"lr": 0.1, "sizes": [1, 2]}, "trainer": {"loggers": []}}
    tracking.log_config([Recorder(), Recorder()], config)
    expected = {"name": "r", "stage/lr": 0.1, "stage/sizes": "[1, 2]", "trainer/loggers": "[]"}
    assert seen == [expected, expected]


def test_make_logger_refuses_an_unknown_name(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown logger 'nope'"):
        tracking.make_logger("nope", run_dir=tmp_path, home=tmp_path, run_name="r")


def test_mlflow_runs_of_a_home_land_in_one_store_with_the_config(home, write_config):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    from workbench.cli import main

    assert main(["run", str(write_config("first")), "--set", "trainer.loggers=[mlflow]"]) == 0
    assert main(["run", str(write_config("second")), "--set", "trainer.loggers=[mlflow]"]) == 0
    client = MlflowClient(tracking_uri=tracking.mlflow_tracking_uri(home, None))
    experiment = client.get_experiment_by_name(tracking.MLFLOW_EXPERIMENT)
    found = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.run_name for r in found) == ["first", "second"]
    params = found[0].data.params
    assert params["stage/name"] == "pretrain" and params["architecture/name"] == "bigram"
    assert "train/loss" in found[0].data.metrics


def test_tensorboard_logger_writes_events_with_the_config(home, write_config):
    pytest.importorskip("tensorboard")
    from workbench.cli import main
    from workbench.paths import resolve_home

    assert main(["run", str(write_config()), "--set", "trainer.loggers=[tensorboard]"]) == 0
    run_dir = resolve_home(home).run_dir(1)
    assert list(run_dir.glob("tensorboard/**/events.out.tfevents.*"))
    (hparams,) = run_dir.glob("tensorboard/**/hparams.yaml")
    assert "stage/max_steps: 30" in hparams.read_text()
