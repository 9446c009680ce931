"""Seed an e2e database: migrate it and build one field world (tests/support/field.py).

Run as ``python -m tests.e2e.seed [--returned]`` with the SPOTCHECK_* environment of the server it is
for; prints one JSON line with the usernames, password and ids the browser tests need. A separate
process so the data is made by the app's own models, factories and sync API, as in the integration
tests.

``--returned``: the inspection is also completed through the sync API (two inspectors' and the
representative's signatures, finalize) and then returned by a reviewer with comments. The review
service is not built yet (a later issue); until then the return is written here the way
``server/fieldsync/assignments.py`` reads it: the version marked returned, its comments, the state,
and the inspection record refreshed for the phones.
"""

from __future__ import annotations

import json
import sys

from flask_migrate import upgrade

from server import Config, create_app
from server.db import utcnow
from server.extensions import db
from server.fieldsync.assignments import refresh_inspection
from server.inspections.models import Inspection
from server.review.models import ReviewComment
from tests.support import factories
from tests.support.field import FieldWorld, complete_inspection, field_world

RETURN_COMMENT = "检查记录不完整，请补充后重新提交"
CHECKPOINT_COMMENT = "第2项请注明实际经营地址"


def return_for_fixes(world: FieldWorld) -> None:
    reviewer = factories.user(roles=["supervisor"], department=world.department)
    inspection = db.session.get(Inspection, world.inspection.id)
    assert inspection is not None and inspection.latest_version is not None
    version = inspection.latest_version
    version.status = "returned"
    version.decided_at = utcnow()
    version.decided_by_id = reviewer.id
    version.decision_comment = RETURN_COMMENT
    db.session.add(
        ReviewComment(
            version_id=version.id,
            checkpoint_id=world.checkpoints[1].id,
            text=CHECKPOINT_COMMENT,
            author_id=reviewer.id,
        )
    )
    inspection.state = "returned"
    db.session.flush()
    refresh_inspection(inspection)
    db.session.commit()


def main(argv: list[str]) -> None:
    app = create_app(Config)
    with app.app_context():
        upgrade()
        world = field_world()
        if "--returned" in argv:
            complete_inspection(world, app.test_client())
            return_for_fixes(world)
        print(
            json.dumps(
                {
                    "password": factories.PASSWORD,
                    "users": {key: u.username for key, u in world.users.items()},
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
