"""SQLite engines and Alembic migrations for the workbench database.

Every connection made by :func:`make_engine` runs in WAL mode with a 30 s busy timeout and
foreign keys enforced, and every transaction starts with ``BEGIN IMMEDIATE`` so that a writer
waits (up to the busy timeout) for another process's write lock instead of failing half-way
through with ``database is locked``. Read-only work can ask for a plain deferred ``BEGIN`` via
:func:`deferred`, which in WAL mode never waits for writers.

The migrations live in the repository-root ``alembic/`` folder, shipped in the wheel as the
package ``workbench._migrations`` (see :func:`migrations_dir`). :func:`upgrade` runs them in
code on a shared connection (no ``alembic.ini`` needed); :func:`check` reports whether the ORM
models and the migrated database differ.

Alembic is imported only when there is something to migrate: a database already at the head
revision (every open but the first) is recognised by reading its ``alembic_version`` row and the
revision ids written in the migration scripts (:func:`script_heads`), which saves every process
that opens the store (a run's worker above all) the import of Alembic and Mako.
"""

from __future__ import annotations

import ast
import importlib.resources
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import (
    URL,
    Column,
    Connection,
    Constraint,
    Engine,
    ExceptionContext,
    Index,
    MetaData,
    Table,
    create_engine,
    event,
)

from workbench import __version__
from workbench.environment import ELSEWHERE, FREE_SPACE, MAKE_WRITABLE, folder_problem

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_PACKAGE: Final[str] = "workbench._migrations"
BUSY_TIMEOUT_MS: Final[int] = 30_000
BEGIN_OPTION: Final[str] = "workbench_sqlite_begin"
"""Execution option choosing how transactions begin: ``IMMEDIATE`` (default) or ``DEFERRED``."""
_BEGIN_MODES: Final[frozenset[str]] = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class RunNotFound(StoreError, LookupError):
    """No run has the id or name that was asked for."""


class RunHasChildren(StoreError):
    """A run cannot be deleted while other runs name it as their parent."""


class MigrationError(StoreError):
    """The migrations are missing or left the database inconsistent."""


class SchemaTooNew(MigrationError):
    """The database is at a revision these migrations do not know: a newer workbench wrote it."""


class DatabaseUnusable(StoreError):
    """The database file cannot be used: not a database, damaged, read-only, or its disk full."""


_DAMAGED = ("file is not a database", "database disk image is malformed")
_WHAT_TO_DO = "(the next command creates a new, empty one) or restore it from a backup"


def _database_problem(db_path: Path, error: BaseException) -> DatabaseUnusable | None:
    """The one-sentence error for an SQLite failure the file or its disk caused, else None."""
    message = str(error)
    if any(text in message for text in _DAMAGED):
        return DatabaseUnusable(
            f"{db_path} is not a workbench database or is damaged ({message}): move it aside "
            f"{_WHAT_TO_DO}"
        )
    if not any(
        text in message
        for text in (
            "database or disk is full",
            "readonly database",
            "unable to open database file",
            "disk I/O error",
        )
    ):
        return None
    found = folder_problem(db_path.parent)
    if found is None and "full" in message:
        found = (f"no space left on the device holding {db_path}", f"{FREE_SPACE}, or {ELSEWHERE}")
    if found is None and "readonly" in message:
        found = (f"{db_path} is read-only", f"{MAKE_WRITABLE}, or {ELSEWHERE}")
    if found is None:
        found = ("", f"check that its folder is writable and its disk not full, or {ELSEWHERE}")
    problem, remedy = found
    reason = f"{problem} ({message})" if problem else message
    return DatabaseUnusable(f"cannot use the database {db_path}: {reason}: {remedy}")


def make_engine(db_path: Path) -> Engine:
    """An engine for the SQLite file ``db_path`` with the workbench's pragmas and locking.

    The parent folder must exist; the file is created on first connection.
    """
    url = URL.create("sqlite+pysqlite", database=str(Path(db_path)))
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        # A damaged file, a read-only folder or a full disk: one sentence naming the file, in
        # place of SQLAlchemy's error and its traceback through the pool.
        problem = _database_problem(Path(db_path), context.original_exception)
        if problem is not None:
            raise problem from context.original_exception

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Take BEGIN away from the sqlite3 module; the "begin" listener below emits it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching a fresh file to WAL needs a lock.
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = str(conn.get_execution_options().get(BEGIN_OPTION, "IMMEDIATE")).upper()
        if mode not in _BEGIN_MODES:
            raise ValueError(f"{BEGIN_OPTION}={mode!r}: expected one of {sorted(_BEGIN_MODES)}")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def deferred(engine: Engine) -> Engine:
    """A view of ``engine`` (same pool and events) whose transactions begin DEFERRED.

    Use it only for read-only work: a deferred transaction that later writes can fail at once
    with ``database is locked`` instead of waiting for the busy timeout.
    """
    return engine.execution_options(**{BEGIN_OPTION: "DEFERRED"})


def migrations_dir() -> Path:
    """The folder holding the migrations' ``env.py``, ``script.py.mako`` and ``versions/``.

    In an installed wheel it is the package ``workbench._migrations`` (setup.py ships the
    repository-root ``alembic/`` folder under that name), found with ``importlib.resources``.
    In a checkout or an editable install that package cannot be imported (setuptools' editable
    finder does not map a subpackage to another folder), and the folder is the repository-root
    ``alembic/`` itself.
    """
    candidates: list[Path] = []
    try:
        # The package has no __init__.py; joinpath gives a real path on disk, which Alembic needs.
        env_py = importlib.resources.files(MIGRATIONS_PACKAGE).joinpath("env.py")
        candidates.append(Path(str(env_py)).parent)
    except ModuleNotFoundError:
        pass
    candidates.append(Path(__file__).resolve().parents[2] / "alembic")
    for folder in candidates:
        if (folder / "env.py").is_file() and (folder / "versions").is_dir():
            return folder
    looked = ", ".join(str(folder) for folder in candidates)
    raise MigrationError(
        f"the database migrations (env.py and versions/) were not found (looked in {looked}); "
        "reinstall the workbench from a complete checkout or wheel (pip install .)"
    )


def _ini_escape(value: str) -> str:
    # Config.set_main_option goes through ConfigParser interpolation.
    return value.replace("%", "%%")


def alembic_config(engine_or_url: Engine | URL | str | None = None) -> Config:
    """An Alembic config built in code for the migrations in :func:`migrations_dir`.

    An engine is also handed to ``env.py`` through ``config.attributes["engine"]``; callers that
    already hold a connection put it in ``config.attributes["connection"]``.
    """
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", _ini_escape(str(migrations_dir())))
    cfg.set_main_option("path_separator", "os")
    url: URL | str | None
    if isinstance(engine_or_url, Engine):
        cfg.attributes["engine"] = engine_or_url
        url = engine_or_url.url
    else:
        url = engine_or_url
    if url is not None:
        text = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
        cfg.set_main_option("sqlalchemy.url", _ini_escape(text))
    return cfg


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside one transaction, set up for schema changes.

    On SQLite, foreign keys are switched off for its duration (they cannot change inside a
    transaction): a batch migration copies and drops tables, and with foreign keys on, dropping
    ``runs`` would cascade-delete every metric. Before committing, ``PRAGMA foreign_key_check``
    must come back empty, or the whole migration rolls back with :class:`MigrationError`.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw: Any = conn.connection.driver_connection
        if sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                yield conn
                if sqlite:
                    problems = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if problems:
                        shown = ", ".join(str(tuple(row)) for row in problems[:10])
                        raise MigrationError(
                            f"migration left {len(problems)} foreign-key violation(s) "
                            f"(table, rowid, parent, fkid): {shown}"
                        )
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


def _script_revision(path: Path) -> tuple[str, tuple[str, ...]] | None:
    """``(revision, down_revisions)`` assigned at the top level of one migration script, or None
    when the script does not spell them out as string literals."""
    values: dict[str, Any] = {}
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, value = node.target.id, node.value
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            name, value = node.targets[0].id, node.value
        else:
            continue
        if name in ("revision", "down_revision") and value is not None:
            try:
                values[name] = ast.literal_eval(value)
            except ValueError:
                return None
    revision, down = values.get("revision"), values.get("down_revision")
    if not isinstance(revision, str):
        return None
    if down is None:
        return revision, ()
    if isinstance(down, str):
        return revision, (down,)
    if isinstance(down, list | tuple) and all(isinstance(d, str) for d in down):
        return revision, tuple(down)
    return None


def script_heads(versions: Path | None = None) -> frozenset[str] | None:
    """The head revisions of the migration scripts in ``versions`` (default: the shipped ones),
    read from their ``revision`` and ``down_revision`` lines without importing Alembic; None
    when any script cannot be read that way (the caller then asks Alembic)."""
    folder = versions if versions is not None else migrations_dir() / "versions"
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in folder.glob("*.py"):
        found = _script_revision(script)
        if found is None:
            return None
        revision, down = found
        revisions.add(revision)
        parents.update(down)
    heads = revisions - parents
    return frozenset(heads) if heads else None


def _stored_revisions(engine: Engine) -> frozenset[str] | None:
    """The revisions in the database's ``alembic_version`` table (None when it has none)."""
    with deferred(engine).connect() as conn:
        exists = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).first()
        if exists is None:
            return None
        rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    return frozenset(str(row[0]) for row in rows)


def at_head(engine: Engine) -> bool:
    """True when the database is at exactly the migrations' head, known without Alembic; False
    when it is not, or when that cannot be told cheaply (not SQLite, unreadable scripts)."""
    if engine.dialect.name != "sqlite":
        return False
    heads = script_heads()
    return heads is not None and _stored_revisions(engine) == heads


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database forward to ``revision`` (default: the newest).

    A database already at head is only read (no write lock, no foreign-key scan, and no import
    of Alembic: :func:`at_head`), so opening the store from many processes stays cheap.
    """
    if revision == "head" and at_head(engine):
        return
    import alembic.command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = alembic_config(engine)
    script = ScriptDirectory.from_config(cfg)
    with deferred(engine).connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = sorted(current - known)
    if unknown:
        raise SchemaTooNew(
            f"{_database_file(engine)} is at schema revision {', '.join(unknown)}, which this "
            f"workbench ({__version__}) does not know: a newer workbench wrote it. Upgrade the "
            f"workbench (pip install -U workbench), or {ELSEWHERE}"
        )
    if revision == "head" and current == set(script.get_heads()):
        return
    with migration_connection(engine) as conn:
        cfg.attributes["connection"] = conn
        alembic.command.upgrade(cfg, revision)


def _database_file(engine: Engine) -> str:
    return f"the database {engine.url.database}" if engine.url.database else "the database"


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database back to ``revision`` (``"base"`` drops every table)."""
    import alembic.command

    cfg = alembic_config(engine)
    with migration_connection(engine) as conn:
        cfg.attributes["connection"] = conn
        alembic.command.downgrade(cfg, revision)


def head_revisions() -> tuple[str, ...]:
    """The head revision(s) of the migration scripts (exactly one in a healthy tree)."""
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for a database never migrated."""
    from alembic.runtime.migration import MigrationContext

    with deferred(engine).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _describe(part: Any) -> str:
    if isinstance(part, Table):
        return part.name
    if isinstance(part, Column):
        table = getattr(part, "table", None)
        prefix = f"{table.name}." if isinstance(table, Table) else ""
        return f"{prefix}{part.name} {part.type}"
    if isinstance(part, Index):
        columns = ", ".join(str(getattr(c, "name", c)) for c in part.expressions)
        return f"{part.name} on {part.table.name if part.table is not None else '?'}({columns})"
    if isinstance(part, Constraint):
        table = getattr(part, "table", None)
        where = f" on {table.name}" if isinstance(table, Table) else ""
        return f"{type(part).__name__} {part.name}{where}"
    return repr(part)


def _format_diff(diff: Any) -> str:
    if isinstance(diff, list):
        return "\n".join(_format_diff(item) for item in diff)
    if isinstance(diff, tuple) and diff and isinstance(diff[0], str):
        parts = [_describe(part) for part in diff[1:] if part is not None]
        return f"{diff[0]}: " + ", ".join(parts)
    return repr(diff)


def check(engine: Engine, metadata: MetaData | None = None) -> str | None:
    """None when the database matches ``metadata`` (default: the ORM models), else the diffs.

    Run it on a database upgraded to head to learn whether the migrations still produce the
    schema the models describe. A database behind the migration head is reported too.
    """
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    if metadata is None:
        from workbench.store.models import Base

        metadata = Base.metadata
    heads = set(head_revisions())
    with deferred(engine).connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "target_metadata": metadata,
                "compare_type": True,
                "compare_server_default": True,
                "render_as_batch": True,
            },
        )
        current = set(context.get_current_heads())
        diffs = compare_metadata(context, metadata)
    lines: list[str] = []
    if current != heads:
        lines.append(
            f"database is at revision {sorted(current) or 'none'}, "
            f"the migrations' head is {sorted(heads)}"
        )
    lines.extend(_format_diff(diff) for diff in diffs)
    return "\n".join(lines) if lines else None
