"""blob refs: what refers to each evidence file

Written when a photo or signature record (or a follow-up step) naming a file arrives, often before
the file itself, so there is no foreign key to ``blob``. A file is never deleted while a row names
it, and the team of the inspection may open it.

Revision ID: d5f1b3c8e905
Revises: c3e8a1d6f274
Create Date: 2026-11-29 15:03:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d5f1b3c8e905"
down_revision = "c3e8a1d6f274"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "blob_ref",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"], ["inspection.id"], name=op.f("fk_blob_ref_inspection_id_inspection")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blob_ref")),
        sa.UniqueConstraint("sha256", "source", "source_id", name=op.f("uq_blob_ref_sha256_source_source_id")),
    )
    with op.batch_alter_table("blob_ref", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blob_ref_inspection_id"), ["inspection_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_blob_ref_sha256"), ["sha256"], unique=False)


def downgrade():
    with op.batch_alter_table("blob_ref", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blob_ref_sha256"))
        batch_op.drop_index(batch_op.f("ix_blob_ref_inspection_id"))
    op.drop_table("blob_ref")
