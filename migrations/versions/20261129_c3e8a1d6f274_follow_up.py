"""follow-up: dispositions of problems found and their steps

Revision ID: c3e8a1d6f274
Revises: b7d2f5a9c463
Create Date: 2026-11-29 15:02:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c3e8a1d6f274"
down_revision = "b7d2f5a9c463"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "follow_up",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("transfer_to", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('none', 'routine', 'correction', 'case', 'transfer', 'judicial', 'discipline', 'other')",
            name=op.f("ck_follow_up_kind"),
        ),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_follow_up_status")),
        sa.ForeignKeyConstraint(
            ["category_id"], ["result_category.id"], name=op.f("fk_follow_up_category_id_result_category")
        ),
        sa.ForeignKeyConstraint(["closed_by_id"], ["account.id"], name=op.f("fk_follow_up_closed_by_id_account")),
        sa.ForeignKeyConstraint(
            ["inspection_id"], ["inspection.id"], name=op.f("fk_follow_up_inspection_id_inspection")
        ),
        sa.ForeignKeyConstraint(["opened_by_id"], ["account.id"], name=op.f("fk_follow_up_opened_by_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up")),
    )
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_up_inspection_id"), ["inspection_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_follow_up_status"), ["status"], unique=False)
    op.create_table(
        "follow_up_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("follow_up_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["account.id"], name=op.f("fk_follow_up_event_actor_id_account")),
        sa.ForeignKeyConstraint(
            ["follow_up_id"],
            ["follow_up.id"],
            name=op.f("fk_follow_up_event_follow_up_id_follow_up"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_event")),
    )
    with op.batch_alter_table("follow_up_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_up_event_follow_up_id"), ["follow_up_id"], unique=False)


def downgrade():
    with op.batch_alter_table("follow_up_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_up_event_follow_up_id"))
    op.drop_table("follow_up_event")
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_up_status"))
        batch_op.drop_index(batch_op.f("ix_follow_up_inspection_id"))
    op.drop_table("follow_up")
