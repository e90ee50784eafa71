"""Alembic environment for the workbench database.

Where the database comes from, first match wins:

1. ``config.attributes["connection"]``: a connection already inside a transaction, handed over
   by :func:`workbench.store.db.upgrade` and friends (the application's own path);
2. ``config.attributes["engine"]``: an engine from :func:`workbench.store.db.alembic_config`;
3. the ``sqlalchemy.url`` main option (``alembic.ini`` or code);
4. ``$WORKBENCH_HOME/workbench.db`` via :func:`workbench.paths.resolve_home` (the CLI default).

Operations are always rendered as batch operations, which SQLite needs for most ALTERs.
"""

from __future__ import annotations

from logging.config import fileConfig
from pathlib import Path

import alembic.context as context
from sqlalchemy import Connection, Engine, create_engine, make_url
from sqlalchemy.pool import NullPool

from workbench.paths import resolve_home
from workbench.store.db import make_engine, migration_connection
from workbench.store.models import Base

config = context.config

if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    return f"sqlite:///{resolve_home().database}"


def _engine() -> tuple[Engine, bool]:
    """The engine to migrate with, and whether this module made it (and must dispose of it)."""
    given = config.attributes.get("engine")
    if isinstance(given, Engine):
        return given, False
    url = make_url(_url())
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        return make_engine(path), True
    return create_engine(url, poolclass=NullPool), True


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Write the migration SQL to stdout instead of running it."""
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations against a live database."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine, owned = _engine()
    try:
        with migration_connection(engine) as conn:
            _run(conn)
    finally:
        if owned:
            engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
