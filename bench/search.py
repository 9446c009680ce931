"""``directory_search_1m``: how fast staff find a target among a million, through the real API.

About 200 queries, as a person types them: 2–4-character fragments of generated names (both
common ones like "超市" and rare ones like a 字号) and credit-code prefixes, sent to
``GET /api/v1/targets?q=…`` through the Flask test client with a supervisor's bearer token, so
the timing includes authentication, validation, the search and serialisation. The value is the
p95 latency (median over runs); the ratio compares it with the p95 of the scan an unindexed
search would do (``name LIKE '%…%' LIMIT 20``, or ``code LIKE '…%'``) for a subset of the same
queries. Below 1 means the index pays.
"""

from __future__ import annotations

import random

from sqlalchemy import func, select

from bench import bench_line, median, percentile, timed
from bench.dataset import Dataset, log
from server.extensions import db

NAME_QUERIES = 150
CODE_QUERIES = 50
LIKE_EVERY = 10  # one in ten queries also runs as a LIKE scan: a scan of a million rows is slow
_SKIP = set("（）()·、，, ")


def make_queries(ds: Dataset, seed: int = 7) -> list[str]:
    """Name fragments and code prefixes of randomly chosen targets, shuffled, deterministic."""
    from server.directory.models import Target

    rng = random.Random(seed)
    with ds.app.app_context():
        top = db.session.scalar(select(func.max(Target.id))) or 0
        ids = sorted(rng.sample(range(1, top + 1), NAME_QUERIES + CODE_QUERIES))
        rows = db.session.execute(select(Target.id, Target.name, Target.code).where(Target.id.in_(ids))).all()
        db.session.remove()
    queries: list[str] = []
    for n, (_, name, code) in enumerate(rows):
        if n < NAME_QUERIES:
            size = rng.choice((2, 2, 3, 4))
            for _ in range(20):
                start = rng.randrange(max(1, len(name) - size + 1))
                fragment = name[start : start + size]
                if len(fragment) == size and not _SKIP & set(fragment):
                    queries.append(fragment)
                    break
        else:
            queries.append(code[: rng.randrange(10, 15)])
    rng.shuffle(queries)
    return queries


def _token(ds: Dataset) -> str:
    from server.accounts.models import User
    from server.accounts.services import issue_token

    with ds.app.app_context():
        user = db.session.get(User, ds.user_id)
        assert user is not None
        raw = issue_token(user, "bench-device", "bench")
        db.session.commit()
        db.session.remove()
    return raw


def _like_p95(ds: Dataset, queries: list[str]) -> float:
    latencies = []
    with ds.app.app_context():
        conn = db.session.connection()
        for q in queries:
            if q.isascii():
                sql, arg = "SELECT id, code, name FROM target WHERE code LIKE ? LIMIT 20", f"{q}%"
            else:
                sql, arg = "SELECT id, code, name FROM target WHERE name LIKE ? LIMIT 20", f"%{q}%"
            seconds, _ = timed(lambda sql=sql, arg=arg: conn.exec_driver_sql(sql, (arg,)).fetchall())
            latencies.append(seconds * 1000)
        db.session.remove()
    return percentile(latencies, 95)


def run(ds: Dataset, runs: int) -> list[str]:
    queries = make_queries(ds)
    headers = {"Authorization": f"Bearer {_token(ds)}"}
    client = ds.app.test_client()
    p95s: list[float] = []
    like_p95s: list[float] = []
    likes = queries[::LIKE_EVERY]
    for n in range(runs):
        latencies = []
        hits = 0
        for q in queries:
            seconds, resp = timed(
                lambda q=q: client.get("/api/v1/targets", query_string={"q": q}, headers=headers)
            )
            if resp.status_code != 200:
                raise RuntimeError(
                    f"search {q!r} answered {resp.status_code}: {resp.get_data(as_text=True)[:200]}"
                )
            hits += bool(resp.json["items"])
            latencies.append(seconds * 1000)
        p95s.append(percentile(latencies, 95))
        like_p95s.append(_like_p95(ds, likes))
        log(
            f"search run {n + 1}: p95 {p95s[-1]:.1f} ms over {len(queries)} queries ({hits} with hits); "
            f"LIKE scan p95 {like_p95s[-1]:.1f} ms over {len(likes)}"
        )
    value = median(p95s)
    return [bench_line("directory_search_1m", value, "ms", value / median(like_p95s))]
