"""Publication fixtures: published results made from field worlds, and logged-in page clients."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.accounts.models import User
from server.extensions import db
from server.inspections.models import Inspection
from server.publication.services import publish_results
from tests.support.factories import login_page
from tests.support.field import FieldWorld, field_world
from tests.support.results import approve

PUBLISHED_AT = dt.datetime(2025, 6, 6, 1, 0)


def publish(world: FieldWorld, when: dt.datetime = PUBLISHED_AT, **approval: Any) -> Inspection:
    """Approve the world's inspection with a result and publish it (committed)."""
    approve(world.inspection, **approval)
    inspection = db.session.get(Inspection, world.inspection.id)
    assert inspection is not None
    publish_results([inspection], None, now=when)
    db.session.commit()
    return inspection


@pytest.fixture
def published(app: Flask) -> Callable[..., FieldWorld]:
    """published(name=…, target_kind=…, categories=…, …): a new field world, published."""

    def make(**kw: Any) -> FieldWorld:
        world = field_world(
            **{k: kw.pop(k) for k in ("name", "target_kind") if k in kw},
        )
        publish(world, **kw)
        return world

    return make


@pytest.fixture
def page_as(app: Flask) -> Callable[[User], FlaskClient]:
    def login(user: User) -> FlaskClient:
        client = app.test_client()
        login_page(client, user)
        return client

    return login
