"""The field app's benchmarks: ``pwa_shell`` (what a phone downloads to install it) and
``pwa_cold_start`` (offline cold start to the assignments list on a slowed CPU).

pwa_shell: every file the service worker precaches plus ``sw.js`` itself, each gzipped (level 9),
summed, in KB (1 KB = 1024 bytes); ratio = size / the 150 KB goal.

pwa_cold_start: the real app (``flask run`` on a fresh SQLite database with one inspection) and
Debian's headless Chromium. A phone context logs in online, installs the service worker and syncs
its assignment; then, offline, each run stops every service worker, opens a new page with the CPU
slowed 4× (CDP ``Emulation.setCPUThrottlingRate``, what Lighthouse uses for a mid-range phone) and
loads /app/. The value is the ``spotcheck:assignments`` performance mark the app sets when the list
is on screen (ms since navigation start: shell from the service worker's cache, app start,
IndexedDB read, render), median of the runs. The ratio divides it by the median of the same cold
start without throttling, measured in the same run.
"""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench import bench_line, median
from bench.dataset import log

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "pwa" / "dist"
SHELL_GOAL_KB = 150.0
CPU_SLOWDOWN = 4
CHROMIUM = Path("/usr/bin/chromium")


def shell_size_kb(dist: Path = DIST) -> float:
    manifest = json.loads((dist / "shell.json").read_text(encoding="utf-8"))
    total = 0
    for name in [*manifest["files"], "sw.js"]:
        total += len(gzip.compress((dist / name).read_bytes(), compresslevel=9, mtime=0))
    return total / 1024


def _cold_start_ms(context: Any, url: str, throttle: bool) -> float:
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("ServiceWorker.enable")
    cdp.send("ServiceWorker.stopAllWorkers")  # cold: the worker starts again for this load
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN if throttle else 1})
    page.goto(f"{url}/app/", wait_until="commit")
    page.get_by_test_id("assignment").first.wait_for(timeout=30000)
    mark = page.evaluate(
        "() => { const m = performance.getEntriesByName('spotcheck:assignments');"
        " return m.length ? m[0].startTime : null; }"
    )
    controlled = page.evaluate("() => navigator.serviceWorker.controller !== null")
    page.close()
    if mark is None or not controlled:
        raise RuntimeError("the assignments list was not shown from the service worker")
    return float(mark)


def cold_start(runs: int) -> tuple[float, float]:
    """(median throttled ms, median unthrottled ms)."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS
    from tests.e2e.live import LiveServer
    from tests.e2e.phone import login, new_phone, sw_ready, wait_synced

    tmp = Path(tempfile.mkdtemp(prefix="bench-pwa-"))
    server = LiveServer(tmp, DIST)
    try:
        world = server.seed()
        server.start()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            context, page = new_phone(browser, server.url)
            login(page, world["users"]["a"], world["password"])
            sw_ready(page)
            wait_synced(page)
            page.close()
            context.set_offline(True)
            slow: list[float] = []
            fast: list[float] = []
            _cold_start_ms(context, server.url, throttle=False)  # warm-up, not counted
            for i in range(runs):
                # Interleaved, so a noisy moment of the machine hits both alike.
                slow.append(_cold_start_ms(context, server.url, throttle=True))
                fast.append(_cold_start_ms(context, server.url, throttle=False))
                log(f"pwa_cold_start run {i + 1}: {slow[-1]:.0f} ms at 4x, {fast[-1]:.0f} ms at 1x")
            browser.close()
        return median(slow), median(fast)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def run(_dataset: object = None, runs: int = 3) -> list[str]:
    if not (DIST / "shell.json").exists():
        raise SystemExit("pwa/dist is missing: run `make pwa` first")
    size = shell_size_kb()
    lines = [bench_line("pwa_shell", size, "KB", size / SHELL_GOAL_KB)]
    if not CHROMIUM.exists():
        raise SystemExit(f"pwa_cold_start needs Chromium at {CHROMIUM} (apt-get install chromium)")
    slow, fast = cold_start(max(runs, 5))
    lines.append(bench_line("pwa_cold_start", slow, "ms", slow / fast))
    return lines
