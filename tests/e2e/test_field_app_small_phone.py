"""The field app on a small phone (360×640) as an inspector walks it: every control big enough for
a thumb and named for a screen reader, the bar on one line in English too, text typed before a
reload or a trip to another screen still there, offline told in words, and logging out with
unsynced data asks first."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.live import LiveServer
from tests.e2e.phone import login, new_phone, wait_synced, wait_until

pytestmark = pytest.mark.slow

SMALL = {"viewport": {"width": 360, "height": 640}}

# Tap targets under 44 CSS px (WCAG 2.5.5); file inputs are hidden behind their label's button.
SMALL_TARGETS_JS = """() => [...document.querySelectorAll('a, button, select, input, textarea, summary')]
  .filter((el) => el.type !== 'file' && el.getClientRects().length)
  .map((el) => [el, el.getBoundingClientRect()])
  .filter(([el, r]) => r.height < 43.5 || r.width < 43.5)
  .map(([el, r]) => `${el.tagName} "${(el.textContent || el.placeholder || '').trim().slice(0, 20)}" `
    + `${Math.round(r.width)}x${Math.round(r.height)}`)"""

# Fields a screen reader could not name (a placeholder alone vanishes while typing).
UNNAMED_JS = """() => [...document.querySelectorAll('input:not([type=file]), textarea, select')]
  .filter((el) => !el.labels.length && !el.getAttribute('aria-label'))
  .map((el) => el.outerHTML.slice(0, 80))"""

# A change of this inspection as the engine files it when the server rejects it.
REJECTED_JS = """async () => {
  await window.spotcheck.db.put("rejected", {
    change_id: "walk-test",
    inspection_id: location.hash.split("/")[2],
    change: { record_type: "answer" },
    error: { code: "sync_inspection_locked" },
    rejected_at: new Date().toISOString(),
  });
  await window.spotcheck.render();
}"""

# Whether a field scrolled into view (top of the page) is hidden under the sticky bar.
UNDER_BAR_JS = """(key) => {
  const el = document.querySelector(`[data-draft="${key}"]`);
  el.scrollIntoView();
  return el.getBoundingClientRect().top < document.getElementById("bar").getBoundingClientRect().bottom;
}"""

# Revoke this phone's token as an admin (or the user from elsewhere) would.
REVOKE_JS = """async () => {
  const session = await window.spotcheck.db.get("meta", "session");
  const headers = { Authorization: `Bearer ${session.value.token}` };
  await fetch("/api/v1/auth/token", { method: "DELETE", headers });
}"""

# Answer buttons whose label does not fit (overflows, or wraps onto a second line).
CRAMPED_ANSWERS_JS = """() => [...document.querySelectorAll('.answers button')]
  .filter((b) => b.scrollWidth > b.clientWidth || b.getBoundingClientRect().height > 50)
  .map((b) => b.textContent)"""

# The bar's controls all on the title's line (nothing wrapped under it).
BAR_ONE_LINE_JS = """() => {
  const bar = document.getElementById('bar');
  const top = bar.querySelector('.title').getBoundingClientRect().top;
  return [...bar.querySelectorAll('button, .net')]
    .every((el) => Math.abs(el.getBoundingClientRect().top - top) < 30);
}"""


def test_small_phone_walk(browser: Any, live: Any) -> None:
    server: LiveServer
    server, world = live
    ctx, page = new_phone(browser, server.url)
    page.set_viewport_size(SMALL["viewport"])
    # In English the login form suggests an English device name (this browser names no model).
    page.goto("/app/")
    page.get_by_test_id("login-form").wait_for()
    assert page.locator("input[name=device_name]").input_value() == "手机"
    page.get_by_role("button", name="语言").click()
    page.get_by_role("button", name="Log in").wait_for()
    assert page.locator("input[name=device_name]").input_value() == "Phone"
    page.get_by_role("button", name="Language").click()
    login(page, world["users"]["a"], world["password"])
    wait_synced(page)
    assert page.evaluate(SMALL_TARGETS_JS) == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360

    page.get_by_test_id("assignment").first.click()
    page.get_by_test_id("inspection").wait_for()
    assert page.evaluate(SMALL_TARGETS_JS) == []
    assert page.evaluate(UNNAMED_JS) == []
    assert page.evaluate(CRAMPED_ANSWERS_JS) == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    assert page.title() == f"{world['target_name']} · 现场检查"
    assert page.get_by_test_id("no-checkin").inner_text() == "尚无签到记录"
    page.get_by_test_id("checkin").click()
    page.get_by_test_id("checkin-row").wait_for()
    assert page.get_by_test_id("checkin-row").inner_text().startswith("张建国 签到")

    # A checkpoint's finding form opens on 否 (with a reminder) or on request, not 15 times over.
    first, second = page.get_by_test_id("checkpoint").nth(0), page.get_by_test_id("checkpoint").nth(1)
    assert first.get_by_test_id("finding-text").count() == 0
    total = page.get_by_test_id("checkpoint").count()
    assert page.get_by_test_id("answered").inner_text() == f"已答 0/{total}"
    first.locator("button[data-value=no]").click()
    first.get_by_test_id("finding-hint").wait_for()
    assert page.get_by_test_id("answered").inner_text() == f"已答 1/{total}"
    first.get_by_test_id("finding-add").click()  # nothing typed: says so instead of doing nothing
    assert first.get_by_role("alert").inner_text() == "请先填写问题描述"
    second.get_by_test_id("finding-open").click()
    second_box = f"finding:{second.get_attribute('data-checkpoint')}"
    wait_until(page, "(key) => document.activeElement.dataset.draft === key", second_box)
    # Scrolled to, a field shows below the sticky bar, not under it.
    assert page.evaluate(UNDER_BAR_JS, second_box) is False

    # Typed, not yet saved (the finding not added, the notes field not left): a reload keeps both.
    page.get_by_test_id("notes").fill("现场走访时间 9:30")
    page.get_by_test_id("finding-text").last.fill("门头招牌与登记名称不符")
    page.reload()
    page.get_by_test_id("inspection").wait_for()
    wait_until(page, "() => document.querySelector('[data-testid=notes]').value === '现场走访时间 9:30'")
    assert page.get_by_test_id("finding-text").last.input_value() == "门头招牌与登记名称不符"
    # The restored notes were saved as leaving the field would have saved them.
    wait_synced(page)
    # To the signing screen and back: the finding's text is still waiting to be added.
    page.get_by_test_id("to-sign").click()
    page.get_by_test_id("sign").wait_for()
    assert page.evaluate(UNNAMED_JS) == []
    page.go_back()
    page.get_by_test_id("inspection").wait_for()
    assert page.get_by_test_id("finding-text").last.input_value() == "门头招牌与登记名称不符"
    page.get_by_test_id("finding-add").last.click()
    page.get_by_test_id("finding").wait_for()
    page.reload()
    page.get_by_test_id("inspection").wait_for()
    assert page.get_by_test_id("finding-text").last.input_value() == ""

    # A change the server rejected says what to do about it, and where.
    page.evaluate(REJECTED_JS)
    hint = page.get_by_test_id("rejected-help")
    assert "导出未同步数据" in hint.inner_text()
    assert hint.get_by_role("link").get_attribute("href") == "#/outbox"
    page.evaluate("async () => { await window.spotcheck.db.delete('rejected', 'walk-test'); }")
    page.evaluate("() => window.spotcheck.render()")
    assert page.get_by_test_id("rejected-help").count() == 0

    # English: the bar stays on one line on 360 px.
    page.get_by_role("button", name="语言").click()
    page.get_by_text("Check in on site").first.wait_for()
    assert page.evaluate(BAR_ONE_LINE_JS)
    assert page.evaluate(CRAMPED_ANSWERS_JS) == []
    assert page.title() == f"{world['target_name']} · Field inspection"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    page.get_by_role("button", name="Language").click()

    # Offline: a failed round says so in words, never as a bare code.
    ctx.set_offline(True)
    page.get_by_test_id("checkpoint").first.locator("button[data-value=yes]").click()
    page.get_by_test_id("sync-now").click()
    wait_until(page, "() => document.querySelector('[data-testid=sync-line]').dataset.phase === 'error'")
    line = page.get_by_test_id("sync-line").inner_text()
    assert "network" not in line and ("离线" in line or "无法连接服务器" in line), line

    # Logging out with that answer unsynced asks first; "cancel" keeps the inspector logged in.
    page.get_by_role("link", name="← 返回").click()
    page.get_by_test_id("assignments").wait_for()
    questions: list[str] = []

    def decline(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", decline)
    page.get_by_role("button", name="退出登录").click()
    wait_until(page, "() => true")
    page.wait_for_timeout(300)
    assert len(questions) == 1 and "未同步" in questions[0], questions
    assert page.get_by_test_id("assignments").is_visible()
    page.remove_listener("dialog", decline)

    # Confirmed, the inspector is logged out; a colleague cannot log in on this phone meanwhile and is
    # told what can be done (only the owner can sync or export that data).
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="退出登录").click()
    page.get_by_test_id("login-form").wait_for()
    page.locator("input[name=username]").fill(world["users"]["b"])
    page.locator("input[name=password]").fill(world["password"])
    page.locator("button[type=submit]").click()
    blocked = page.get_by_test_id("login-error")
    wait_until(page, "() => document.querySelector('[data-testid=login-error]').textContent !== ''")
    assert "由其登录后在“待同步”页面导出" in blocked.inner_text()
    ctx.set_offline(False)
    login(page, world["users"]["a"], world["password"])

    # The token is revoked while an inspection is open: the bar says so in words, and logging in
    # again from there comes back to that inspection.
    page.get_by_test_id("assignment").first.click()
    page.get_by_test_id("inspection").wait_for()
    where = page.evaluate("() => location.hash")
    page.evaluate(REVOKE_JS)
    page.get_by_test_id("sync-now").click()
    page.get_by_test_id("relogin").wait_for()
    assert "请重新登录" in page.get_by_test_id("sync-line").inner_text()
    page.get_by_test_id("relogin").click()
    page.locator("input[name=password]").fill(world["password"])
    page.locator("button[type=submit]").click()
    page.get_by_test_id("inspection").wait_for()
    assert page.evaluate("() => location.hash") == where
    page.get_by_role("link", name="← 返回").click()
    page.get_by_test_id("assignments").wait_for()

    # Back online and synced: the outbox says so and offers no empty export; logging out needs no
    # confirmation.
    ctx.set_offline(False)
    wait_synced(page)
    page.get_by_role("link", name="待同步").click()
    page.get_by_test_id("outbox-empty").wait_for()
    assert page.title() == "待同步 · 现场检查"
    assert page.get_by_test_id("export").count() == 0
    page.get_by_role("link", name="← 返回").click()
    page.get_by_test_id("assignments").wait_for()
    page.get_by_role("button", name="退出登录").click()
    page.get_by_test_id("login-form").wait_for()
    assert questions == [questions[0]]
    ctx.close()
