"""Spotcheck: 双随机、一公开 market-supervision spot checks, end to end.

``create_app`` is the only place extensions are bound and blueprints registered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, g
from werkzeug.routing import IntegerConverter, Map

from server.config import Config, TestConfig
from server.db import MAX_ID


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route, at most 2^31−1 (an id column's range on PostgreSQL) unless the
    rule says otherwise: a larger number names nothing and answers 404, instead of overflowing in
    the database driver (a 500)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def create_app(config: type[Config] | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app from a config class plus overrides (applied before any extension binds)."""
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.config.from_object(config or Config)
    app.config.update(overrides or {})
    from server.config import check_config

    check_config(app.config)
    app.config["VAR_DIR"] = Path(app.config["VAR_DIR"])
    app.config["BLOB_DIR"] = Path(app.config["BLOB_DIR"])
    app.config["VAR_DIR"].mkdir(parents=True, exist_ok=True)

    from server import models  # noqa: F401  (every model registered on the metadata)
    from server.extensions import api, csrf, db, migrate

    db.init_app(app)
    with app.app_context():
        from server.db import configure_sqlite

        configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    api.init_app(app)

    from server.errors import register_error_handlers

    register_error_handlers(app)
    _register_blueprints(app, api)
    _register_request_hooks(app)
    _register_template_helpers(app)

    from server.cli import register_cli

    register_cli(app)
    if app.config["SCHEDULER_ENABLED"]:
        # Every enabled process stands by; a database lock lets exactly one run the jobs.
        from server.scheduler.runner import start_in_background

        start_in_background(app)
    return app


def _migrations_dir() -> str:
    return str(Path(__file__).resolve().parent.parent / "migrations")


def _register_blueprints(app: Flask, api: Any) -> None:
    from server.accounts import api as accounts_api
    from server.accounts import views as accounts_views
    from server.archive import views as archive_views
    from server.audit import views as audit_views
    from server.deadlines import api as calendar_api
    from server.deadlines import views as deadlines_views
    from server.directory import api as directory_api
    from server.directory import views as directory_views
    from server.draws import api as draws_api
    from server.draws import views as draws_views
    from server.evidence import api as evidence_api
    from server.extensions import csrf
    from server.fieldsync import api as sync_api
    from server.followup import api as followup_api
    from server.followup import views as followup_views
    from server.inspections import api as inspections_api
    from server.inspections import record_views as inspection_record_views
    from server.notifications import api as notifications_api
    from server.notifications import views as notifications_views
    from server.planning import api as planning_api
    from server.planning import views as planning_views
    from server.publication import api as publication_api
    from server.publication import views as publication_views
    from server.recovery import api as recovery_api
    from server.recovery import views as recovery_views
    from server.reports import api as reports_api
    from server.reports import views as reports_views
    from server.results import api as results_api
    from server.results import views as results_views
    from server.review import api as review_api
    from server.review import views as review_views
    from server.scheduler import views as jobs_views
    from server.web import views as web_views

    for bp in (
        accounts_views.bp,
        web_views.bp,
        directory_views.bp,
        planning_views.bp,
        draws_views.bp,
        publication_views.bp,
        followup_views.bp,
        inspection_record_views.bp,
        review_views.bp,
        results_views.bp,
        deadlines_views.bp,
        notifications_views.bp,
        jobs_views.bp,
        audit_views.bp,
        archive_views.bp,
        reports_views.bp,
        recovery_views.bp,
    ):
        app.register_blueprint(bp)
    for blp in (
        accounts_api.blp,
        directory_api.blp,
        planning_api.blp,
        draws_api.blp,
        inspections_api.blp,
        evidence_api.blp,
        sync_api.blp,
        publication_api.blp,
        followup_api.blp,
        review_api.blp,
        results_api.blp,
        calendar_api.blp,
        notifications_api.blp,
        reports_api.blp,
        recovery_api.blp,
    ):
        api.register_blueprint(blp)
        # The API authenticates with bearer tokens, never cookies, so CSRF does not apply to it.
        csrf.exempt(blp)


# Pages load scripts, styles, images and data from this origin only and run no inline script
# (server/static/site.js holds the few behaviours), so injected markup cannot run; forms post here.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def _register_request_hooks(app: Flask) -> None:
    from server.accounts.auth import load_user

    app.before_request(load_user)

    @app.after_request
    def _security_headers(resp: Any) -> Any:
        if resp.mimetype == "text/html":  # the field app sets its own (server/web/pwa.py)
            resp.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        return resp


def _register_template_helpers(app: Flask) -> None:
    from flask_wtf.csrf import generate_csrf

    from server.i18n import colon, current_locale, format_datetime, translate
    from server.web.nav import site_nav

    app.jinja_env.globals.update(
        _=translate, csrf_token=generate_csrf, current_locale=current_locale, site_nav=site_nav, colon=colon
    )
    app.jinja_env.filters["localtime"] = format_datetime

    def has_endpoint(endpoint: str) -> bool:
        return endpoint in app.view_functions

    app.jinja_env.globals["has_endpoint"] = has_endpoint

    @app.context_processor
    def _user() -> dict[str, Any]:
        return {"user": g.get("user")}


__all__ = ["Config", "TestConfig", "create_app"]
