"""The store's schema: Alembic revisions, applied when a store is first opened.

Revisions live in ``migrations/versions`` (baseline ``0001`` is the schema the
sqlite3 store had before Alembic). Opening a store costs one query when it is
current; otherwise the upgrade runs inside one transaction (under an advisory lock
on PostgreSQL), so concurrent openers wait and a crash leaves the old schema.

Stores written before Alembic carry a ``modelpack_schema`` table: their own
migrations (``LEGACY_MIGRATIONS``) finish first, then the store is stamped with the
baseline. ``modelpack_schema`` is kept with version ``LEGACY_SENTINEL``, newer than
any release before Alembic knew, so an old modelpack refuses such a store clearly
instead of damaging it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from modelpack.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection

#: The newest revision this code knows; a store at it needs no Alembic import.
HEAD = "0002"
BASELINE = "0001"
LEGACY_SENTINEL = 3
_PG_MIGRATION_LOCK = 7_326_500_101

# The pre-Alembic migrations, SQLite only: n takes a legacy store from n - 1 to n.
LEGACY_MIGRATIONS: tuple[str, ...] = (
    # 1: tracking
    """
    CREATE TABLE experiments (
        experiment_id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        lifecycle_stage TEXT NOT NULL DEFAULT 'active',
        creation_time INTEGER NOT NULL,
        last_update_time INTEGER NOT NULL
    );
    CREATE TABLE experiment_tags (
        experiment_id INTEGER NOT NULL REFERENCES experiments(experiment_id),
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (experiment_id, key)
    );
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        experiment_id INTEGER NOT NULL REFERENCES experiments(experiment_id),
        run_name TEXT NOT NULL,
        status TEXT NOT NULL,
        start_time INTEGER NOT NULL,
        end_time INTEGER,
        lifecycle_stage TEXT NOT NULL DEFAULT 'active',
        parent_run_id TEXT
    );
    CREATE INDEX runs_by_experiment ON runs(experiment_id, start_time);
    CREATE TABLE params (
        run_id TEXT NOT NULL REFERENCES runs(run_id),
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    );
    CREATE TABLE tags (
        run_id TEXT NOT NULL REFERENCES runs(run_id),
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    );
    CREATE TABLE metrics (
        run_id TEXT NOT NULL REFERENCES runs(run_id),
        key TEXT NOT NULL,
        value REAL,
        timestamp INTEGER NOT NULL,
        step INTEGER NOT NULL
    );
    CREATE INDEX metrics_by_run ON metrics(run_id, key, step, timestamp);
    INSERT INTO experiments (experiment_id, name, creation_time, last_update_time)
        VALUES (0, 'Default', CAST(strftime('%s', 'now') AS INTEGER) * 1000,
                CAST(strftime('%s', 'now') AS INTEGER) * 1000)
    """,
    # 2: model registry
    """
    CREATE TABLE registered_models (
        name TEXT PRIMARY KEY,
        creation_time INTEGER NOT NULL,
        last_updated_time INTEGER NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        last_version INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE model_versions (
        name TEXT NOT NULL REFERENCES registered_models(name),
        version INTEGER NOT NULL,
        creation_time INTEGER NOT NULL,
        last_updated_time INTEGER NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        current_stage TEXT NOT NULL DEFAULT 'None',
        source TEXT NOT NULL,
        run_id TEXT,
        blob TEXT NOT NULL,
        PRIMARY KEY (name, version)
    );
    CREATE INDEX model_versions_by_blob ON model_versions(blob);
    CREATE TABLE registered_model_tags (
        name TEXT NOT NULL REFERENCES registered_models(name),
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (name, key)
    );
    CREATE TABLE model_version_tags (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (name, version, key),
        FOREIGN KEY (name, version) REFERENCES model_versions(name, version)
    );
    CREATE TABLE registered_model_aliases (
        name TEXT NOT NULL REFERENCES registered_models(name),
        alias TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (name, alias)
    )
    """,
)


def statements(script: str) -> list[str]:
    """Split a legacy migration into statements (none has ';' inside a literal)."""
    return [part.strip() for part in script.split(";") if part.strip()]


def _has_table(conn: Connection, dialect: str, table: str) -> bool:
    if dialect == "sqlite":
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return conn.exec_driver_sql(sql, (table,)).first() is not None
    sql = "SELECT to_regclass(%s)"
    return conn.exec_driver_sql(sql, (table,)).scalar() is not None


def current_revision(conn: Connection, dialect: str) -> str | None:
    """The Alembic revision of the store on ``conn`` (``None``: none yet)."""
    if not _has_table(conn, dialect, "alembic_version"):
        return None
    found = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    return None if found is None else str(found)


def _config(conn: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["connection"] = conn
    return config


def known_revisions() -> set[str]:
    """Every revision id this code ships."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(Path(__file__).parent / "migrations"))
    return {rev.revision for rev in script.walk_revisions()}


def _newer(where: str, found: object) -> StoreError:
    return StoreError(
        f"{where} has schema revision {found}, newer than this modelpack understands "
        f"(up to {HEAD}); upgrade modelpack"
    )


def _adopt_legacy(conn: Connection, where: str) -> bool:
    """Finish a pre-Alembic store's own migrations; ``True`` if there was one to adopt."""
    if not _has_table(conn, "sqlite", "modelpack_schema"):
        return False
    row = conn.exec_driver_sql("SELECT version FROM modelpack_schema").first()
    version = int(row[0]) if row else 0
    if version > len(LEGACY_MIGRATIONS):
        raise _newer(where, f"modelpack_schema {version}")
    for script in LEGACY_MIGRATIONS[version:]:
        for statement in statements(script):
            conn.exec_driver_sql(statement)
    return True


def migrate(conn: Connection, dialect: str, where: str) -> tuple[str | None, str]:
    """Bring the store on ``conn`` to :data:`HEAD`; return (revision before, after)."""
    found = current_revision(conn, dialect)
    if found == HEAD:
        return found, found
    conn.exec_driver_sql("BEGIN IMMEDIATE" if dialect == "sqlite" else "BEGIN")
    try:
        if dialect == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        found = current_revision(conn, dialect)  # again, now that we hold the lock
        if found != HEAD:
            _upgrade(conn, dialect, where, found)
        conn.exec_driver_sql("COMMIT")
    except BaseException:
        conn.exec_driver_sql("ROLLBACK")
        raise
    return found, HEAD


def _upgrade(conn: Connection, dialect: str, where: str, found: str | None) -> None:
    from alembic import command

    if found is not None and found not in known_revisions():
        raise _newer(where, found)
    config = _config(conn)
    if found is None and dialect == "sqlite" and _adopt_legacy(conn, where):
        command.stamp(config, BASELINE)
    else:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS modelpack_schema (version INTEGER)")
    conn.exec_driver_sql("DELETE FROM modelpack_schema")
    conn.exec_driver_sql(f"INSERT INTO modelpack_schema VALUES ({LEGACY_SENTINEL})")
    command.upgrade(config, "head")


__all__ = [
    "BASELINE",
    "HEAD",
    "LEGACY_MIGRATIONS",
    "LEGACY_SENTINEL",
    "current_revision",
    "known_revisions",
    "migrate",
    "statements",
]
