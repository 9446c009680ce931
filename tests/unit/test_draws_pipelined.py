"""``_pipelined``: the draw's reads in a helper thread while this thread hashes; order and errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from server.draws.services import _pipelined, _thread_bound


def _produced(n: int, log: list[str], fail_at: int | None = None) -> Iterator[int]:
    for i in range(n):
        if i == fail_at:
            raise LookupError("database went away")
        log.append(f"{threading.current_thread().name}:{i}")
        yield i


def test_items_are_consumed_here_in_order_while_a_helper_produces_them() -> None:
    made: list[str] = []
    eaten: list[tuple[str, int]] = []
    _pipelined(_produced(5, made), lambda i: eaten.append((threading.current_thread().name, i)))
    assert made == [f"spotcheck-reader:{i}" for i in range(5)]
    assert eaten == [(threading.current_thread().name, i) for i in range(5)]


def test_a_producer_error_is_raised_here_after_what_came_before() -> None:
    eaten: list[int] = []
    with pytest.raises(LookupError, match="database went away"):
        _pipelined(_produced(5, [], fail_at=3), eaten.append)
    assert eaten == [0, 1, 2]
    assert not any(t.name == "spotcheck-reader" for t in threading.enumerate())


def test_a_consumer_error_stops_the_producer_before_it_is_raised() -> None:
    made: list[int] = []

    def produce() -> Iterator[int]:
        for i in range(100):
            made.append(i)
            yield i
            time.sleep(0.01)  # a statement's worth of work per item

    def consume(i: int) -> None:
        raise ValueError("hashing failed")

    with pytest.raises(ValueError, match="hashing failed"):
        _pipelined(produce(), consume)
    assert len(made) < 10  # it finished the item in hand and stopped, long before the hundredth
    assert not any(t.name == "spotcheck-reader" for t in threading.enumerate())


def test_without_parallel_everything_happens_here() -> None:
    made: list[str] = []
    eaten: list[int] = []
    _pipelined(_produced(3, made), eaten.append, parallel=False)
    here = threading.current_thread().name
    assert made == [f"{here}:{i}" for i in range(3)] and eaten == [0, 1, 2]


def test_in_memory_sqlite_connections_are_bound_to_their_thread(tmp_path: Path) -> None:
    memory, on_disk = create_engine("sqlite://"), create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with memory.connect() as conn:
            assert _thread_bound(conn)
        with on_disk.connect() as conn:
            assert not _thread_bound(conn)
            # …and may indeed be used from the helper thread.
            got: list[int] = []
            _pipelined((conn.execute(text(f"SELECT {n}")).scalar_one() for n in (7, 8)), got.append)
            assert got == [7, 8]
    finally:
        memory.dispose()
        on_disk.dispose()
