"""The field app's life beyond one visit: a new app version waits while an inspection is open, and
an inspection returned by the reviewer is fixed, signed again and resubmitted from the phones."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.e2e.live import LiveServer
from tests.e2e.phone import (
    PHONE,
    draw_signature,
    login,
    new_phone,
    sw_ready,
    wait_synced,
    wait_until,
)
from tests.e2e.seed import CHECKPOINT_COMMENT, RETURN_COMMENT
from tests.e2e.verify import server_view
from tests.support.pwa import built_pwa

pytestmark = pytest.mark.slow

CACHES_JS = "async () => (await caches.keys()).sort()"


def png_photo(size: tuple[int, int]) -> bytes:
    im = Image.new("RGB", size, (40, 90, 160))
    im.paste((230, 230, 230), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def open_inspection(page: Any) -> None:
    page.get_by_test_id("assignment").first.click()
    page.get_by_test_id("inspection").wait_for()


def test_a_new_version_never_replaces_the_app_under_an_open_inspection(browser: Any, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    shutil.copytree(built_pwa(), dist)
    server = LiveServer(tmp_path, dist)
    world = server.seed()
    server.start()
    try:
        ctx, page = new_phone(browser, server.url)
        login(page, world["users"]["a"], world["password"])
        sw_ready(page)
        wait_synced(page)
        old = page.evaluate(CACHES_JS)
        assert len(old) == 1 and old[0].startswith("spotcheck-static-")
        # Another app's cache on the same origin must survive our clean-up.
        page.evaluate("async () => (await caches.open('someone-else')).put('/x', new Response('x'))")
        # No user data in any cache: only the shell's files.
        urls = page.evaluate(
            "async () => { const name = (await caches.keys()).find(k => k.startsWith('spotcheck'));"
            " return (await (await caches.open(name)).keys()).map(r => new URL(r.url).pathname); }"
        )
        assert all(u.startswith("/app/") for u in urls) and not any("/api/" in u for u in urls)

        open_inspection(page)
        # The server gets a new version: another stylesheet, hence another service worker.
        (dist / "app.css").write_text((dist / "app.css").read_text() + "\n/* v2 */\n")
        sw = (dist / "sw.js").read_text()
        version = old[0].removeprefix("spotcheck-static-")
        (dist / "sw.js").write_text(sw.replace(version, "feedfacecafe"))
        page.evaluate("async () => (await navigator.serviceWorker.getRegistration()).update()")
        wait_until(page, "async () => !!(await navigator.serviceWorker.getRegistration()).waiting")
        page.get_by_test_id("update-held").wait_for()  # an inspection is open: no switch offered
        assert page.evaluate(CACHES_JS) == sorted([*old, "someone-else", "spotcheck-static-feedfacecafe"])
        page.reload()  # still the old version: a waiting worker does not take over a reload
        page.get_by_test_id("inspection").wait_for()
        assert "v2" not in page.evaluate("async () => (await (await fetch('/app/app.css')).text())")
        page.get_by_test_id("update-held").wait_for()

        page.goto(f"{server.url}/app/#/")
        page.get_by_test_id("update-now").click()
        wait_until(page, "async () => (await caches.keys()).length === 2", timeout=15)
        page.get_by_test_id("assignments").wait_for()  # reloaded into the new version
        assert page.evaluate(CACHES_JS) == ["someone-else", "spotcheck-static-feedfacecafe"]
        assert "v2" in page.evaluate("async () => (await (await fetch('/app/app.css')).text())")
        ctx.close()
    finally:
        server.stop()


def test_a_returned_inspection_is_fixed_resigned_and_resubmitted(browser: Any, tmp_path: Path) -> None:
    server = LiveServer(tmp_path, built_pwa())
    world = server.seed("--returned")
    server.start()
    try:
        before = server_view(server.var_dir)
        assert before.state == "returned"
        ctx_a, a = new_phone(browser, server.url)
        login(a, world["users"]["a"], world["password"])
        sw_ready(a)
        wait_synced(a)
        open_inspection(a)
        review = a.get_by_test_id("review")
        # Once: the server sends the overall comment as well as an item without checkpoint.
        assert review.inner_text().count(RETURN_COMMENT) == 1
        cp2 = a.get_by_test_id("checkpoint").nth(1)
        assert CHECKPOINT_COMMENT in cp2.get_by_test_id("review-comment").inner_text()

        # Fixed offline; the earlier signatures no longer match the content and say so.
        ctx_a.set_offline(True)
        note = cp2.get_by_test_id("answer-note")
        note.fill("实际经营地址：建设路8号")
        note.press("Tab")
        a.get_by_test_id("to-sign").click()
        a.get_by_test_id("sign").wait_for()
        new_hash = a.get_by_test_id("content-hash").get_attribute("data-hash")
        assert new_hash != before.latest_hash
        statuses = a.get_by_test_id("signature").locator("[data-status]")
        assert set(statuses.evaluate_all("els => els.map(e => e.dataset.status)")) == {"stale"}
        a.get_by_test_id("rep-name").fill("赵某")
        draw_signature(a, "pad-representative", seed=7)
        a.get_by_test_id("sign-representative").click()
        wait_until(a, "() => document.querySelectorAll('[data-status=valid]').length === 1")
        draw_signature(a, "pad-inspector", seed=8)
        a.get_by_test_id("sign-inspector").click()
        a.get_by_test_id("signed-mine").wait_for()
        ctx_a.set_offline(False)
        wait_synced(a)

        ctx_b, b = new_phone(browser, server.url)
        login(b, world["users"]["b"], world["password"])
        sw_ready(b)
        wait_synced(b)
        open_inspection(b)
        b.get_by_test_id("to-sign").click()
        assert b.get_by_test_id("content-hash").get_attribute("data-hash") == new_hash
        draw_signature(b, "pad-inspector", seed=9)
        b.get_by_test_id("sign-inspector").click()
        b.get_by_test_id("signed-mine").wait_for()
        b.get_by_test_id("submit").click()
        wait_synced(b)
        b.get_by_test_id("finalized").wait_for(timeout=30000)

        after = server_view(server.var_dir)
        assert after.inspections == 1
        assert after.state == "submitted"
        assert after.latest_hash == new_hash
        ctx_a.close()
        ctx_b.close()
    finally:
        server.stop()


def test_special_outcome_without_location_permission(browser: Any, tmp_path: Path) -> None:
    """Nobody at the registered address, and the phone refuses location: the check-in is saved
    without a position (with a clear message), the outcome with an evidence photo replaces the
    checklist, and no representative's signature is asked for."""
    server = LiveServer(tmp_path, built_pwa())
    world = server.seed()
    server.start()
    try:
        context = browser.new_context(base_url=server.url, locale="zh-CN", permissions=[], **PHONE)
        page = context.new_page()
        login(page, world["users"]["a"], world["password"])
        sw_ready(page)
        wait_synced(page)
        open_inspection(page)
        page.get_by_test_id("checkin").click()
        page.get_by_test_id("checkin-row").wait_for()
        assert "无定位" in page.get_by_test_id("checkin-row").inner_text()
        assert (
            "定位" in page.get_by_test_id("checkin-status").inner_text()
        )  # denied / unavailable, said plainly

        page.get_by_test_id("outcome").select_option("no_contact")
        page.get_by_test_id("outcome-photo-input").set_input_files(
            # A screenshot-like PNG (no EXIF, not a JPEG): still shrunk and re-encoded as JPEG.
            [{"name": "door.png", "mimeType": "image/png", "buffer": png_photo((2600, 1400))}]
        )
        page.get_by_test_id("photo").wait_for()
        shrunk = page.evaluate(
            """async () => {
                 const [row] = await window.spotcheck.db.getAll("blob_bytes");
                 const bmp = await createImageBitmap(new Blob([row.bytes]));
                 return [bmp.width, bmp.height, new Uint8Array(row.bytes.slice(0, 2)).join(",")];
               }"""
        )
        assert shrunk == [1920, 1034, "255,216"]  # long edge 1920, a JPEG (FF D8)
        page.get_by_test_id("to-sign").click()
        missing = page.get_by_test_id("missing").inner_text()
        assert "两名检查人员" in missing
        assert "当事人" not in missing and "未作答" not in missing
        wait_synced(page)
        held = server_view(server.var_dir)
        assert held.snapshot.outcome is not None and held.snapshot.outcome["code"] == "no_contact"
        assert len(held.snapshot.photos) == 1 and held.snapshot.photos[0].get("checkpoint_id") is None
        assert held.snapshot.checkins[0].get("lat") is None
        context.close()
    finally:
        server.stop()


def test_two_phones_answer_the_same_checkpoint_offline_and_the_leader_resolves(
    browser: Any, tmp_path: Path
) -> None:
    server = LiveServer(tmp_path, built_pwa())
    world = server.seed()
    server.start()
    try:
        phones = {}
        for key in ("a", "b"):  # a is the team leader
            ctx, page = new_phone(browser, server.url)
            login(page, world["users"][key], world["password"])
            sw_ready(page)
            wait_synced(page)
            open_inspection(page)
            ctx.set_offline(True)
            phones[key] = (ctx, page)
        for key, value in (("a", "yes"), ("b", "no")):
            page = phones[key][1]
            page.get_by_test_id("checkpoint").first.locator(f"button[data-value={value}]").click()
            wait_until(page, "() => document.querySelector('[aria-pressed=true]') !== null")
        for key in ("b", "a"):
            ctx, page = phones[key]
            ctx.set_offline(False)
            wait_synced(page)
        wait_synced(phones["b"][1])
        for key in ("a", "b"):
            clash = phones[key][1].get_by_test_id("clash").first
            clash.wait_for()
            assert "是" in clash.inner_text() and "否" in clash.inner_text()  # both values, nothing dropped
        held = server_view(server.var_dir)
        assert len(held.snapshot.clashes) == 1

        # The leader decides: answering the field again from the state that shows both claims.
        leader = phones["a"][1]
        leader.get_by_test_id("checkpoint").first.locator("button[data-value=no]").click()
        wait_synced(leader)
        wait_synced(phones["b"][1])
        for key in ("a", "b"):
            page = phones[key][1]
            wait_until(page, "() => document.querySelectorAll('[data-testid=clash]').length === 0")
        held = server_view(server.var_dir)
        assert held.snapshot.clashes == []
        assert [a["value"] for a in held.snapshot.answers] == ["no"]
        for ctx, _ in phones.values():
            ctx.close()
    finally:
        server.stop()
