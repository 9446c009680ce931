"""publication indexes: published results newest first, and the feed's updated_since

Revision ID: f2c6a8e4b391
Revises: e4b9d2a7c168
Create Date: 2026-11-29 16:11:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "f2c6a8e4b391"
down_revision = "e4b9d2a7c168"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("inspection_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inspection_result_published_at"), ["published_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_inspection_result_updated_at"), ["updated_at"], unique=False)


def downgrade():
    with op.batch_alter_table("inspection_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_result_updated_at"))
        batch_op.drop_index(batch_op.f("ix_inspection_result_published_at"))
