"""follow-up closing date: the date a disposition ended, and an index for overdue deadlines

``closed_on`` is the local date the matter ended as the person closing it states it (shown on the
public result); ``closed_at`` stays the moment the closing was recorded. The ledger lists open
follow-ups by deadline and highlights those past it.

Revision ID: e4b9d2a7c168
Revises: d5f1b3c8e905
Create Date: 2026-11-29 16:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e4b9d2a7c168"
down_revision = "d5f1b3c8e905"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_on", sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f("ix_follow_up_deadline"), ["deadline"], unique=False)


def downgrade():
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_up_deadline"))
        batch_op.drop_column("closed_on")
