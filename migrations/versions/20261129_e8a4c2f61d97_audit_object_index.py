"""audit object index: read one object's history (an inspection's decisions) without a full scan

Revision ID: e8a4c2f61d97
Revises: f2c6a8e4b391
Create Date: 2026-11-29 16:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "e8a4c2f61d97"
down_revision = "f2c6a8e4b391"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index("ix_audit_event_object_type_object_id", ["object_type", "object_id"], unique=False)


def downgrade():
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_object_type_object_id")
