"""The field app in real headless Chromium against the real server (issue 3, item 6).

Two inspectors on two phones (two browser contexts) and the business representative: the app is
installed, used offline after a reload, the checklist filled, photos with EXIF attached, everyone
signs, the phones come back online — and the server holds exactly one inspection with every photo
byte-identical by SHA-256 and every signature. Then the hard cases: the server SIGKILLed in the
middle of a photo upload and restarted, and a push whose response is lost and is replayed.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.live import LiveServer
from tests.e2e.phone import (
    app_state,
    blob_bytes,
    draw_signature,
    exif_photo,
    login,
    new_phone,
    problems,
    records,
    sw_ready,
    wait_synced,
    wait_until,
)
from tests.e2e.verify import server_view, sha

pytestmark = pytest.mark.slow

PHOTO_GPS = (35.7901, 112.9225)


def photo_file(name: str, taken: str, seed: int, size: tuple[int, int] = (4000, 3000)) -> dict[str, Any]:
    return {"name": name, "mimeType": "image/jpeg", "buffer": exif_photo(size, taken, PHOTO_GPS, seed)}


def open_inspection(page: Any) -> None:
    page.get_by_test_id("assignment").first.click()
    page.get_by_test_id("inspection").wait_for()


def answer(page: Any, index: int, value: str) -> None:
    cp = page.get_by_test_id("checkpoint").nth(index)
    cp.locator(f"button[data-value={value}]").click()
    wait_until(
        page,
        "([i, v]) => document.querySelectorAll('[data-testid=checkpoint]')[i]"
        "?.querySelector(`button[data-value=${v}]`)?.getAttribute('aria-pressed') === 'true'",
        [index, value],
    )


def sign_page(page: Any) -> str:
    page.get_by_test_id("to-sign").click()
    page.get_by_test_id("sign").wait_for()
    return str(page.get_by_test_id("content-hash").get_attribute("data-hash"))


def import_on_recovery_page(
    browser: Any, url: str, username: str, password: str, file: Path
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[str]]:
    """The inspector at a desk: log in, upload the export (dry run), apply. Returns the changes'
    (status, replay) planned and applied, and the files' statuses after applying."""
    desk = browser.new_context(base_url=url, locale="zh-CN")
    page = desk.new_page()
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u)
    page.goto("/recovery")
    page.set_input_files("input[name=file]", str(file))
    page.get_by_role("button", name="上传并试导入").click()
    page.locator("[data-testid=status][data-status=checked]").wait_for()
    rows = "els => els.map(e => [e.dataset.status, e.dataset.replay])"
    planned = [tuple(r) for r in page.get_by_test_id("change").evaluate_all(rows)]
    page.get_by_test_id("apply").click()
    page.locator("[data-testid=status][data-status=applied]").wait_for()
    applied = [tuple(r) for r in page.get_by_test_id("change").evaluate_all(rows)]
    files = page.get_by_test_id("file").evaluate_all("els => els.map(e => e.dataset.status)")
    desk.close()
    return planned, applied, files


def test_two_phones_offline_inspection_reaches_the_server_whole(browser: Any, live: Any) -> None:
    server: LiveServer
    server, world = live
    users, password = world["users"], world["password"]

    # Phone A (the team leader): install the app while online.
    ctx_a, a = new_phone(browser, server.url)
    login(a, users["a"], password)
    sw_ready(a)
    wait_synced(a)
    cdp = ctx_a.new_cdp_session(a)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # A Playwright context is incognito-like; anything else would make the app not installable.
    assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == []
    a.get_by_test_id("assignment").wait_for()

    # Offline from here on: a reload comes from the service worker, the data from IndexedDB.
    ctx_a.set_offline(True)
    wait_until(a, "() => document.querySelector('[data-testid=net]').textContent === '离线'")
    # (After a reload Chromium's offline emulation leaves navigator.onLine true; the app does not
    # depend on it: every request simply fails and stays queued.)
    a.reload()
    a.get_by_test_id("assignment").wait_for()
    open_inspection(a)
    assert a.get_by_role("heading", name=world["target_name"]).is_visible()

    a.get_by_test_id("checkin").click()
    a.get_by_test_id("checkin-row").wait_for()
    assert "35.79120, 112.92360" in a.get_by_test_id("checkin-row").inner_text()

    answer(a, 0, "yes")
    answer(a, 1, "no")
    note = a.get_by_test_id("checkpoint").nth(1).get_by_test_id("answer-note")
    note.fill("经营场所与登记住所不一致")
    note.press("Tab")  # the note saves on change
    cp2 = a.get_by_test_id("checkpoint").nth(1)
    cp2.get_by_test_id("finding-text").fill("实际经营地址为建设路8号")
    cp2.get_by_test_id("finding-add").click()
    a.get_by_test_id("finding").wait_for()

    photos = [
        photo_file("IMG_0001.jpg", "2025:06:03 09:21:05", seed=1),
        photo_file("IMG_0002.jpg", "2025:06:03 09:22:40", seed=2),
    ]
    a.get_by_test_id("checkpoint").nth(1).get_by_test_id("photo-input").set_input_files(photos)
    wait_until(
        a,
        "() => document.querySelectorAll('[data-testid=checkpoint]')[1]"
        ".querySelectorAll('[data-testid=photo]').length === 2",
    )

    photo_records = records(a, "photo")
    assert len(photo_records) == 2
    taken = sorted(p["fields"]["taken_at"] for p in photo_records)
    assert taken == ["2025-06-03T09:21:05+08:00", "2025-06-03T09:22:40+08:00"]  # from EXIF, not the clock
    for p in photo_records:
        assert p["fields"]["lat"] == pytest.approx(PHOTO_GPS[0], abs=1e-4)
        assert p["fields"]["lon"] == pytest.approx(PHOTO_GPS[1], abs=1e-4)
        dims = a.evaluate(
            """async (sha) => {
                 const row = await window.spotcheck.db.get("blob_bytes", sha);
                 const bmp = await createImageBitmap(new Blob([row.bytes], {type: "image/jpeg"}));
                 return [bmp.width, bmp.height];
               }""",
            p["fields"]["sha256"],
        )
        assert dims == [1920, 1440]  # 4000×3000 shrunk to a 1920 px long edge on the phone
    phone_photos = {p["fields"]["sha256"]: blob_bytes(a, p["fields"]["sha256"]) for p in photo_records}
    for digest, data in phone_photos.items():
        assert data is not None and sha(data) == digest

    # The representative signs on A's phone, then A signs: both bind the hash shown to them.
    hash_a = sign_page(a)
    assert len(hash_a) == 64
    assert a.get_by_test_id("content-hash").inner_text() == f"{hash_a[:4]} {hash_a[4:8]}"
    a.get_by_test_id("rep-name").fill("赵某")
    draw_signature(a, "pad-representative", seed=3)
    a.get_by_test_id("sign-representative").click()
    a.get_by_test_id("signature").first.wait_for()
    draw_signature(a, "pad-inspector", seed=4)
    a.get_by_test_id("sign-inspector").click()
    a.get_by_test_id("signed-mine").wait_for()
    statuses = a.get_by_test_id("signature").locator("[data-status]")
    assert statuses.evaluate_all("els => els.map(e => e.dataset.status)") == ["valid", "valid"]

    # Everything is queued, visibly: records, and two photos plus two signature images to upload.
    a.goto(f"{server.url}/app/#/outbox")
    a.get_by_test_id("outbox").wait_for()
    assert a.get_by_test_id("outbox-entry").count() >= 8
    assert a.get_by_test_id("outbox-blob").count() == 4
    # Each file says whose inspection it belongs to, not a piece of its hash.
    assert all(world["target_name"] in t for t in a.get_by_test_id("outbox-blob").all_inner_texts())
    signature_pngs = {
        r["fields"]["png_sha256"]: blob_bytes(a, r["fields"]["png_sha256"]) for r in records(a, "signature")
    }
    # The last resort works offline too: a file with every queued change and the files' bytes.
    with a.expect_download() as download:
        a.get_by_test_id("export").click()
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert exported["format"] == "spotcheck-unsynced-v1"
    assert len(exported["outbox"]) == a.get_by_test_id("outbox-entry").count()
    assert {b["sha256"]: base64.b64decode(b["base64"]) for b in exported["blobs"]} == {
        **phone_photos,
        **signature_pngs,
    }

    assert a.get_by_test_id("recovery-link").get_attribute("href") == "/recovery"  # where to take it
    export_file = server.var_dir / "unsynced.json"
    export_file.write_bytes(Path(download.value.path()).read_bytes())

    # Back online: the 'online' event starts a sync.
    ctx_a.set_offline(False)
    wait_synced(a)

    # The phone synced after all; importing its export on the recovery page now changes nothing:
    # every change is a replay of a stored result and every file is already held.
    before = server_view(server.var_dir)
    planned, applied, files = import_on_recovery_page(browser, server.url, users["a"], password, export_file)
    assert len(planned) == len(exported["outbox"]) and all(replay == "1" for _, replay in planned)
    assert applied == planned and files == ["on_server"] * len(exported["blobs"])
    after = server_view(server.var_dir)
    assert (after.current_hash, after.changes, after.files) == (
        before.current_hash,
        before.changes,
        before.files,
    )

    # Phone B (the other inspector) logs in, sees A's work, goes offline and signs.
    ctx_b, b = new_phone(browser, server.url)
    login(b, users["b"], password)
    sw_ready(b)
    wait_synced(b)
    open_inspection(b)
    wait_until(b, "() => document.querySelectorAll('[data-testid=photo] img[src^=blob]').length === 2")
    ctx_b.set_offline(True)
    b.reload()
    b.get_by_test_id("inspection").wait_for()
    hash_b = sign_page(b)
    assert hash_b == hash_a  # the same content on both phones, so the signatures bind one hash
    draw_signature(b, "pad-inspector", seed=5)
    b.get_by_test_id("sign-inspector").click()
    b.get_by_test_id("signed-mine").wait_for()
    b.get_by_test_id("submit").click()
    ctx_b.set_offline(False)
    wait_synced(b)
    b.get_by_test_id("finalized").wait_for(timeout=30000)
    b.goto(f"{server.url}/app/#/")
    b.get_by_test_id("done").wait_for()  # listed as submitted once pulled

    held = server_view(server.var_dir)
    assert held.inspections == 1
    assert held.state == "submitted"
    assert held.latest_hash == hash_a == held.current_hash
    snap = held.snapshot
    assert {str(p["sha256"]) for p in snap.photos} == set(phone_photos)
    assert len(snap.photos) == 2
    for digest, data in phone_photos.items():
        assert held.files[digest] == data  # byte-identical to what the phone made
    sigs = [s for _, s in snap.signatures]
    assert sorted((s["signer_role"], s.get("signer_id")) for s in sigs) == [
        ("inspector", world["inspector_ids"]["a"]),
        ("inspector", world["inspector_ids"]["b"]),
        ("representative", None),
    ]
    assert all(s["content_hash"] == hash_a for s in sigs)
    for s in sigs:
        assert sha(held.files[str(s["png_sha256"])]) == s["png_sha256"]
    for digest, data in signature_pngs.items():
        assert held.files[digest] == data
    answers = {a_["checkpoint_id"]: (a_["value"], a_.get("note")) for a_ in snap.answers}
    cps = world["checkpoint_ids"]
    assert answers == {cps[0]: ("yes", None), cps[1]: ("no", "经营场所与登记住所不一致")}
    assert [f["description"] for _, f in snap.findings] == ["实际经营地址为建设路8号"]
    assert len(snap.checkins) == 1 and snap.checkins[0]["lat"] == pytest.approx(35.7912)
    # Phone A did not press submit: once it pulled, its signing screen says where things stand.
    wait_synced(a)
    a.evaluate("() => { location.hash = '#/'; }")
    open_inspection(a)
    a.get_by_test_id("to-sign").click()
    assert a.get_by_test_id("sign-locked").inner_text() == "已提交，等待审核"
    assert a.get_by_test_id("sign-inspector").count() == 0
    for phone in (a, b):
        state = app_state(phone)
        assert (state["outbox"], state["rejected"], state["pendingBlobs"]) == (0, 0, 0)
        # No uncaught error and no Content-Security-Policy violation (those are console errors).
        # Failed requests while offline are logged by the browser as "Failed to load resource".
        assert [p for p in problems(phone) if "Failed to load resource" not in p] == []
    ctx_a.close()
    ctx_b.close()


def test_server_killed_mid_upload_and_a_replayed_push_lose_and_double_nothing(
    browser: Any, live: Any
) -> None:
    server: LiveServer
    server, world = live
    ctx, page = new_phone(browser, server.url)
    login(page, world["users"]["a"], world["password"])
    sw_ready(page)
    wait_synced(page)
    open_inspection(page)

    # Every push is recorded; the first one's response is lost after the server applied it.
    pushes: list[dict[str, Any]] = []

    def on_push(route: Any) -> None:
        pushes.append(json.loads(route.request.post_data))
        if len(pushes) == 1:
            route.fetch()  # the server applies and answers…
            route.abort("connectionreset")  # …but the phone never hears it
        else:
            route.continue_()

    page.route("**/api/v1/sync/push", on_push)
    answer(page, 0, "yes")
    wait_until(page, "() => window.spotcheck.engine.status.phase === 'error'", timeout=15)
    assert len(pushes) == 1
    assert app_state(page)["outbox"] == 1  # kept: no answer was received

    # Uploads crawl (a field connection), and the server is killed while a photo is on its way.
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 40, "downloadThroughput": 400_000, "uploadThroughput": 30_000},
    )
    started: list[str] = []
    page.on("request", lambda r: started.append(r.url) if r.method == "PUT" else None)
    page.get_by_test_id("checkpoint").nth(0).get_by_test_id("photo-input").set_input_files(
        [
            photo_file("IMG_0100.jpg", "2025:06:03 10:01:00", seed=11),
            photo_file("IMG_0101.jpg", "2025:06:03 10:02:00", seed=12),
        ]
    )
    deadline = time.monotonic() + 60
    while not started and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert started, "no upload started"
    page.wait_for_timeout(1500)  # well inside the upload of a file of a few hundred KB at 30 KB/s
    server.kill()
    at_kill = server_view(server.var_dir)
    assert len(at_kill.snapshot.photos) == 2  # the records went first…
    assert at_kill.files == {}  # …and no photo had arrived whole when the server died
    wait_until(page, "() => window.spotcheck.engine.status.phase === 'error'", timeout=30)
    server.start()
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    wait_synced(page, timeout=90)

    held = server_view(server.var_dir)
    photos = records(page, "photo")
    assert len(photos) == 2
    assert len(held.snapshot.photos) == 2  # each photo record once
    for p in photos:
        digest = p["fields"]["sha256"]
        assert sha(held.files[digest]) == digest  # the half-sent upload left nothing wrong behind
    assert len(held.snapshot.answers) == 1
    # The replay carried the same change ids, and the server stored one result per change.
    assert pushes[1]["changes"][0]["change_id"] == pushes[0]["changes"][0]["change_id"]
    sent = {c["change_id"] for p in pushes for c in p["changes"]}
    assert held.changes == len(sent) == 3  # the answer and two photo records, once each
    assert app_state(page)["outbox"] == 0
    ctx.close()
