"""``_alongside``: the draw's read in a helper thread while this thread hashes; results and errors."""

from __future__ import annotations

import threading

import pytest

from server.draws.services import _alongside


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
