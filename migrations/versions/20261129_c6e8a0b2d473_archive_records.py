"""archive: one record per archived inspection with its manifest and manifest hash

Revision ID: c6e8a0b2d473
Revises: b2d4f6a8c937
Create Date: 2026-11-29 15:14:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c6e8a0b2d473"
down_revision = "b2d4f6a8c937"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "archive_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("archived_at", sa.DateTime(), nullable=False),
        sa.Column("retain_until", sa.Date(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("manifest_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"], ["inspection.id"], name=op.f("fk_archive_record_inspection_id_inspection")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_record")),
        sa.UniqueConstraint("inspection_id", name=op.f("uq_archive_record_inspection_id")),
    )


def downgrade():
    op.drop_table("archive_record")
