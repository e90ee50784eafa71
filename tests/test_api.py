"""The Python API: the notebook in docs/python-api.md runs as written, and the API's own checks."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import workbench
from workbench import api
from workbench.config import ConfigError
from workbench.store import RunNotFound

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"


def test_importing_workbench_stays_light():
    import subprocess

    code = "import sys, workbench; workbench.__version__; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert workbench.run is api.run and workbench.load is api.load


def test_the_documented_notebook_runs(home, capsys):
    cells = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(cells) == 3
    namespace: dict = {}
    for cell in cells:
        exec(compile(cell, str(DOC), "exec"), namespace)  # noqa: S102 - our own doc
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "1 notebook-bigram succeeded"
    assert out[1].startswith("The ") and len(out[1]) > 4
    steps = [step for step, _ in eval(out[2])]  # noqa: S307 - printed by the cell above
    assert steps == [20, 40]
    assert eval(out[3]) == ["notebook-bigram"]  # noqa: S307
    run = namespace["run"]
    assert run.config["seed"] == 1  # the mapping override reached the config
    model, _ = workbench.load("notebook-bigram")
    assert not model.training


def test_bad_input_raises_before_anything_is_recorded(home, write_config):
    with pytest.raises(ConfigError, match="stage.lr"):
        api.run(write_config(), overrides=["stage.lr=fast"])
    with pytest.raises(TypeError, match="list of 'KEY=VALUE'"):
        api.run(write_config(), overrides="stage.lr=1")
    assert api.runs() == []
    with pytest.raises(RunNotFound):
        api.metrics("no-such-run")


def test_detached_run_and_load_refuses_an_unfinished_run(home, write_config):
    record = api.run(write_config("bg"), detach=True)
    assert record.status in ("queued", "running")
    with pytest.raises(ValueError, match="not succeeded"):
        api.load(record.id)
    api._wait(api._open(None)[1], record.id, progress=False)
    rows = api.metrics(record)
    rows = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    assert {"train/loss", "val/loss"} <= {row["name"] for row in rows}
