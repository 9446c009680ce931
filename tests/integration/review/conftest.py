"""Review fixtures: a field world with a submitted inspection, the seeded result categories, and the
people who review it (a supervisor and two leaders of its department, a supervisor of another
department, an admin)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.accounts.models import User
from server.extensions import db
from server.inspections.models import Inspection
from server.results.models import ResultCategory
from tests.support import factories
from tests.support.field import FieldWorld, Phone, complete_inspection, field_world
from tests.support.results import seed_categories


@dataclass
class Review:
    world: FieldWorld
    supervisor: User
    leader: User
    leader2: User
    outsider: User  # a supervisor of another department
    admin: User
    categories: dict[str, ResultCategory]
    phones: tuple[Phone, Phone] | None = None
    sync_id: str = ""

    @property
    def inspection(self) -> Inspection:
        found = db.session.get(Inspection, self.world.inspection.id)
        assert found is not None
        return found

    def submit(self, client: FlaskClient, values: tuple[str, str] = ("yes", "yes")) -> Review:
        """Drive both phones to a submitted inspection (version 1)."""
        phone_a, phone_b, self.sync_id = complete_inspection(self.world, client, values=values)
        self.phones = (phone_a, phone_b)
        return self


@pytest.fixture
def review(app: Flask) -> Review:
    world = field_world()
    other = factories.department(name="高平市卫生健康局")
    return Review(
        world=world,
        supervisor=factories.user(roles=["supervisor"], department=world.department, display_name="审核员甲"),
        leader=factories.user(roles=["leader"], department=world.department, display_name="领导甲"),
        leader2=factories.user(roles=["leader"], department=world.department, display_name="领导乙"),
        outsider=factories.user(roles=["supervisor"], department=other, display_name="外部门审核员"),
        admin=factories.user(roles=["admin"], display_name="管理员"),
        categories=seed_categories(),
    )


@pytest.fixture
def submitted(review: Review, client: FlaskClient) -> Review:
    return review.submit(client)


def api(client: FlaskClient, user: User, method: str, path: str, **kw: Any) -> Any:
    """Call the API as ``user`` (a fresh bearer token each time)."""
    headers = factories.auth_header(user, device_id=f"desk-{user.id:04d}")
    return client.open(path, method=method, headers=headers, **kw)
