"""Evaluation items: every scored item of an evaluation (prompt, answer, target, correct).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 00:00:00.000000

Written by hand and independent of workbench.store.models, following the models' naming
convention (ix_/fk_/pk_).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``evaluation_items`` and its index on the evaluation."""
    op.create_table(
        "evaluation_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=255), nullable=False),
        sa.Column("k", sa.Integer(), nullable=True),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("item", sa.Integer(), nullable=True),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            ["evaluations.id"],
            name=op.f("fk_evaluation_items_evaluation_id_evaluations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_items")),
    )
    with op.batch_alter_table("evaluation_items") as batch:
        batch.create_index(
            batch.f("ix_evaluation_items_evaluation_id"), ["evaluation_id"], unique=False
        )


def downgrade() -> None:
    """Drop ``evaluation_items``."""
    with op.batch_alter_table("evaluation_items") as batch:
        batch.drop_index(batch.f("ix_evaluation_items_evaluation_id"))
    op.drop_table("evaluation_items")
