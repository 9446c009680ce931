"""An area's own translations win on its own pages; elsewhere the merged catalogue answers."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Flask

from server.i18n import translate

EN = Path(__file__).resolve().parents[2] / "server" / "translations" / "en"


def _app(*areas: str) -> Flask:
    app = Flask(__name__)
    app.config["DEFAULT_LOCALE"] = "en"
    for area in areas:
        bp = Blueprint(area, __name__)
        bp.add_url_rule("/", "page", lambda: translate("有效"))
        app.register_blueprint(bp, url_prefix=f"/{area}")
    return app


def test_the_same_word_reads_differently_per_area() -> None:
    draws = json.loads((EN / "draws.json").read_text("utf-8"))["有效"]
    common = json.loads((EN / "common.json").read_text("utf-8"))["有效"]
    assert draws != common  # the case this mechanism exists for
    app = _app("draws", "accounts")
    client = app.test_client()
    assert client.get("/draws/").get_data(as_text=True) == draws
    # An area without its own entry gets the shared word.
    assert client.get("/accounts/").get_data(as_text=True) == common


def test_blueprints_with_other_file_names_and_prefixed_files() -> None:
    from server.i18n import _area_catalogue

    records = json.loads((EN / "records.json").read_text("utf-8"))
    assert _area_catalogue("en", "inspection_records") == records
    directory = _area_catalogue("en", "directory")
    assert set(json.loads((EN / "directory_import.json").read_text("utf-8"))) <= set(directory)
