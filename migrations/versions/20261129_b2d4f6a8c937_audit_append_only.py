"""audit: checkpoints of the chain's head; on PostgreSQL the log refuses UPDATE and DELETE

The trigger makes the audit log append-only for every database user except one who disables it
(a superuser or the table owner, on purpose — and ``flask audit verify`` still finds what they
changed). TRUNCATE is a statement, not a row change: it is not refused here (the tests empty every
table between cases with it); a truncated log fails verification against its checkpoints.

Revision ID: b2d4f6a8c937
Revises: a9c3e5f7b241
Create Date: 2026-11-29 15:13:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b2d4f6a8c937"
down_revision = "a9c3e5f7b241"
branch_labels = None
depends_on = None

APPEND_ONLY = """
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""
TABLES = ("audit_event", "audit_checkpoint")


def upgrade():
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoint")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_checkpoint_seq")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY)
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION audit_append_only()")
    op.drop_table("audit_checkpoint")
