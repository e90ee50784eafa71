"""The distribution: what the wheel holds, and (slow) a wheel installed in a fresh virtual
environment working from another directory."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]


def build_wheel(out: Path) -> Path:
    subprocess.run(
        [
            sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
            "--quiet", "--wheel-dir", str(out), str(REPO_ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
    )  # fmt: skip
    (wheel,) = out.glob("workbench-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def test_wheel_ships_the_migrations_as_package_data(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    migrations = {name for name in names if name.startswith("workbench/_migrations/")}
    versions = sorted(p.name for p in (REPO_ROOT / "alembic" / "versions").glob("*.py"))
    assert versions, "the checkout has no migrations"
    assert {
        "workbench/_migrations/env.py",
        "workbench/_migrations/script.py.mako",
        *(f"workbench/_migrations/versions/{name}" for name in versions),
    } <= migrations
    # No __init__.py: the folder must not become an importable "alembic" anywhere.
    assert "workbench/_migrations/__init__.py" not in names


def test_wheel_ships_the_example_configs_the_dashboard_starts_from(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = sorted(p.name for p in (REPO_ROOT / "configs").glob("*.yaml"))
    assert "quickstart.yaml" in configs
    assert {f"workbench/_configs/{name}" for name in configs} <= names


def test_wheel_ships_every_builtin_plugin_and_its_entry_point(wheel: Path):
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    builtins = project["project"]["entry-points"]["workbench"]
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = archive.read(entry_points).decode()
    for name, module in builtins.items():
        assert f"{module}/__init__.py" in names
        assert f"{name} = {module}" in text


def test_every_third_party_import_is_declared():
    """Each top-level module the core and the plugins import is the standard library's, ours,
    or a declared dependency's (by its import name)."""
    import ast

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    declared = {
        dep.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip().lower()
        for dep in project["project"]["dependencies"]
    }
    import_names = {
        "pytorch-lightning": {"pytorch_lightning", "lightning_fabric"},
        "pyyaml": {"yaml"},
        "annotated-types": {"annotated_types"},
    }
    provided = set()
    for dep in declared:
        provided |= import_names.get(dep, {dep.replace("-", "_")})
    ours = {"workbench"} | {p.name for p in (REPO_ROOT / "plugins").iterdir() if p.is_dir()}
    # Optional packages are imported lazily inside functions, guarded by their extras.
    # (datasets comes with lm-eval: the lm-eval task folders' loader builds its documents with it.)
    # pytest: only workbench.testing imports it, a pytest plugin that only pytest loads.
    optional = {
        "transformers", "safetensors", "lm_eval", "datasets", "mlflow", "tensorboard", "pandas",
        "pytest",
    }  # fmt: skip
    found: dict[str, str] = {}
    for root in (REPO_ROOT / "workbench", REPO_ROOT / "plugins"):
        for path in root.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    found.setdefault(module.split(".")[0], str(path.relative_to(REPO_ROOT)))
    undeclared = {
        name: where
        for name, where in found.items()
        if name not in sys.stdlib_module_names
        and name not in ours
        and name not in provided
        and name not in optional
    }
    assert undeclared == {}


@pytest.mark.slow
def test_wheel_installed_in_a_fresh_venv_migrates_and_runs(wheel: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True, text=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "WORKBENCH_PLUGIN_MODULES", "VIRTUAL_ENV"}
    }
    env["WORKBENCH_HOME"] = str(tmp_path / "home")
    workbench = str(venv / "bin" / "workbench")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [workbench, *args], cwd=elsewhere, env=env, capture_output=True, text=True
        )

    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import workbench; print(workbench.__file__)"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert str(venv) in where.stdout  # the installed copy, not the checkout
    checked = run("db", "check")
    assert checked.returncode == 0, checked.stderr
    config = {
        "name": "wheel-run",
        "seed": 0,
        "stage": {"name": "pretrain", "max_steps": 5, "batch_size": 4, "eval_interval": 5},
        "architecture": {"name": "bigram", "block_size": 8},
        "tokenizer": {"name": "char"},
        "dataset": {"name": "synthetic", "size_chars": 20000},
        "trainer": {"accelerator": "cpu"},
    }
    (elsewhere / "run.yaml").write_text(yaml.safe_dump(config))
    ran = run("run", "run.yaml")
    assert ran.returncode == 0, ran.stderr
    shown = run("show", "wheel-run")
    assert "succeeded" in shown.stdout


def test_wheel_ships_the_pytest_plugin_for_plugin_authors(wheel: Path):
    archive = zipfile.ZipFile(wheel)
    assert "workbench/testing.py" in archive.namelist()
    (entry_points,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = archive.read(entry_points).decode()
    assert "[pytest11]\nworkbench.testing = workbench.testing" in text
