"""Lightning loggers beside the store: which package each needs, how each is built.

The store is always a run's logger. A config can add Lightning's own loggers
(``trainer.loggers``): ``csv`` needs nothing more; ``tensorboard`` and ``mlflow`` need packages
the base install leaves out, offered as extras of the same names. A config that asks for a logger
whose package is missing is refused when it is validated, before any run is recorded
(:func:`missing_logger_error`).

Every logger receives the run's full resolved config as its hyper-parameters. MLflow runs of one
workbench home share one tracking store — an SQLite database, ``HOME/mlflow.db`` (MLflow 3 has
retired its file store), with artifacts under ``HOME/mlartifacts``; experiment ``workbench``, one
MLflow run per workbench run, named after it — unless the config names a ``tracking_uri``, so
MLflow's own UI compares them (``mlflow ui --backend-store-uri sqlite:///HOME/mlflow.db``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

LOGGER_PACKAGES: Final[dict[str, tuple[str, ...]]] = {
    "csv": (),
    "tensorboard": ("tensorboard", "tensorboardX"),
    "mlflow": ("mlflow",),
}
"""For each logger, the importable modules of which any one suffices (none: always available)."""

MLFLOW_EXPERIMENT: Final[str] = "workbench"
MLFLOW_DATABASE: Final[str] = "mlflow.db"
MLFLOW_ARTIFACTS: Final[str] = "mlartifacts"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_logger_error(names: Sequence[str]) -> str | None:
    """None when every logger in ``names`` can be built, else one message naming each extra."""
    problems: list[str] = []
    for name in names:
        modules = LOGGER_PACKAGES.get(name)
        if modules is None:
            problems.append(f"unknown logger {name!r}; choose from {sorted(LOGGER_PACKAGES)}")
        elif modules and not any(_installed(module) for module in modules):
            problems.append(
                f"the {name} logger needs the {modules[0]} package, which is not installed; "
                f"install it with: pip install 'workbench[{name}]'"
            )
    return "; ".join(problems) if problems else None


def mlflow_tracking_uri(home: Path, tracking_uri: str | None) -> str:
    """Where MLflow writes: the configured URI, else one database for the whole home."""
    if tracking_uri:
        return tracking_uri
    return f"sqlite:///{(Path(home) / MLFLOW_DATABASE).resolve()}"


def make_logger(
    name: str, *, run_dir: Path, home: Path, run_name: str, tracking_uri: str | None = None
) -> Any:
    """The Lightning logger called ``name`` for one run."""
    from pytorch_lightning import loggers

    if name == "csv":
        return loggers.CSVLogger(str(run_dir), name="csv")
    if name == "tensorboard":
        return loggers.TensorBoardLogger(str(run_dir), name="tensorboard")
    if name == "mlflow":
        return loggers.MLFlowLogger(
            experiment_name=MLFLOW_EXPERIMENT,
            run_name=run_name,
            tracking_uri=mlflow_tracking_uri(home, tracking_uri),
            # Used when the experiment is first created; else MLflow writes under the cwd.
            artifact_location=(Path(home) / MLFLOW_ARTIFACTS).resolve().as_uri(),
        )
    raise ValueError(f"unknown logger {name!r}; choose from {sorted(LOGGER_PACKAGES)}")


def log_config(loggers: Sequence[Any], config: Mapping[str, Any]) -> None:
    """Hand the resolved config to every logger as hyper-parameters (nested keys flattened)."""
    params = flatten(config)
    for logger in loggers:
        logger.log_hyperparams(params)


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"stage": {"lr": 1e-3}}`` → ``{"stage/lr": 1e-3}``; lists become their text."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{path}/"))
        elif isinstance(value, list | tuple):
            flat[path] = str(list(value))
        else:
            flat[path] = value
    return flat
