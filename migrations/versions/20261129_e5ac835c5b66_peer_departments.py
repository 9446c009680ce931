"""peer departments: a department's trade, members drawn for another department, peer replacements

003 第十七条: a department with too few inspectors may draw them from a department of the same trade
(同行业部门). ``department.trade`` says which departments are peers; ``team_member.
acting_for_department_id`` names the task department a peer's inspector was drawn for;
``replacement.peers`` records a replacement drawn from peers. Existing rows keep NULL (no trade,
nobody drawn from a peer).

Revision ID: e5ac835c5b66
Revises: b7d3f9a1c524
Create Date: 2026-11-29 17:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e5ac835c5b66"
down_revision = "b7d3f9a1c524"
branch_labels = None
depends_on = None

TRADES = (
    "market",
    "drugs",
    "housing",
    "health",
    "emergency",
    "culture",
    "education",
    "ecology",
    "transport",
    "agriculture",
    "natural_resources",
    "water",
    "commerce",
    "human_resources",
    "public_security",
    "fire",
    "tax",
)


def upgrade():
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trade", sa.String(length=32), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_department_trade"), "trade IN (" + ", ".join(repr(t) for t in TRADES) + ")"
        )
    with op.batch_alter_table("replacement", schema=None) as batch_op:
        batch_op.add_column(sa.Column("peers", sa.JSON(), nullable=True))
    with op.batch_alter_table("team_member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acting_for_department_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_team_member_acting_for_department_id_department"),
            "department",
            ["acting_for_department_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("team_member", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_team_member_acting_for_department_id_department"), type_="foreignkey"
        )
        batch_op.drop_column("acting_for_department_id")
    with op.batch_alter_table("replacement", schema=None) as batch_op:
        batch_op.drop_column("peers")
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_department_trade"), type_="check")
        batch_op.drop_column("trade")
