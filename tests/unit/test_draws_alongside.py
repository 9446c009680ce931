"""``_alongside``: the draw's read in a helper thread while this thread hashes; results and errors."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from server.draws.services import _alongside, _thread_bound


def test_both_results_come_back_and_the_helper_runs_in_another_thread() -> None:
    seen: list[str] = []

    def helper() -> int:
        seen.append(threading.current_thread().name)
        return 41

    assert _alongside(helper, lambda: "here") == (41, "here")
    assert seen == ["spotcheck-helper"]


def test_an_error_in_the_helper_is_raised_here_after_both_finished() -> None:
    done: list[str] = []

    def helper() -> None:
        raise LookupError("database went away")

    def here() -> str:
        done.append("here")
        return "ok"

    with pytest.raises(LookupError, match="database went away"):
        _alongside(helper, here)
    assert done == ["here"]


def test_an_error_here_waits_for_the_helper() -> None:
    finished = threading.Event()

    def helper() -> None:
        finished.wait(5)

    def here() -> None:
        finished.set()
        raise ValueError("hashing failed")

    with pytest.raises(ValueError, match="hashing failed"):
        _alongside(helper, here)
    assert not any(t.name == "spotcheck-helper" for t in threading.enumerate())


def test_without_parallel_the_helper_runs_first_in_this_thread() -> None:
    order: list[str] = []

    def helper() -> str:
        order.append(threading.current_thread().name)
        return "helper"

    def here() -> str:
        order.append("here")
        return "here"

    assert _alongside(helper, here, parallel=False) == ("helper", "here")
    assert order == [threading.current_thread().name, "here"]


def test_in_memory_sqlite_connections_are_bound_to_their_thread(tmp_path: Path) -> None:
    memory, on_disk = create_engine("sqlite://"), create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with memory.connect() as conn:
            assert _thread_bound(conn)
        with on_disk.connect() as conn:
            assert not _thread_bound(conn)
            # …and may indeed be used from the helper thread.
            assert _alongside(lambda: conn.execute(text("SELECT 7")).scalar(), lambda: None) == (7, None)
    finally:
        memory.dispose()
        on_disk.dispose()
