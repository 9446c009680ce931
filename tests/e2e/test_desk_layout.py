"""The desk pages on a phone-sized screen, in Chromium: what only a browser's layout shows.

No server process: the browser's requests to http://spotcheck.test are answered in-process by the
Flask test client (``page.route``), so this costs one small demo county and a few page loads. It
checks that a page with a wide table never becomes wider than the screen (the table scrolls inside
its card), that the navigation flows in rows rather than one link per line, and that a select is
not painted grey as if disabled.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from server.accounts.models import User
from server.demo import PASSWORD
from server.extensions import db
from tests.support.factories import login_page

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

ORIGIN = "http://spotcheck.test"
PHONE = {"width": 390, "height": 844}
# Pages whose tables have the most columns.
WIDE_PAGES = (
    "/directory/targets",
    "/directory/inspectors",
    "/planning/plans/1",
    "/admin/users",
    "/admin/audit",
)


def _serve(app: Flask, client: FlaskClient) -> Any:
    def handle(route: Any) -> None:
        request = route.request
        # Playwright calls this on its own greenlet, which does not share the test's app context.
        with app.app_context():
            resp = client.open(
                request.url.removeprefix(ORIGIN), method=request.method, data=request.post_data_buffer
            )
            route.fulfill(status=resp.status_code, headers=dict(resp.headers), body=resp.get_data())
            resp.close()

    return handle


def test_desk_pages_fit_a_phone_and_look_usable(app: Flask, browser: Any) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "--targets", "300"])
    assert result.exit_code == 0, result.output
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    assert admin is not None
    client = app.test_client()
    login_page(client, admin, PASSWORD)
    client.set_cookie("lang", "en")  # English words do not break anywhere as Chinese does: wider tables
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.route(f"{ORIGIN}/**", _serve(app, client))
    try:
        for path in WIDE_PAGES:
            page.goto(ORIGIN + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} is {width}px wide on a {PHONE['width']}px screen"
            # The table is still wider than the screen: its card (or its .wide box) scrolls sideways.
            boxes = "[...document.querySelectorAll('.card, .wide')]"
            scrolls = f"{boxes}.some(e => e.scrollWidth > e.clientWidth)"
            assert page.evaluate(scrolls), f"{path}: no card scrolls (is the table wide at all?)"
        # A select is white like the inputs beside it, not Chromium's grey that reads as disabled.
        page.goto(ORIGIN + "/directory/targets")
        colours = page.evaluate(
            "[...document.querySelectorAll('main select')].map(s => getComputedStyle(s).backgroundColor)"
        )
        assert colours and set(colours) == {"rgb(255, 255, 255)"}, colours
        tops = page.evaluate("[...document.querySelectorAll('header.top nav a')].map(a => a.offsetTop)")
        assert len(tops) > 10
        assert len(set(tops)) < len(tops) / 2, "the navigation should flow in rows, several links to a row"
    finally:
        context.close()
