"""recovery: imports of the field app's exported unsynced data (dry run, then applied)

Revision ID: b7d3f9a1c524
Revises: d8f0b2c4e695
Create Date: 2026-11-29 17:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7d3f9a1c524"
down_revision = "d8f0b2c4e695"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "recovery_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("exported_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("applied_by_id", sa.Integer(), nullable=True),
        sa.Column("applied_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('checked', 'blocked', 'applied')", name=op.f("ck_recovery_import_status")
        ),
        sa.ForeignKeyConstraint(
            ["applied_by_id"], ["account.id"], name=op.f("fk_recovery_import_applied_by_id_account")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["account.id"], name=op.f("fk_recovery_import_owner_id_account")),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["account.id"], name=op.f("fk_recovery_import_uploaded_by_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_import")),
    )
    with op.batch_alter_table("recovery_import", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_import_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recovery_import_uploaded_by_id"), ["uploaded_by_id"], unique=False)


def downgrade():
    with op.batch_alter_table("recovery_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_import_uploaded_by_id"))
        batch_op.drop_index(batch_op.f("ix_recovery_import_owner_id"))
    op.drop_table("recovery_import")
