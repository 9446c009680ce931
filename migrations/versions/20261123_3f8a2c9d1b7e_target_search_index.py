"""target search index

Full-text search over ``target.search_grams`` (the name's character bigrams, see
``server/directory/grams.py``), so a Chinese name fragment is found without scanning the table.

- SQLite: an FTS5 external-content table ``target_fts`` that stores only the index (the text stays
  in ``target``), kept in sync by triggers so rows written by bulk core inserts are indexed too.
- PostgreSQL: a GIN index on ``to_tsvector('simple', search_grams)``; 'simple' neither stems nor
  drops stop words, so every bigram is a lexeme.

Revision ID: 3f8a2c9d1b7e
Revises: ebfd0393f47b
Create Date: 2026-11-23 12:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "3f8a2c9d1b7e"
down_revision = "ebfd0393f47b"
branch_labels = None
depends_on = None

SQLITE_UP = (
    """CREATE VIRTUAL TABLE target_fts USING fts5(
        search_grams, content='target', content_rowid='id', tokenize="unicode61"
    )""",
    """CREATE TRIGGER target_fts_ai AFTER INSERT ON target BEGIN
        INSERT INTO target_fts(rowid, search_grams) VALUES (new.id, new.search_grams);
    END""",
    # An external-content table must be told the old text to remove it from the index.
    """CREATE TRIGGER target_fts_ad AFTER DELETE ON target BEGIN
        INSERT INTO target_fts(target_fts, rowid, search_grams) VALUES ('delete', old.id, old.search_grams);
    END""",
    # Only when the grams (or the id) change: risk reclassification rewrites many rows and
    # must not churn the index.
    """CREATE TRIGGER target_fts_au AFTER UPDATE OF search_grams, id ON target BEGIN
        INSERT INTO target_fts(target_fts, rowid, search_grams) VALUES ('delete', old.id, old.search_grams);
        INSERT INTO target_fts(rowid, search_grams) VALUES (new.id, new.search_grams);
    END""",
    # Index the rows that exist already.
    "INSERT INTO target_fts(target_fts) VALUES ('rebuild')",
)

SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS target_fts_au",
    "DROP TRIGGER IF EXISTS target_fts_ad",
    "DROP TRIGGER IF EXISTS target_fts_ai",
    "DROP TABLE IF EXISTS target_fts",
)

PG_UP = (
    "CREATE INDEX ix_target_search_grams_fts ON target USING gin (to_tsvector('simple', search_grams))",
)
PG_DOWN = ("DROP INDEX IF EXISTS ix_target_search_grams_fts",)


def _run(statements):
    for sql in statements:
        op.execute(sql)


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_UP)
    elif dialect == "postgresql":
        _run(PG_UP)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_DOWN)
    elif dialect == "postgresql":
        _run(PG_DOWN)
