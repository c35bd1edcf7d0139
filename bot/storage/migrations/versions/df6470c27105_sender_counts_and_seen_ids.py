"""Per-sender message counts (flood caps) and hashed handled message ids (replays)

Revision ID: df6470c27105
Revises: c77710a3b447
Create Date: 2026-11-30 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "df6470c27105"
down_revision: str | None = "c77710a3b447"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sender_counts",
        sa.Column("person_key", sa.String(length=64), nullable=False),
        sa.Column("window_start", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("noticed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("person_key"),
    )
    op.create_index(
        op.f("ix_sender_counts_window_start"), "sender_counts", ["window_start"], unique=False
    )
    op.create_table(
        "seen_message_ids",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(
        op.f("ix_seen_message_ids_seen_at"), "seen_message_ids", ["seen_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_seen_message_ids_seen_at"), table_name="seen_message_ids")
    op.drop_table("seen_message_ids")
    op.drop_index(op.f("ix_sender_counts_window_start"), table_name="sender_counts")
    op.drop_table("sender_counts")
