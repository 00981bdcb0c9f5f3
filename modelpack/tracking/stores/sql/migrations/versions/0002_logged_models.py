"""MLflow 3 logged models: a model logged from a run, with its own artifacts, params and
tags, before (or without) registration. Times are integer milliseconds.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "logged_models",
        sa.Column("model_id", sa.Text(), primary_key=True),
        sa.Column(
            "experiment_id",
            sa.Integer(),
            sa.ForeignKey("experiments.experiment_id"),
            nullable=False,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("model_type", sa.Text(), nullable=False, server_default=""),
        sa.Column("source_run_id", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("lifecycle_stage", sa.Text(), nullable=False, server_default="active"),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("last_updated_time", sa.BigInteger(), nullable=False),
    )
    op.create_index("logged_models_by_experiment", "logged_models", ["experiment_id", "name"])
    for table in ("logged_model_tags", "logged_model_params"):
        op.create_table(
            table,
            sa.Column(
                "model_id", sa.Text(), sa.ForeignKey("logged_models.model_id"), primary_key=True
            ),
            sa.Column("key", sa.Text(), primary_key=True),
            sa.Column("value", sa.Text(), nullable=False),
        )


def downgrade() -> None:
    op.drop_table("logged_model_params")
    op.drop_table("logged_model_tags")
    op.drop_index("logged_models_by_experiment", "logged_models")
    op.drop_table("logged_models")
