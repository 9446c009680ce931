"""import heartbeat: when a running import last showed it was alive

A job whose heartbeat stopped (the process was restarted mid-import) is marked failed by the
import watchdog job: the import is one transaction, so nothing of it was applied, and the admin can
run its file again. Existing rows keep NULL (the watchdog then goes by created_at).

Revision ID: 5181be3cef7b
Revises: e5ac835c5b66
Create Date: 2026-11-29 18:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5181be3cef7b"
down_revision = "e5ac835c5b66"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
