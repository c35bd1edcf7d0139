"""Callback requests keep their triage answers and whether details are still coming

Revision ID: d41c299555a8
Revises: d1f3b5a7c902
Create Date: 2026-11-30 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d41c299555a8"
down_revision: str | None = "d1f3b5a7c902"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("callback_requests") as batch:
        batch.add_column(sa.Column("triage", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column("complete", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("callback_requests") as batch:
        batch.drop_column("complete")
        batch.drop_column("triage")
