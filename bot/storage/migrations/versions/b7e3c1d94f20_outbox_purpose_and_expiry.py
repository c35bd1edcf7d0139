"""Outbox rows name their callback request and when they become void

Revision ID: b7e3c1d94f20
Revises: 8d41f0a2c6e7
Create Date: 2026-12-02 10:00:00

Rows already queued get an expiry from their kind (the text before a call 15
minutes after it was queued, a staff notice 6 hours) and the text before a
call finds its request from its dedupe key ("text_before_call:FD-7KQ2:..."),
so nothing queued before this change can go out unchecked.
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "b7e3c1d94f20"
down_revision: str | None = "8d41f0a2c6e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXPIRY = {"text_before_call": timedelta(minutes=15), "staff_notice": timedelta(hours=6)}


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("request_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("dedupe_key", sa.String()),
        sa.column("request_id", sa.Integer()),
        sa.column("created_at", sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    )
    requests = sa.table(
        "callback_requests", sa.column("id", sa.Integer()), sa.column("reference", sa.String())
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(outbox.c.id, outbox.c.kind, outbox.c.dedupe_key, outbox.c.created_at)
    ).all()
    for row_id, kind, dedupe_key, created_at in rows:
        request_id = None
        if kind == "text_before_call":
            reference = (dedupe_key.split(":") + ["", ""])[1]
            request_id = connection.execute(
                sa.select(requests.c.id).where(requests.c.reference == reference)
            ).scalar_one_or_none()
        connection.execute(
            outbox.update()
            .where(outbox.c.id == row_id)
            .values(
                request_id=request_id,
                expires_at=created_at + EXPIRY.get(kind, timedelta(0)),
            )
        )
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column(
            "expires_at", existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False
        )
        batch.create_index(batch.f("ix_outbox_request_id"), ["request_id"], unique=False)
        batch.create_index(batch.f("ix_outbox_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index(batch.f("ix_outbox_expires_at"))
        batch.drop_index(batch.f("ix_outbox_request_id"))
        batch.drop_column("expires_at")
        batch.drop_column("request_id")
