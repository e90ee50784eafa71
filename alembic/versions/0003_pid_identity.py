"""Runs remember which process their pid meant: ``runs.pid_started``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 00:00:00.000000

A pid alone is reused by the system after a reboot or once the process is gone; the workbench
stores the process's boot id and start time beside it and believes (or signals) the pid only
while both match. Rows written before this revision have no identity and keep the old rule
(the pid alone).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the nullable column ``runs.pid_started``."""
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("pid_started", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Drop ``runs.pid_started``."""
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("pid_started")
