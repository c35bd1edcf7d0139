"""Callback requests keep the safety screen's codes

Revision ID: 5a1e7c3d9b20
Revises: 1806893172b5
Create Date: 2026-11-30 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a1e7c3d9b20"
down_revision: str | None = "1806893172b5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("callback_requests") as batch:
        batch.add_column(sa.Column("safety_flags", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("callback_requests") as batch:
        batch.drop_column("safety_flags")
