"""Issue 4's whole loop in real browsers: a supervisor returns an item on the review page, the
inspectors fix it offline on their phones and resubmit, the supervisor approves and publishes, and
the result appears on the public results page and in the feed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.live import LiveServer
from tests.e2e.phone import draw_signature, login, new_phone, sw_ready, wait_synced, wait_until
from tests.e2e.verify import server_view
from tests.support.pwa import built_pwa

pytestmark = pytest.mark.slow

DESK = {"viewport": {"width": 1366, "height": 900}}
COMMENT = "第2项请注明实际经营地址"
GENERAL = "请补充后重新提交"
FIX = "实际经营地址：建设路8号"


def staff_login(page: Any, username: str, password: str) -> None:
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()


def test_return_fix_offline_resubmit_approve_publish(browser: Any, tmp_path: Any) -> None:
    server = LiveServer(tmp_path, built_pwa())
    world = server.seed("--submitted")
    server.start()
    try:
        first = server_view(server.var_dir)
        assert first.state == "submitted"

        # The supervisor finds it in the queue and returns the second checkpoint with a comment.
        desk_ctx = browser.new_context(base_url=server.url, locale="zh-CN", **DESK)
        desk = desk_ctx.new_page()
        # The desk pages run under a strict Content-Security-Policy: a violation, or a failing
        # script, shows up as a console error or a page error.
        desk_errors: list[str] = []
        desk.on("console", lambda m: desk_errors.append(m.text) if m.type == "error" else None)
        desk.on("pageerror", lambda e: desk_errors.append(str(e)))
        desk.on("response", lambda r: desk_errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        staff_login(desk, world["users"]["supervisor"], world["password"])
        desk.goto("/review")
        desk.get_by_role("link", name=world["target_name"]).click()
        desk.wait_for_url(f"**/review/inspections/{world['inspection_id']}**")
        desk.locator(f"textarea[name=item_{world['checkpoint_ids'][1]}]").fill(COMMENT)
        desk.locator("#return-form textarea[name=comment]").fill(GENERAL)
        desk.locator("#return-form button[type=submit]").click()
        desk.wait_for_load_state()
        assert server_view(server.var_dir).state == "returned"

        # Inspector a sees the comment, goes offline, fixes the note and signs again with the
        # representative; back online it syncs.
        ctx_a, a = new_phone(browser, server.url)
        login(a, world["users"]["a"], world["password"])
        sw_ready(a)
        wait_synced(a)
        a.get_by_test_id("assignment").first.click()
        a.get_by_test_id("inspection").wait_for()
        assert GENERAL in a.get_by_test_id("review").inner_text()
        cp2 = a.get_by_test_id("checkpoint").nth(1)
        assert COMMENT in cp2.get_by_test_id("review-comment").inner_text()
        ctx_a.set_offline(True)
        a.reload()  # the app shell comes from the service worker, the inspection from IndexedDB
        a.get_by_test_id("inspection").wait_for()
        cp2 = a.get_by_test_id("checkpoint").nth(1)
        note = cp2.get_by_test_id("answer-note")
        note.fill(FIX)
        note.press("Tab")
        a.get_by_test_id("to-sign").click()
        a.get_by_test_id("sign").wait_for()
        new_hash = a.get_by_test_id("content-hash").get_attribute("data-hash")
        assert new_hash != first.latest_hash
        a.get_by_test_id("rep-name").fill("赵某")
        draw_signature(a, "pad-representative", seed=21)
        a.get_by_test_id("sign-representative").click()
        wait_until(a, "() => document.querySelectorAll('[data-status=valid]').length === 1")
        draw_signature(a, "pad-inspector", seed=22)
        a.get_by_test_id("sign-inspector").click()
        a.get_by_test_id("signed-mine").wait_for()
        ctx_a.set_offline(False)
        wait_synced(a)

        # Inspector b signs the same content on the other phone and submits.
        ctx_b, b = new_phone(browser, server.url)
        login(b, world["users"]["b"], world["password"])
        sw_ready(b)
        wait_synced(b)
        b.get_by_test_id("assignment").first.click()
        b.get_by_test_id("inspection").wait_for()
        b.get_by_test_id("to-sign").click()
        assert b.get_by_test_id("content-hash").get_attribute("data-hash") == new_hash
        draw_signature(b, "pad-inspector", seed=23)
        b.get_by_test_id("sign-inspector").click()
        b.get_by_test_id("signed-mine").wait_for()
        b.get_by_test_id("submit").click()
        wait_synced(b)
        b.get_by_test_id("finalized").wait_for(timeout=30000)
        resubmitted = server_view(server.var_dir)
        assert (resubmitted.state, resubmitted.latest_hash) == ("submitted", new_hash)

        # The supervisor sees version 2 with the fix, approves it for publication and publishes it.
        desk.goto(f"/review/inspections/{world['inspection_id']}")
        page_text = desk.locator("main").inner_text()
        assert FIX in page_text
        # site.js's photo viewer: open the first photo, step with →, close with Esc.
        desk.goto(f"/review/inspections/{world['inspection_id']}#photo-1")
        if desk.locator("#photo-2").count():
            desk.keyboard.press("ArrowRight")
            desk.wait_for_function("location.hash === '#photo-2'")
        desk.keyboard.press("Escape")
        desk.wait_for_function("location.hash === '#photos'")
        approve = desk.locator("#approve-form")
        no_problem = approve.locator("input[name=categories][value=no_problem]")
        if not no_problem.is_checked():
            no_problem.check()
        approve.locator("input[name=publish][value='1']").check()
        approve.locator("textarea[name=summary]").fill("未发现问题")
        approve.locator("button[type=submit]").click()
        desk.wait_for_load_state()
        assert server_view(server.var_dir).state == "approved"

        desk.goto("/publication")
        desk.locator(f"input[name=inspection_id][value='{world['inspection_id']}']").check()
        desk.get_by_role("button", name="公示所选结果").click()
        desk.wait_for_load_state()
        assert server_view(server.var_dir).state == "published"

        # The public, without logging in, finds it on the results page and in the feed.
        public_ctx = browser.new_context(base_url=server.url, locale="zh-CN", **DESK)
        public = public_ctx.new_page()
        public.goto("/results")
        row = public.get_by_role("link", name=world["target_name"])
        assert row.count() >= 1
        public.goto(f"/results?q={world['target_name'][:4]}")
        assert world["target_name"] in public.locator("main").inner_text()
        text = public.locator("main").inner_text()
        assert "未发现问题" in text
        for secret in ("张建国", "李晓梅", "赵某"):  # inspectors and the representative stay private
            assert secret not in text
        feed = json.loads(public.goto("/results/feed.json").text())
        [entry] = [e for e in feed["items"] if e["target"]["name"] == world["target_name"]]
        assert entry["id"] == world["inspection_id"]
        assert [c["code"] for c in entry["result"]["categories"]] == ["no_problem"]
        [task] = entry["tasks"]
        assert task["draw_url"].endswith(f"/public/draws/{task['draw_id']}")
        assert "张建国" not in json.dumps(entry, ensure_ascii=False)
        assert desk_errors == []
        for ctx in (desk_ctx, ctx_a, ctx_b, public_ctx):
            ctx.close()
    finally:
        server.stop()
