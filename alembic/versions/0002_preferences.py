"""Preference labelling: annotators, prompts, completions, comparison pairs, preference labels.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 00:00:00.000000

Written by hand and independent of workbench.store.models: every name below follows the
models' naming convention (ix_/uq_/ck_/fk_/pk_) so later batch migrations can find them.
Indexes are created through ``batch_alter_table``, as ``render_as_batch`` renders them; on
SQLite adding an index does not recreate the table.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANNOTATOR_KINDS = ("human", "simulated")
PREFERENCE_CHOICES = ("a", "b", "tie", "both_bad")


def _in_check(column: str, values: tuple[str, ...]) -> str:
    return "{} IN ({})".format(column, ", ".join(f"'{v}'" for v in values))


def upgrade() -> None:
    """Create the five labelling tables and their indexes."""
    op.create_table(
        "annotators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("plugin", sa.String(length=255), nullable=True),
        sa.Column("config", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(_in_check("kind", ANNOTATOR_KINDS), name=op.f("ck_annotators_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotators")),
        sa.UniqueConstraint("name", name=op.f("uq_annotators_name")),
    )

    op.create_table(
        "prompts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompts")),
    )

    op.create_table(
        "completions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prompt_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("generation", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["prompt_id"],
            ["prompts.id"],
            name=op.f("fk_completions_prompt_id_prompts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_completions_run_id_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_completions")),
    )
    with op.batch_alter_table("completions") as batch:
        batch.create_index(batch.f("ix_completions_prompt_id"), ["prompt_id"], unique=False)
        batch.create_index(batch.f("ix_completions_run_id"), ["run_id"], unique=False)

    op.create_table(
        "comparison_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prompt_id", sa.Integer(), nullable=False),
        sa.Column("completion_a_id", sa.Integer(), nullable=False),
        sa.Column("completion_b_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "completion_a_id <> completion_b_id",
            name=op.f("ck_comparison_pairs_distinct_completions"),
        ),
        sa.ForeignKeyConstraint(
            ["prompt_id"],
            ["prompts.id"],
            name=op.f("fk_comparison_pairs_prompt_id_prompts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["completion_a_id"],
            ["completions.id"],
            name=op.f("fk_comparison_pairs_completion_a_id_completions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["completion_b_id"],
            ["completions.id"],
            name=op.f("fk_comparison_pairs_completion_b_id_completions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comparison_pairs")),
    )
    with op.batch_alter_table("comparison_pairs") as batch:
        batch.create_index(batch.f("ix_comparison_pairs_prompt_id"), ["prompt_id"], unique=False)
        batch.create_index(
            batch.f("ix_comparison_pairs_completion_a_id"), ["completion_a_id"], unique=False
        )
        batch.create_index(
            batch.f("ix_comparison_pairs_completion_b_id"), ["completion_b_id"], unique=False
        )

    op.create_table(
        "preference_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("annotator_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            _in_check("choice", PREFERENCE_CHOICES), name=op.f("ck_preference_labels_choice")
        ),
        sa.ForeignKeyConstraint(
            ["pair_id"],
            ["comparison_pairs.id"],
            name=op.f("fk_preference_labels_pair_id_comparison_pairs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["annotator_id"],
            ["annotators.id"],
            name=op.f("fk_preference_labels_annotator_id_annotators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preference_labels")),
        sa.UniqueConstraint("pair_id", "annotator_id", name=op.f("uq_preference_labels_pair_id")),
    )
    with op.batch_alter_table("preference_labels") as batch:
        batch.create_index(
            batch.f("ix_preference_labels_annotator_id"), ["annotator_id"], unique=False
        )


def downgrade() -> None:
    """Drop the labelling tables, children first."""
    with op.batch_alter_table("preference_labels") as batch:
        batch.drop_index(batch.f("ix_preference_labels_annotator_id"))
    op.drop_table("preference_labels")
    with op.batch_alter_table("comparison_pairs") as batch:
        batch.drop_index(batch.f("ix_comparison_pairs_completion_b_id"))
        batch.drop_index(batch.f("ix_comparison_pairs_completion_a_id"))
        batch.drop_index(batch.f("ix_comparison_pairs_prompt_id"))
    op.drop_table("comparison_pairs")
    with op.batch_alter_table("completions") as batch:
        batch.drop_index(batch.f("ix_completions_run_id"))
        batch.drop_index(batch.f("ix_completions_prompt_id"))
    op.drop_table("completions")
    op.drop_table("prompts")
    op.drop_table("annotators")
