"""Handled messages remember which replies were sent, to finish sending them

Revision ID: 8d41f0a2c6e7
Revises: 5a1e7c3d9b20
Create Date: 2026-11-30 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8d41f0a2c6e7"
down_revision: str | None = "5a1e7c3d9b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("handled_messages") as batch:
        batch.add_column(sa.Column("reply_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("delivered", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("address_enc", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("delivery_claimed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handled_messages") as batch:
        batch.drop_column("delivery_claimed_at")
        batch.drop_column("address_enc")
        batch.drop_column("delivered")
        batch.drop_column("reply_count")
