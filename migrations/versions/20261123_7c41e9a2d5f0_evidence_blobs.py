"""evidence blobs

One row per evidence file (photo or signature image) keyed by the SHA-256 of its bytes, with the
capture metadata read from EXIF and the hashes of its renditions. The bytes stay in the blob store.

Revision ID: 7c41e9a2d5f0
Revises: 3f8a2c9d1b7e
Create Date: 2026-11-23 13:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7c41e9a2d5f0"
down_revision = "3f8a2c9d1b7e"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "blob",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
        sa.Column("gps_lat", sa.Float(), nullable=True),
        sa.Column("gps_lon", sa.Float(), nullable=True),
        sa.Column("device", sa.String(length=100), nullable=True),
        sa.Column("orientation", sa.SmallInteger(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("renditions", sa.JSON(), nullable=False),
        sa.CheckConstraint("kind IN ('photo', 'signature', 'other')", name=op.f("ck_blob_kind")),
        sa.CheckConstraint("orientation BETWEEN 1 AND 8", name=op.f("ck_blob_orientation")),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["account.id"], name=op.f("fk_blob_uploaded_by_id_account")
        ),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blob")),
    )
    with op.batch_alter_table("blob", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blob_uploaded_by_id"), ["uploaded_by_id"], unique=False)


def downgrade():
    with op.batch_alter_table("blob", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blob_uploaded_by_id"))
    op.drop_table("blob")
