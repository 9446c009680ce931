"""Browser end-to-end fixtures: Debian's Chromium driven by Python Playwright, and the live app.

Chromium is never downloaded (no ``playwright install``): without /usr/bin/chromium these tests skip
with a reason naming it, except under CI=true where they fail (.ci/run installs it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.live import LiveServer
from tests.support.pwa import built_pwa

CHROMIUM = Path(os.environ.get("SPOTCHECK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _require_chromium() -> None:
    if not CHROMIUM.exists():
        reason = f"Chromium not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    _require_chromium()
    server = LiveServer(tmp_path, built_pwa())
    world = server.seed()
    server.start()
    try:
        yield server, world
    finally:
        server.stop()
