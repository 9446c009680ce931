"""sync store

The database behind ``sync.store.Store``: synced records as per-field claims, the stored result of
every device change (idempotent replays), and the single-row counter that hands out seqs in commit
order (not a SEQUENCE: see sync/PROTOCOL.md §8).

Revision ID: 5e2b7d9c4a18
Revises: 7c41e9a2d5f0
Create Date: 2026-11-23 14:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5e2b7d9c4a18"
down_revision = "7c41e9a2d5f0"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sync_record",
        sa.Column("record_type", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("inspection_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_sync_record_version_positive")),
        sa.PrimaryKeyConstraint("record_type", "record_id", name=op.f("pk_sync_record")),
        sa.UniqueConstraint("seq", name=op.f("uq_sync_record_seq")),
    )
    with op.batch_alter_table("sync_record", schema=None) as batch_op:
        batch_op.create_index("ix_sync_record_inspection_id_seq", ["inspection_id", "seq"], unique=False)

    op.create_table(
        "sync_change",
        sa.Column("change_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("result_json", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_sync_change")),
        sa.UniqueConstraint("seq", name=op.f("uq_sync_change_seq")),
    )

    sync_counter = op.create_table(
        "sync_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("next_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_sync_counter_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_counter")),
    )
    op.bulk_insert(sync_counter, [{"id": 1, "next_seq": 1}])


def downgrade():
    op.drop_table("sync_counter")
    op.drop_table("sync_change")
    with op.batch_alter_table("sync_record", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_record_inspection_id_seq")
    op.drop_table("sync_record")
