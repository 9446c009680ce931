"""The public pages on a phone: nothing wider than the screen, results as readable blocks.

The browser talks to the in-process app through Playwright's request routing (no server to start),
so this stays fast; the layout itself is only visible in a real browser.
"""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.integration.publication.conftest import publish
from tests.support.field import field_world

BASE = "http://spotcheck.test"
PHONE = {"width": 360, "height": 740}


def _serve(client: FlaskClient) -> Any:
    def handle(route: Any) -> None:
        request = route.request
        # Playwright runs this in its own greenlet, outside the test's app context. The test client
        # follows redirects itself (a redirect answered here would bypass the routing) and keeps
        # the cookies, such as the language.
        with client.application.app_context():
            resp = client.open(request.url.removeprefix(BASE), method=request.method, follow_redirects=True)
        body = resp.get_data()
        resp.close()  # static files are streamed from an open file
        headers = {k: v for k, v in resp.headers.items() if k.lower() != "content-length"}
        route.fulfill(status=resp.status_code, headers=headers, body=body)

    return handle


def test_public_pages_fit_a_phone_in_both_languages(client: FlaskClient, browser: Any) -> None:
    world = field_world(name="高平市泫氏商贸有限责任公司晋城分公司")
    publish(world)
    pages = [
        "/public/",
        "/results",
        f"/results/{world.inspection.id}",
        "/public/draws",
        f"/public/draws/{world.draw.id}",
        "/public/draws/algorithm",
    ]
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.route(lambda url: url.startswith(BASE), _serve(client))
        for lang in ("zh_CN", "en"):
            page.goto(f"{BASE}/lang/{lang}?next=/")
            for path in pages:
                assert page.goto(BASE + path).status == 200, path
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE["width"], f"{lang} {path} is {width}px wide"
            # A result row reads as a block of "label: value" lines, each the full width.
            page.goto(f"{BASE}/results")
            cell = page.locator("table.stack tbody td").first
            row = page.locator("table.stack tbody tr").first
            assert cell.bounding_box()["width"] >= row.bounding_box()["width"] - 2
            label = cell.evaluate("td => getComputedStyle(td, '::before').content")
            assert ("检查对象" if lang == "zh_CN" else "Target") in label
    finally:
        context.close()
