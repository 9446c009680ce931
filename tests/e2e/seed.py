"""Seed an e2e database: migrate it and build one field world (tests/support/field.py).

Run as ``python -m tests.e2e.seed [--returned]`` with the SPOTCHECK_* environment of the server it is
for; prints one JSON line with the usernames, password and ids the browser tests need. A separate
process so the data is made by the app's own models, factories and sync API, as in the integration
tests.

``--submitted``: the inspection is also completed through the sync API (two inspectors' and the
representative's signatures, finalize). ``--returned``: and then returned by a reviewer with comments,
through the review service. Either way a supervisor of the department (``users.supervisor``) exists.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from flask_migrate import upgrade

from server import Config, create_app
from server.extensions import db
from server.inspections.models import Inspection
from server.review.services import return_inspection
from tests.support import factories
from tests.support.field import FieldWorld, complete_inspection, field_world

RETURN_COMMENT = "检查记录不完整，请补充后重新提交"
CHECKPOINT_COMMENT = "第2项请注明实际经营地址"


def return_for_fixes(world: FieldWorld, reviewer: Any) -> None:
    inspection = db.session.get(Inspection, world.inspection.id)
    assert inspection is not None and inspection.latest_version is not None
    return_inspection(
        inspection,
        inspection.latest_version.number,
        reviewer,
        comment=RETURN_COMMENT,
        items=[{"checkpoint_id": world.checkpoints[1].id, "comment": CHECKPOINT_COMMENT}],
    )
    db.session.commit()


def main(argv: list[str]) -> None:
    app = create_app(Config)
    with app.app_context():
        upgrade()
        world = field_world()
        supervisor = factories.user(
            roles=["supervisor"], department=world.department, username=f"reviewer-{world.department.id}"
        )
        if "--submitted" in argv or "--returned" in argv:
            complete_inspection(world, app.test_client())
        if "--returned" in argv:
            return_for_fixes(world, supervisor)
        users = {key: u.username for key, u in world.users.items()}
        print(
            json.dumps(
                {
                    "password": factories.PASSWORD,
                    "users": {**users, "supervisor": supervisor.username},
                    "inspector_ids": {key: i.id for key, i in world.inspectors.items()},
                    "inspection_id": world.inspection.id,
                    "checkpoint_ids": [c.id for c in world.checkpoints],
                    "target_name": world.target.name,
                },
                ensure_ascii=False,
            )
        )


if __name__ == "__main__":
    main(sys.argv[1:])
