"""Replays a golden fixture (``tests/fixtures/sync/*.json``) against a fresh ``MemoryStore``.

A fixture is ``{name, description, preconditions, steps}``. Preconditions are what the server holds
before the first step: ``records`` written with ``upstream.write_server_record`` in order, the
``blobs`` already uploaded and each device's ``access``. Each step is one HTTP exchange of
PROTOCOL.md — ``push``, ``pull``, ``blob_head``, ``blob_put`` or ``finalize`` — with the ``response``
(``{status, body}``) the server must give. The Python tests and the JavaScript client tests read the
same files. ``python -m sync.golden <dir>`` rewrites every response from this reference
implementation (review the diff: a changed response is a protocol change).
"""

from __future__ import annotations

import base64
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from sync.canonical import JSON, canonical_json
from sync.content import check_complete, verify_blob
from sync.downstream import pull
from sync.errors import SyncError
from sync.messages import check, pull_request_schema, push_request_schema
from sync.store import MemoryStore
from sync.upstream import Access, apply_push, write_server_record


def grant_access(grant: dict[str, Any]) -> Access:
    """A fixture's ``access`` entry for one device: ``{inspections, leads?, locked?, people?}``."""
    people = grant.get("people")
    return Access(
        frozenset(grant["inspections"]),
        frozenset(grant.get("leads", [])),
        frozenset(grant.get("locked", [])),
        frozenset(people) if people is not None else None,
    )


@dataclass
class Server:
    """The minimal server a fixture runs against: a store, a blob set and per-device access."""

    store: MemoryStore = field(default_factory=MemoryStore)
    blobs: set[str] = field(default_factory=set)
    access: dict[str, Access] = field(default_factory=dict)

    @classmethod
    def from_preconditions(cls, pre: dict[str, Any]) -> Server:
        server = cls()
        with server.store.transaction():
            for rec in pre.get("records", []):
                write_server_record(
                    server.store,
                    rec["record_type"],
                    rec["record_id"],
                    rec["fields"],
                    inspection_id=rec.get("inspection_id"),
                )
        server.blobs.update(pre.get("blobs", []))
        for device, grant in pre.get("access", {}).items():
            server.access[device] = grant_access(grant)
        return server

    def handle(self, step: dict[str, Any]) -> dict[str, JSON]:
        try:
            return {"status": 200, "body": self._dispatch(step)}
        except SyncError as exc:
            return {"status": exc.status, "body": exc.problem()}
        except ValidationError as exc:
            problem = SyncError("sync_bad_request", canonical_json(exc.messages))
            return {"status": problem.status, "body": problem.problem()}

    def _dispatch(self, step: dict[str, Any]) -> JSON:
        call = step["call"]
        if call == "push":
            body = check(push_request_schema, step["request"])
            device = body["device_id"]
            return apply_push(self.store, device, body["changes"], self.access.get(device))
        if call == "pull":
            body = check(pull_request_schema, step["request"])
            grant = self.access.get(step["device_id"])
            return pull(self.store, body["cursor"], body["limit"], grant.inspections if grant else None)
        if call == "blob_head":
            if step["sha256"] not in self.blobs:
                raise SyncError("sync_missing_blob", "upload it with PUT")
            return None
        if call == "blob_put":
            self.blobs.add(verify_blob(step["sha256"], base64.b64decode(step["body_base64"])))
            return {"sha256": step["sha256"]}
        if call == "finalize":
            return {
                "content_hash": check_complete(self.store, step["inspection_id"], self.blobs.__contains__)
            }
        raise ValueError(f"unknown step {call!r}")


def replay(fixture: dict[str, Any]) -> list[dict[str, JSON]]:
    server = Server.from_preconditions(fixture.get("preconditions", {}))
    return [server.handle(step) for step in fixture["steps"]]


def rewrite(directory: Path) -> None:
    for path in sorted(directory.glob("*.json")):
        fixture = json.loads(path.read_text(encoding="utf-8"))
        for step, response in zip(fixture["steps"], replay(fixture), strict=True):
            step["response"] = response
        path.write_text(json.dumps(fixture, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    rewrite(Path(sys.argv[1]))
