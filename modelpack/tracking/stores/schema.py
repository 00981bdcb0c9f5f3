"""The SQLite schema of the tracking store, as an ordered list of migrations.

Migration ``n`` takes a store from schema version ``n - 1`` to ``n``. A store is
migrated on open, inside one write transaction, so an older store opens in a newer
modelpack and a crash mid-migration leaves the old schema intact. Never edit a
shipped migration: append a new one.
"""

from __future__ import annotations

# Times are integer milliseconds since the epoch (MLflow's unit). A NULL metric
# value means NaN: SQLite turns a NaN REAL into NULL, so we say so explicitly.
MIGRATIONS: tuple[str, ...] = (
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

SCHEMA_VERSION = len(MIGRATIONS)


def statements(script: str) -> list[str]:
    """Split a migration into statements (none of ours has ';' inside a literal)."""
    return [part.strip() for part in script.split(";") if part.strip()]


__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "statements"]
