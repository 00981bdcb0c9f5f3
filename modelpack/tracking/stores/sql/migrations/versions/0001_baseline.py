"""Baseline: the schema of the sqlite3 store before Alembic (its ``modelpack_schema`` 2).

Foreign keys to a model's name are DEFERRABLE so a rename can update every table in
one transaction on PostgreSQL (SQLite uses ``PRAGMA defer_foreign_keys``). Times are integer milliseconds since the epoch (MLflow's unit). A NULL metric value
means NaN. Stores written before Alembic are stamped with this revision (after their
own migrations ran) rather than re-created.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _text(name: str, **kwargs: Any) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=False, **kwargs)


def _millis(name: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def upgrade() -> None:
    experiments = op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.Integer(), primary_key=True),
        _text("name", unique=True),
        _text("lifecycle_stage", server_default="active"),
        _millis("creation_time"),
        _millis("last_update_time"),
    )
    op.create_table(
        "experiment_tags",
        sa.Column(
            "experiment_id",
            sa.Integer(),
            sa.ForeignKey("experiments.experiment_id"),
            primary_key=True,
        ),
        _text("key", primary_key=True),
        _text("value"),
    )
    op.create_table(
        "runs",
        _text("run_id", primary_key=True),
        sa.Column(
            "experiment_id",
            sa.Integer(),
            sa.ForeignKey("experiments.experiment_id"),
            nullable=False,
        ),
        _text("run_name"),
        _text("status"),
        _millis("start_time"),
        _millis("end_time", nullable=True),
        _text("lifecycle_stage", server_default="active"),
        sa.Column("parent_run_id", sa.Text(), nullable=True),
    )
    op.create_index("runs_by_experiment", "runs", ["experiment_id", "start_time"])
    for table in ("params", "tags"):
        op.create_table(
            table,
            sa.Column("run_id", sa.Text(), sa.ForeignKey("runs.run_id"), primary_key=True),
            _text("key", primary_key=True),
            _text("value"),
        )
    op.create_table(
        "metrics",
        sa.Column("run_id", sa.Text(), sa.ForeignKey("runs.run_id"), nullable=False),
        _text("key"),
        sa.Column("value", sa.Float(precision=53), nullable=True),
        _millis("timestamp"),
        sa.Column("step", sa.BigInteger(), nullable=False),
    )
    op.create_index("metrics_by_run", "metrics", ["run_id", "key", "step", "timestamp"])
    now = time.time_ns() // 1_000_000
    op.bulk_insert(
        experiments,
        [{"experiment_id": 0, "name": "Default", "creation_time": now, "last_update_time": now}],
    )

    op.create_table(
        "registered_models",
        _text("name", primary_key=True),
        _millis("creation_time"),
        _millis("last_updated_time"),
        _text("description", server_default=""),
        sa.Column("last_version", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "model_versions",
        sa.Column(
            "name",
            sa.Text(),
            sa.ForeignKey("registered_models.name", deferrable=True),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        _millis("creation_time"),
        _millis("last_updated_time"),
        _text("description", server_default=""),
        _text("current_stage", server_default="None"),
        _text("source"),
        sa.Column("run_id", sa.Text(), nullable=True),
        _text("blob"),
    )
    op.create_index("model_versions_by_blob", "model_versions", ["blob"])
    op.create_table(
        "registered_model_tags",
        sa.Column(
            "name",
            sa.Text(),
            sa.ForeignKey("registered_models.name", deferrable=True),
            primary_key=True,
        ),
        _text("key", primary_key=True),
        _text("value"),
    )
    op.create_table(
        "model_version_tags",
        _text("name", primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        _text("key", primary_key=True),
        _text("value"),
        sa.ForeignKeyConstraint(
            ["name", "version"],
            ["model_versions.name", "model_versions.version"],
            deferrable=True,
        ),
    )
    op.create_table(
        "registered_model_aliases",
        sa.Column(
            "name",
            sa.Text(),
            sa.ForeignKey("registered_models.name", deferrable=True),
            primary_key=True,
        ),
        _text("alias", primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("modelpack stores migrate forward only; restore a backup")
