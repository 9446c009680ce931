"""Search the target directory by name fragment or credit-code prefix, fast over millions of rows.

A name fragment becomes a phrase of character bigrams (``grams.query_grams``) matched against the
full-text index the migration ``target_search_index`` builds over ``Target.search_grams``:
an FTS5 table on SQLite, a GIN index on ``to_tsvector('simple', search_grams)`` on PostgreSQL.
A code prefix is a range scan on the unique index of ``code``. Nothing here ever runs
``name LIKE '%…%'``, which reads every row.

``search_grams`` must always match ``name``: an attribute listener below refreshes it whenever
``Target.name`` is set through the ORM. Bulk core inserts must fill it with ``grams.name_grams``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, column, event, false, func, literal, literal_column, or_, select, table
from sqlalchemy.sql.elements import ColumnElement

from server.directory.grams import name_grams, query_grams
from server.directory.models import Target, TargetTag
from server.extensions import db

# Counting stops here: "more than 1,000" is all a person needs, and an exact count of a
# common fragment over a million rows would cost more than the page itself.
COUNT_CAP = 1_000
MAX_LIMIT = 100
MAX_OFFSET = 10_000
FILTER_KEYS = ("kind", "status", "district", "industry", "risk_class", "tag")

# What a code prefix looks like: a 统一社会信用代码 is letters and digits; codes assigned to
# products or projects may add "-", "_", "." or "/". All of these sort below "~" (see _code_query).
_CODE_PREFIX = re.compile(r"[0-9A-Za-z][0-9A-Za-z_./-]*")

# The FTS5 table is not a model (alembic would try to create it), so it is named here.
_fts = table("target_fts", column("rowid"), column("target_fts"))


@dataclass(frozen=True)
class ParsedQuery:
    """What a search box string asks for: a code prefix, name phrases, both, or nothing."""

    code_prefix: str | None = None
    # One list of tokens per run of the fragment; a one-token list of a single character is a
    # prefix search for that character.
    phrases: list[list[str]] = field(default_factory=list)
    unsearchable: bool = False  # text was given but none of it can be searched (only punctuation)


def parse_query(q: str) -> ParsedQuery:
    q = q.strip()
    if not q:
        return ParsedQuery()
    # Punctuation is not indexed (the tokenizers drop it), so it only separates runs here; this
    # also keeps quotes and operators out of the full-text query syntax.
    words = "".join(ch if ch.isalnum() else " " for ch in q)
    phrases = query_grams(words)
    if _CODE_PREFIX.fullmatch(q):
        # Codes are stored upper-case; the phrases let a pure-ASCII name be found when no code matches.
        return ParsedQuery(code_prefix=q.upper(), phrases=phrases)
    if not phrases:
        return ParsedQuery(unsearchable=True)
    return ParsedQuery(phrases=phrases)


def _is_prefix(phrase: list[str]) -> bool:
    return len(phrase) == 1 and len(phrase[0]) == 1


def fts5_match(phrases: list[list[str]]) -> str:
    """The FTS5 MATCH expression: phrases ANDed; a lone character matches as a prefix.

    A single character is the first character of its bigrams ("食" → "食品", "食堂") or a
    one-character run on its own; a prefix query finds both. Tokens hold only letters and digits
    (see ``parse_query``); double quotes would be doubled anyway, FTS5's escape inside a string.
    """
    parts = []
    for phrase in phrases:
        quoted = '"' + " ".join(tok.replace('"', '""') for tok in phrase) + '"'
        parts.append(quoted + " *" if _is_prefix(phrase) else quoted)
    return " AND ".join(parts)


# Written out, not bound: the planner uses the GIN index only for the exact indexed expression.
_SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")


def _pg_match(phrases: list[list[str]]) -> ColumnElement[bool]:
    vector = func.to_tsvector(_SIMPLE, Target.search_grams)
    conditions = []
    for phrase in phrases:
        if _is_prefix(phrase):
            # Tokens hold letters and digits only (see parse_query), so this quoting is safe.
            query = func.to_tsquery(_SIMPLE, literal("'" + phrase[0] + "':*"))
        else:
            query = func.phraseto_tsquery(_SIMPLE, literal(" ".join(phrase)))
        conditions.append(vector.op("@@")(query))
    return and_(*conditions)


def _filters(filters: dict[str, Any]) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    for key in ("kind", "status", "district", "industry", "risk_class"):
        value = filters.get(key)
        if value:
            out.append(getattr(Target, key) == value)
    tag = filters.get("tag")
    if tag:
        out.append(Target.id.in_(select(TargetTag.target_id).where(TargetTag.tag == tag)))
    return out


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _name_query(phrases: list[list[str]], conditions: list[ColumnElement[bool]]) -> Select[Target]:
    if _dialect() == "sqlite":
        # Drive the query from the FTS table in rowid order, so LIMIT stops the scan early.
        return (
            select(Target)
            .join(_fts, _fts.c.rowid == Target.id)
            .where(_fts.c.target_fts.op("MATCH")(fts5_match(phrases)), *conditions)
            .order_by(_fts.c.rowid)
        )
    return select(Target).where(_pg_match(phrases), *conditions).order_by(Target.id)


def _code_query(prefix: str, conditions: list[ColumnElement[bool]]) -> Select[Target]:
    # A range on the unique index, in index order. '~' sorts after every letter and digit in
    # byte order (SQLite, and PostgreSQL with the C / C.UTF-8 collation the project uses).
    return (
        select(Target)
        .where(Target.code >= prefix, Target.code < prefix + "~", *conditions)
        .order_by(Target.code)
    )


def _page(
    query: Select[Target], limit: int, offset: int, count_in_order: bool = True
) -> tuple[list[Target], int]:
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, min(offset, MAX_OFFSET))
    rows = list(db.session.scalars(query.limit(limit).offset(offset)))
    if offset == 0 and len(rows) < limit:
        return rows, len(rows)  # the page holds everything: no need to count
    # The count keeps the ORDER BY of a text search: without it SQLite may drive the query from
    # a filter's index (kind, say) and probe the full-text index once per row, which took
    # seconds on a million rows instead of milliseconds.
    counted = query if count_in_order else query.order_by(None)
    capped = counted.with_only_columns(literal(1), maintain_column_froms=True).limit(COUNT_CAP + 1).subquery()
    total = db.session.scalar(select(func.count()).select_from(capped)) or 0
    return rows, total


def search_targets(q: str, filters: dict[str, Any], limit: int, offset: int) -> tuple[list[Target], int]:
    """Targets matching a name fragment or code prefix and the filters, and how many match.

    ``filters`` may hold kind, status, district, industry, risk_class and tag (exact matches;
    empty values are ignored). The count stops at ``COUNT_CAP + 1``: a total above ``COUNT_CAP``
    means "more than COUNT_CAP". Results are ordered by code for a code prefix and by id
    otherwise, so pages are stable.
    """
    parsed = parse_query(q)
    conditions = _filters(filters)
    if parsed.unsearchable:
        return [], 0
    if parsed.code_prefix is not None:
        rows, total = _page(_code_query(parsed.code_prefix, conditions), limit, offset)
        if total or not parsed.phrases:
            return rows, total
        # No code starts with these letters: it may be part of a name ("KFC").
        return _page(_name_query(parsed.phrases, conditions), limit, offset)
    if parsed.phrases:
        return _page(_name_query(parsed.phrases, conditions), limit, offset)
    # Filters alone: let the planner count through whichever index fits them best.
    return _page(select(Target).where(*conditions).order_by(Target.id), limit, offset, count_in_order=False)


def target_condition(q: str) -> ColumnElement[bool] | None:
    """A WHERE condition on ``Target`` for a search box string, for queries driven by another table
    (published results, say): the code prefix or the name fragment, through the same indexes as
    ``search_targets``. None for an empty string; always false for an unsearchable one."""
    parsed = parse_query(q)
    if parsed.unsearchable:
        return false()
    conditions: list[ColumnElement[bool]] = []
    if parsed.code_prefix is not None:
        conditions.append(and_(Target.code >= parsed.code_prefix, Target.code < parsed.code_prefix + "~"))
    if parsed.phrases:
        if _dialect() == "sqlite":
            matching = select(_fts.c.rowid).where(_fts.c.target_fts.op("MATCH")(fts5_match(parsed.phrases)))
            conditions.append(Target.id.in_(matching))
        else:
            conditions.append(_pg_match(parsed.phrases))
    return or_(*conditions) if conditions else None


@event.listens_for(Target.name, "set")
def _refresh_grams(target: Target, value: str, _old: object, _initiator: object) -> None:
    # Any ORM path that renames a target (forms, API, imports through the ORM) keeps the
    # search index right; the FTS trigger / GIN index then follow search_grams.
    target.search_grams = name_grams(value or "")
