"""Tests of the Alembic migrations: one head, up and down, and models matching migrations."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import alembic.command
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, Integer, MetaData, inspect, text

from workbench.store import MigrationError, SchemaTooNew, Store
from workbench.store.db import (
    alembic_config,
    at_head,
    check,
    current_revision,
    downgrade,
    head_revisions,
    make_engine,
    migration_connection,
    migrations_dir,
    script_heads,
    upgrade,
)
from workbench.store.models import Base

TABLES = {
    "sweeps",
    "runs",
    "metrics",
    "artifacts",
    "samples",
    "evaluations",
    "evaluation_items",
    "annotators",
    "prompts",
    "completions",
    "comparison_pairs",
    "preference_labels",
}
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = make_engine(tmp_path / "workbench.db")
    yield made
    made.dispose()


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_exactly_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    heads = script.get_heads()
    assert len(heads) == 1, heads
    assert head_revisions() == tuple(heads)
    assert not (migrations_dir() / "__init__.py").exists()  # it would shadow the alembic library


def test_upgrade_from_empty(engine: Engine) -> None:
    assert current_revision(engine) is None
    assert table_names(engine) == set()
    upgrade(engine)
    assert current_revision(engine) == head_revisions()[0]
    assert table_names(engine) == TABLES
    upgrade(engine)  # a second upgrade is a no-op
    assert current_revision(engine) == head_revisions()[0]


def test_downgrade_to_base_and_up_again(engine: Engine) -> None:
    upgrade(engine)
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert table_names(engine) == set()
    upgrade(engine)
    assert table_names(engine) == TABLES
    assert check(engine) is None


def test_models_match_migrations(engine: Engine) -> None:
    upgrade(engine)
    assert check(engine) is None


def test_check_detects_an_extra_column(engine: Engine) -> None:
    upgrade(engine)
    changed = MetaData(naming_convention=dict(Base.metadata.naming_convention))
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["runs"].append_column(Column("priority", Integer, nullable=True))

    report = check(engine, changed)
    assert report is not None
    assert "add_column" in report and "runs.priority" in report


def test_check_reports_a_database_behind_head(engine: Engine) -> None:
    report = check(engine)
    assert report is not None
    assert "head" in report and "add_table" in report


def test_foreign_keys_back_on_after_migrating(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1


def test_migration_connection_refuses_dangling_foreign_keys(engine: Engine) -> None:
    upgrade(engine)
    with pytest.raises(MigrationError, match="foreign-key"), migration_connection(engine) as conn:
        conn.execute(
            text(
                "INSERT INTO metrics (run_id, step, name, value, wall_time) "
                "VALUES (12345, 1, 'loss', 1.0, 0.0)"
            )
        )
    with engine.connect() as conn:  # rolled back
        assert conn.execute(text("SELECT count(*) FROM metrics")).scalar_one() == 0


def test_migrations_do_not_import_the_models() -> None:
    for script in (migrations_dir() / "versions").glob("*.py"):
        tree = ast.parse(script.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("workbench"), script.name
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("workbench") for a in node.names), script.name


def test_script_heads_read_without_alembic_agree_with_alembic() -> None:
    assert script_heads() == frozenset(head_revisions())


def test_script_heads_give_up_on_a_script_they_cannot_read(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    shutil.copytree(migrations_dir() / "versions", versions)
    assert script_heads(versions) == frozenset(head_revisions())
    (versions / "9999_odd.py").write_text("revision = make_revision()\n")
    assert script_heads(versions) is None  # unknown: the caller asks Alembic


def test_at_head_only_at_exactly_the_head(engine: Engine) -> None:
    assert not at_head(engine)  # never migrated
    upgrade(engine, "0001")
    assert not at_head(engine)
    upgrade(engine)
    assert at_head(engine)


def test_upgrade_behind_head_still_migrates_through_alembic(engine: Engine) -> None:
    upgrade(engine, "0001")
    upgrade(engine)  # the fast check says "not at head": Alembic runs the remaining migrations
    assert current_revision(engine) == head_revisions()[0]
    assert table_names(engine) == TABLES


def test_upgrade_refuses_an_unknown_revision(engine: Engine) -> None:
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    with pytest.raises(SchemaTooNew, match="f00dfeedbeef"):
        upgrade(engine)


def test_opening_a_migrated_store_does_not_import_alembic(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code = (
        "import sys\n"
        "from workbench.paths import resolve_home\n"
        "from workbench.store import open_store\n"
        f"open_store(resolve_home({str(home)!r})).engine.dispose()\n"
        "print('alembic' in sys.modules)\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    # The first open migrates (Alembic); the second finds the database at head and skips it.
    assert [r.stdout.strip() for r in runs] == ["True", "False"]


def test_alembic_cli_uses_workbench_home(tmp_path: Path) -> None:
    home = tmp_path / "cli-home"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["WORKBENCH_HOME"] = str(home)
    ini = str(REPO_ROOT / "alembic.ini")
    for args in (["upgrade", "head"], ["check"]):
        done = subprocess.run(
            [sys.executable, "-m", "alembic", "-c", ini, *args],
            cwd=tmp_path,  # prepend_sys_path in alembic.ini finds the workbench package
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    made = make_engine(home / "workbench.db")
    try:
        assert current_revision(made) == head_revisions()[0]
    finally:
        made.dispose()


BATCH_MIGRATION = '''"""Probe: recreate runs through a batch migration."""

import sqlalchemy as sa

from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table(
        "runs", recreate="always", table_kwargs={{"sqlite_autoincrement": True}}
    ) as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table(
        "runs", recreate="always", table_kwargs={{"sqlite_autoincrement": True}}
    ) as batch:
        batch.drop_column("priority")
'''


def test_batch_migration_of_runs_keeps_child_rows(tmp_path: Path, engine: Engine) -> None:
    """Recreating ``runs`` must not cascade-delete metrics (foreign keys are off meanwhile)."""
    upgrade(engine)
    store = Store(engine)
    parent = store.create_run(
        name="p",
        stage="s",
        architecture="a",
        dataset="d",
        tokenizer="t",
        config={},
        seed=0,
        plugin_versions={},
        package_versions={},
    )
    child = store.create_run(
        name="c",
        stage="s",
        architecture="a",
        dataset="d",
        tokenizer="t",
        config={},
        seed=0,
        plugin_versions={},
        package_versions={},
        parent_id=parent,
    )
    store.add_metrics(parent, [(1, "loss", 1.0, 0.0), (2, "loss", 0.5, 0.0)])

    scripts = tmp_path / "alembic"
    shutil.copytree(migrations_dir(), scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9999_probe.py").write_text(
        BATCH_MIGRATION.format(head=head_revisions()[0])
    )
    cfg = alembic_config(engine)
    cfg.set_main_option("script_location", str(scripts))
    with migration_connection(engine) as conn:
        cfg.attributes["connection"] = conn
        alembic.command.upgrade(cfg, "head")

    assert "priority" in {c["name"] for c in inspect(engine).get_columns("runs")}
    assert len(store.metrics(parent)) == 2
    assert store.get_run(child).parent_id == parent
    with engine.connect() as conn:
        ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'runs'")).scalar_one()
        assert "AUTOINCREMENT" in ddl and "ck_runs_status" in ddl
        assert "fk_runs_parent_id_runs" in ddl and "ON DELETE RESTRICT" in ddl
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    with pytest.raises(Exception, match="FOREIGN KEY"), engine.begin() as conn:
        conn.execute(text("DELETE FROM runs WHERE id = :id"), {"id": parent})
