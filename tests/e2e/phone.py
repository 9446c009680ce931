"""Driving the field app like an inspector: a phone-sized browser context, login, waiting for sync,
drawing a signature, reading what the app holds in IndexedDB, and test photos with EXIF."""

from __future__ import annotations

import io
import random
import time
from typing import Any

from PIL import ExifTags, Image
from playwright.sync_api import Error as PlaywrightError

# A mid-range Android phone's screen.
PHONE = {
    "viewport": {"width": 412, "height": 915},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
GAOPING = {"latitude": 35.7912, "longitude": 112.9236, "accuracy": 12}


# Per page: uncaught exceptions and console errors (CSP violations are reported there).
_PROBLEMS: dict[int, list[str]] = {}


def problems(page: Any) -> list[str]:
    return _PROBLEMS.get(id(page), [])


def new_phone(browser: Any, base_url: str) -> tuple[Any, Any]:
    context = browser.new_context(
        base_url=base_url,
        permissions=["geolocation"],
        geolocation=GAOPING,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        **PHONE,
    )
    page = context.new_page()
    seen = _PROBLEMS.setdefault(id(page), [])
    page.on("pageerror", lambda exc: seen.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: seen.append(f"console: {msg.text}") if msg.type == "error" else None)
    return context, page


def login(page: Any, username: str, password: str) -> None:
    page.goto("/app/")
    page.get_by_test_id("login-form").wait_for()
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("button[type=submit]").click()
    page.get_by_test_id("assignments").wait_for()


def wait_until(page: Any, function: str, arg: Any = None, timeout: float = 30) -> Any:
    """Poll a JS function until it returns something truthy. (Playwright's wait_for_function would
    evaluate a string, which the app's Content-Security-Policy rightly forbids: no unsafe-eval.)"""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = page.evaluate(function, arg)
        except PlaywrightError as exc:  # the page navigated meanwhile (e.g. an update reloaded it)
            if "context was destroyed" not in str(exc):
                raise
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s: {function}")
        time.sleep(0.1)


def sw_ready(page: Any) -> None:
    """Wait until the service worker is active and controls the page (the shell is precached)."""
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    wait_until(page, "() => navigator.serviceWorker.controller !== null")


STATE_JS = """async () => {
  const app = window.spotcheck;
  const blobs = await app.db.getAll("blobs");
  return {
    outbox: await app.db.count("outbox"),
    rejected: await app.db.count("rejected"),
    pendingBlobs: blobs.filter((b) => b.state !== "uploaded").length,
    phase: app.engine.status.phase,
    error: app.engine.status.lastError,
  };
}"""


def app_state(page: Any) -> dict[str, Any]:
    return dict(page.evaluate(STATE_JS))


def wait_synced(page: Any, timeout: float = 60) -> dict[str, Any]:
    """Sync now and wait until nothing is queued and the last round ended well."""
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        page.evaluate("() => window.spotcheck.engine.sync('test')")
        state = app_state(page)
        if state["outbox"] == 0 and state["pendingBlobs"] == 0 and state["phase"] == "idle":
            return state
        time.sleep(0.5)
    raise AssertionError(f"not synced after {timeout} s: {state}")


def records(page: Any, record_type: str) -> list[dict[str, Any]]:
    return list(
        page.evaluate(
            "async (t) => (await window.spotcheck.db.getAll('records')).filter((r) => r.record_type === t)",
            record_type,
        )
    )


def blob_bytes(page: Any, sha256: str) -> bytes | None:
    data = page.evaluate(
        """async (sha) => {
             const row = await window.spotcheck.db.get("blob_bytes", sha);
             return row ? Array.from(new Uint8Array(row.bytes)) : null;
           }""",
        sha256,
    )
    return bytes(data) if data is not None else None


def draw_signature(page: Any, testid: str, seed: int = 1) -> None:
    pad = page.get_by_test_id(testid)
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    rng = random.Random(seed)
    x, y = box["x"] + 30, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for _ in range(25):
        x += (box["width"] - 60) / 25
        page.mouse.move(x, y + rng.uniform(-40, 40), steps=2)
    page.mouse.up()


def exif_photo(size: tuple[int, int], taken: str, gps: tuple[float, float], seed: int) -> bytes:
    """A camera-like JPEG: noisy content (so it compresses like a photo), capture time and GPS in EXIF."""
    rng = random.Random(seed)
    small = Image.new("RGB", (size[0] // 16, size[1] // 16))
    pixels = small.width * small.height
    small.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(pixels)])
    im = small.resize(size, Image.Resampling.BILINEAR)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Huawei"
    exif[ExifTags.Base.Model] = "nova 11"
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    ifd[ExifTags.Base.DateTimeOriginal] = taken
    ifd[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    info = exif.get_ifd(ExifTags.IFD.GPSInfo)

    def dms(value: float) -> tuple[float, float, float]:
        d = int(value)
        m = int((value - d) * 60)
        return (float(d), float(m), round(((value - d) * 60 - m) * 60, 2))

    info[ExifTags.GPS.GPSLatitudeRef] = "N"
    info[ExifTags.GPS.GPSLatitude] = dms(gps[0])
    info[ExifTags.GPS.GPSLongitudeRef] = "E"
    info[ExifTags.GPS.GPSLongitude] = dms(gps[1])
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=92, exif=exif)
    return buf.getvalue()
