"""A request opens only for whoever knows its code word or PIN; wrong words lock the sender

Revision ID: c77710a3b447
Revises: d41c299555a8
Create Date: 2026-11-30 19:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "c77710a3b447"
down_revision: str | None = "d41c299555a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("callback_requests") as batch:
        batch.add_column(
            sa.Column("pin_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch.add_column(
            sa.Column("gate_locked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    op.create_table(
        "code_word_locks",
        sa.Column("person_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("counted_since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("locked_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("person_key"),
    )
    op.create_index(
        op.f("ix_code_word_locks_locked_until"), "code_word_locks", ["locked_until"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_code_word_locks_locked_until"), table_name="code_word_locks")
    op.drop_table("code_word_locks")
    with op.batch_alter_table("callback_requests") as batch:
        batch.drop_column("gate_locked_at")
        batch.drop_column("pin_hash")
