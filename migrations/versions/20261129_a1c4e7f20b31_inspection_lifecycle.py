"""inspection lifecycle: states, sync id, deadlines, versions and review comments

Each inspection gets the id phones know it by, the dates of its lifecycle (checked, due, submitted,
approved, published, archived, kept until) and a check on its state. Every submission is kept as a
frozen version; a reviewer's comments belong to the version they were made on.

Revision ID: a1c4e7f20b31
Revises: 5e2b7d9c4a18
Create Date: 2026-11-29 15:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a1c4e7f20b31"
down_revision = "5e2b7d9c4a18"
branch_labels = None
depends_on = None

STATES = ("assigned", "in_progress", "submitted", "returned", "approved", "published", "archived", "cancelled")


def upgrade():
    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sync_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("checked_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("result_due_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("submitted_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("published_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("retain_until", sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f("ix_inspection_state"), ["state"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_inspection_sync_id"), ["sync_id"])
        batch_op.create_check_constraint(
            "state", f"state IN ({', '.join(repr(s) for s in STATES)})"
        )

    op.create_table(
        "inspection_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "status IN ('submitted', 'returned', 'approved')", name=op.f("ck_inspection_version_status")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["account.id"], name=op.f("fk_inspection_version_decided_by_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"], ["inspection.id"], name=op.f("fk_inspection_version_inspection_id_inspection")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"], ["account.id"], name=op.f("fk_inspection_version_submitted_by_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_version")),
        sa.UniqueConstraint(
            "inspection_id", "number", name=op.f("uq_inspection_version_inspection_id_number")
        ),
    )
    with op.batch_alter_table("inspection_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inspection_version_inspection_id"), ["inspection_id"], unique=False)

    op.create_table(
        "review_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["account.id"], name=op.f("fk_review_comment_author_id_account")),
        sa.ForeignKeyConstraint(
            ["version_id"], ["inspection_version.id"], name=op.f("fk_review_comment_version_id_inspection_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_comment")),
    )
    with op.batch_alter_table("review_comment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_comment_version_id"), ["version_id"], unique=False)


def downgrade():
    with op.batch_alter_table("review_comment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_comment_version_id"))
    op.drop_table("review_comment")
    with op.batch_alter_table("inspection_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_version_inspection_id"))
    op.drop_table("inspection_version")
    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.drop_constraint("state", type_="check")
        batch_op.drop_constraint(batch_op.f("uq_inspection_sync_id"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_inspection_state"))
        batch_op.drop_column("retain_until")
        batch_op.drop_column("archived_at")
        batch_op.drop_column("published_at")
        batch_op.drop_column("approved_at")
        batch_op.drop_column("submitted_at")
        batch_op.drop_column("late")
        batch_op.drop_column("result_due_on")
        batch_op.drop_column("checked_on")
        batch_op.drop_column("sync_id")
