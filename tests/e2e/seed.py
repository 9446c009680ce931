"""Seed an e2e database: migrate it and build one field world (tests/support/field.py).

Run as ``python -m tests.e2e.seed`` with the SPOTCHECK_* environment of the server it is for; prints
one JSON line with the usernames, password and ids the browser tests need. A separate process so
the data is made by the app's own models and factories, exactly as in the integration tests.
"""

from __future__ import annotations

import json

from flask_migrate import upgrade

from server import Config, create_app
from tests.support import factories
from tests.support.field import field_world


def main() -> None:
    app = create_app(Config)
    with app.app_context():
        upgrade()
        world = field_world()
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
    main()
