"""``sync_ingest``: inspections with five ~300 KB photos each, synced by concurrent simulated phones.

Two servers run the same way — a threaded werkzeug server in a child process on loopback — and the
same simulated phones (threads, one HTTP connection each) send them the same photo bytes:

- **the app**: each phone logs in, pulls its assignments, pushes the records of each inspection
  (answers and five photo records in one push), then for each photo asks ``HEAD`` and ``PUT``s the
  bytes, as the PWA does. The server re-hashes, fully decodes and stores every photo.
- **the floor**: a bare WSGI endpoint that streams each ``PUT`` body to a temporary file, fsyncs it
  and renames it into place under its name, and nothing else.

Value: the app's median wall time (s) for the whole sync; ratio: the floor's median time ÷ the
app's (goal ≥ 0.7: syncing costs little more than moving the bytes to disk). After every app run
the database is checked: every photo record stored once, every photo held with the right hash —
any loss or duplicate fails the benchmark.

Two lines: ``sync_ingest`` with each phone sending at a 4G uplink's 8 Mbit/s (what phones do: the
question is whether the server's work adds to their waiting), and ``sync_ingest_loopback`` with
phones sending as fast as loopback allows (the server's raw throughput: here every photo's full
decode alone costs several times a bare PUT, so this ratio is far below 0.7; see bench/README.md).

Run alone: ``python -m bench.ingest [--inspections N] [--devices N] [--runs N]``; the servers are
``python -m bench.ingest serve app|bare DIR PORT``.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import ExifTags, Image

from bench import bench_line, median
from bench.dataset import OUT_DIR, log

PHOTOS_PER_INSPECTION = 5
PASSWORD = "bench-password"  # noqa: S105 (a throwaway database made for this benchmark)
ROOT = Path(__file__).resolve().parent.parent


# -- data ------------------------------------------------------------------------------------------


def base_photo(seed: int = 3) -> bytes:
    """A 1600×1200 JPEG of about 300 KB, as the phone sends after compressing (EXIF kept)."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).resize((1600, 1200))
    pixels = np.asarray(coarse, dtype=np.int16) + rng.integers(-10, 11, (1200, 1600, 1), dtype=np.int16)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Bench"
    exif[ExifTags.Base.Model] = "Field phone"
    out = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(out, "JPEG", quality=80, exif=exif)
    return out.getvalue()


def distinct_photos(base: bytes, n: int) -> list[bytes]:
    """``n`` different files (different SHA-256s) that are all the same valid JPEG: a JPEG comment
    segment (COM, 0xFFFE) with a serial number, inserted after the start-of-image marker."""
    photos = []
    for i in range(n):
        text = f"spotcheck bench photo {i:08d}".encode("ascii")
        segment = b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text
        photos.append(base[:2] + segment + base[2:])
    return photos


@dataclass
class World:
    url: str
    out_dir: Path
    devices: list[dict[str, Any]]  # {username, inspections: [target codes]}


def build_world(out_dir: Path, inspections: int, devices: int) -> World:
    """A fresh SQLite database through the migrations: one department, one item with two
    checkpoints, one task, ``inspections`` inspections spread over ``devices`` leader accounts
    (each with a member from a pool of other inspectors)."""
    import datetime as dt

    from flask_migrate import upgrade

    from server import Config, create_app
    from server.accounts.services import create_user
    from server.directory.models import Checkpoint, Department, Inspector, Item, Target
    from server.draws.models import Draw
    from server.extensions import db
    from server.inspections.models import Inspection, InspectionTask, TeamMember
    from server.planning.models import Plan, Task, TaskItem

    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    url = f"sqlite:///{out_dir / 'ingest.db'}"
    app = create_app(Config, _overrides(url, out_dir))
    with app.app_context():
        upgrade()
        dept = Department(code="BENCH", name="基准测试局", level="county")
        db.session.add(dept)
        db.session.flush()
        item = Item(code="BENCH-1", name="企业公示信息情况的检查", department_id=dept.id)
        item.checkpoints = [Checkpoint(position=1, text="年报"), Checkpoint(position=2, text="住所")]
        plan = Plan(year=2025, department_id=dept.id, title="基准", status="published")
        task = Task(
            plan=plan,
            seq=1,
            name="基准任务",
            task_type="undirected",
            window_start=dt.date(2025, 6, 1),
            window_end=dt.date(2025, 11, 30),
            initiating_department_id=dept.id,
        )
        db.session.add_all([item, plan, task])
        db.session.flush()
        task.item_links = [TaskItem(item_id=item.id, position=0)]
        draw = Draw(
            task_id=task.id,
            algorithm="bench",
            server_entropy="0" * 64,
            seed="0" * 64,
            snapshot_hash="0" * 64,
            snapshot_rows=inspections,
            parameters={},
            strata={},
        )
        db.session.add(draw)
        people = []
        for n in range(devices * 2):
            user = create_user(f"bench{n:03d}", PASSWORD, f"检查员{n}", ["inspector"], dept.id)
            inspector = Inspector(code=f"B{n:03d}", name=f"检查员{n}", department_id=dept.id, user_id=user.id)
            db.session.add(inspector)
            people.append((user, inspector))
        db.session.flush()
        plan_devices: list[dict[str, Any]] = [
            {"username": people[d][0].username, "inspections": 0} for d in range(devices)
        ]
        for n in range(inspections):
            target = Target(code=f"BENCH{n:08d}", name=f"基准对象{n}", kind="product")
            db.session.add(target)
            db.session.flush()
            ins = Inspection(target_id=target.id, window_start=task.window_start, window_end=task.window_end)
            db.session.add(ins)
            db.session.flush()
            db.session.add(InspectionTask(inspection_id=ins.id, task_id=task.id, draw_id=draw.id))
            leader = n % devices
            member = devices + (n % devices)
            for idx, role in ((leader, "leader"), (member, "member")):
                db.session.add(
                    TeamMember(
                        inspection_id=ins.id, inspector_id=people[idx][1].id, role=role, department_id=dept.id
                    )
                )
            plan_devices[leader]["inspections"] += 1
        db.session.commit()
        db.engine.dispose()
    return World(url, out_dir, plan_devices)


def _overrides(url: str, out_dir: Path) -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "VAR_DIR": out_dir,
        "BLOB_DIR": out_dir / "blobs",
        "SECRET_KEY": "bench-only",
        # The accounts were made for this run; a cheap hash keeps logins from dominating the timing.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }


# -- the two servers -------------------------------------------------------------------------------


def bare_app(root: Path) -> Any:
    """PUT /blobs/<name>: stream the body to a temporary file, fsync, rename. Nothing else."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        name = environ["PATH_INFO"].rsplit("/", 1)[-1]
        stream = environ["wsgi.input"]
        remaining = int(environ.get("CONTENT_LENGTH") or 0)
        fd, tmp = tempfile.mkstemp(dir=root)
        with os.fdopen(fd, "wb") as out:
            while remaining > 0:
                chunk = stream.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                out.write(chunk)
                remaining -= len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, root / name)
        start_response("201 Created", [("Content-Type", "application/json"), ("Content-Length", "2")])
        return [b"{}"]

    return app


def serve(kind: str, directory: str, port: int) -> None:
    from werkzeug.serving import make_server

    out = Path(directory)
    if kind == "bare":
        (out / "bare").mkdir(parents=True, exist_ok=True)
        wsgi = bare_app(out / "bare")
    else:
        from server import Config, create_app

        wsgi = create_app(Config, _overrides(f"sqlite:///{out / 'ingest.db'}", out))
    make_server("127.0.0.1", port, wsgi, threaded=True).serve_forever()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, kind: str, out_dir: Path) -> None:
        self.port = free_port()
        cmd = [sys.executable, "-m", "bench.ingest", "serve", kind, str(out_dir), str(self.port)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.DEVNULL)  # noqa: S603 (our module)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the {kind} server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


# -- the phones ------------------------------------------------------------------------------------


class Phone:
    """One simulated phone: one keep-alive connection; ``uplink`` bytes/s (None: loopback speed)."""

    def __init__(self, port: int, uplink: float | None = None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers: dict[str, str] = {}
        self.device_id = ""
        self.uplink = uplink

    def call(self, method: str, path: str, body: Any = None, raw: bytes | None = None, **headers: str) -> Any:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        hdrs = {**self.headers, **headers}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        if self.uplink is None or not data:
            self.conn.request(method, path, body=data, headers=hdrs)
        else:
            self.conn.putrequest(method, path)
            for key, value in {**hdrs, "Content-Length": str(len(data))}.items():
                self.conn.putheader(key, value)
            self.conn.endheaders()
            self._send_paced(data)
        resp = self.conn.getresponse()
        payload = resp.read()
        return resp.status, (json.loads(payload) if payload and method != "HEAD" else None)

    def _send_paced(self, data: bytes) -> None:
        """Send at the uplink's rate: 16 KB at a time, sleeping to stay on the schedule."""
        assert self.uplink is not None
        start = time.perf_counter()
        for offset in range(0, len(data), 16384):
            chunk = data[offset : offset + 16384]
            self.conn.send(chunk)
            due = start + (offset + len(chunk)) / self.uplink
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)

    def login(self, username: str) -> int:
        status, body = self.call(
            "POST",
            "/api/v1/sync/devices",
            {"username": username, "password": PASSWORD, "device_name": "bench"},
        )
        assert status == 201, body
        self.headers = {"Authorization": f"Bearer {body['token']}"}
        self.device_id = body["device_id"]
        return int(body["user"]["inspector_id"])


def app_device(
    port: int, username: str, photos: Iterator[bytes], errors: list[str], uplink: float | None
) -> None:
    """One phone's whole sync: login, pull, then per inspection push records, HEAD + PUT photos."""
    phone = Phone(port, uplink)
    phone.login(username)
    cursor = None
    inspections: dict[str, list[int]] = {}
    while True:
        status, page = phone.call("POST", "/api/v1/sync/pull", {"cursor": cursor, "limit": 500})
        assert status == 200, page
        for rec in page["changes"]:
            if rec["record_type"] == "inspection":
                inspections[rec["record_id"]] = rec["fields"]["checkpoint_ids"]
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    for sync_id, checkpoints in inspections.items():
        batch = [next(photos) for _ in range(PHOTOS_PER_INSPECTION)]
        changes = [
            _change(
                "answer",
                _answer_id(sync_id, cp),
                "upsert",
                {"inspection_id": sync_id, "checkpoint_id": cp, "value": "yes"},
            )
            for cp in checkpoints
        ] + [
            _change(
                "photo",
                str(uuid.uuid4()),
                "append",
                {
                    "inspection_id": sync_id,
                    "sha256": hashlib.sha256(p).hexdigest(),
                    "taken_at": "2025-06-03T09:12:00+08:00",
                    "device_id": phone.device_id,
                },
            )
            for p in batch
        ]
        status, body = phone.call(
            "POST", "/api/v1/sync/push", {"device_id": phone.device_id, "changes": changes}
        )
        if status != 200 or any(r["status"] != "applied" for r in body["results"]):
            errors.append(f"push {status}: {body}")
        for p in batch:
            digest = hashlib.sha256(p).hexdigest()
            status, _ = phone.call("HEAD", f"/api/v1/sync/blobs/{digest}")
            if status == 404:
                status, body = phone.call(
                    "PUT", f"/api/v1/sync/blobs/{digest}?kind=photo", raw=p, **{"Content-Type": "image/jpeg"}
                )
                if status not in (200, 201):
                    errors.append(f"put {status}: {body}")


def bare_device(
    port: int, count: int, photos: Iterator[bytes], errors: list[str], uplink: float | None
) -> None:
    phone = Phone(port, uplink)
    for _ in range(count * PHOTOS_PER_INSPECTION):
        p = next(photos)
        status, _ = phone.call("PUT", f"/blobs/{hashlib.sha256(p).hexdigest()}", raw=p)
        if status != 201:
            errors.append(f"bare put {status}")


def _answer_id(sync_id: str, checkpoint: int) -> str:
    from sync.records import answer_id

    return answer_id(sync_id, checkpoint)


def _change(record_type: str, record_id: str, op: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "change_id": str(uuid.uuid4()),
        "record_type": record_type,
        "record_id": record_id,
        "op": op,
        "base_version": 0,
        "fields": fields,
        "client_time": "2025-06-03T09:00:00+08:00",
    }


def run_devices(target: Any, plans: list[tuple[Any, ...]]) -> float:
    threads = [threading.Thread(target=target, args=args) for args in plans]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


# -- checking --------------------------------------------------------------------------------------


def check_no_loss(world: World, photos: list[bytes]) -> list[str]:
    """Every photo record stored exactly once and every photo held, byte-identical."""
    from sqlalchemy import func, select

    from server import Config, create_app
    from server.evidence.models import Blob
    from server.extensions import db
    from server.fieldsync.models import SyncRecord
    from server.storage import BlobStore

    app = create_app(Config, _overrides(world.url, world.out_dir))
    problems = []
    with app.app_context():
        records = db.session.scalar(
            select(func.count()).select_from(SyncRecord).where(SyncRecord.record_type == "photo")
        )
        if records != len(photos):
            problems.append(f"{records} photo records for {len(photos)} photos")
        held = set(db.session.scalars(select(Blob.sha256)))
        store = BlobStore(world.out_dir / "blobs")
        for p in photos:
            digest = hashlib.sha256(p).hexdigest()
            if digest not in held or hashlib.sha256(store.read(digest)).hexdigest() != digest:
                problems.append(f"photo {digest[:12]} lost")
        db.session.remove()
        db.engine.dispose()
    return problems


def measure(inspections: int, devices: int, runs: int, uplink: float | None, name: str) -> list[str]:
    base = base_photo()
    log(
        f"sync_ingest: {inspections} inspections × {PHOTOS_PER_INSPECTION} photos of {len(base) // 1024} KB, "
        f"{devices} phones"
    )
    app_times: list[float] = []
    bare_times: list[float] = []
    for run in range(runs):
        out = OUT_DIR / "ingest"
        world = build_world(out, inspections, devices)
        photos = distinct_photos(base, inspections * PHOTOS_PER_INSPECTION)
        per_device = [d["inspections"] * PHOTOS_PER_INSPECTION for d in world.devices]

        def slices(photos: list[bytes] = photos, per_device: list[int] = per_device) -> list[Iterator[bytes]]:
            out, start = [], 0
            for n in per_device:
                out.append(iter(photos[start : start + n]))
                start += n
            return out

        errors: list[str] = []
        server = Server("bare", out)
        try:
            bare = run_devices(
                bare_device,
                [
                    (server.port, d["inspections"], it, errors, uplink)
                    for d, it in zip(world.devices, slices(), strict=True)
                ],
            )
        finally:
            server.stop()
        server = Server("app", out)
        try:
            took = run_devices(
                app_device,
                [
                    (server.port, d["username"], it, errors, uplink)
                    for d, it in zip(world.devices, slices(), strict=True)
                ],
            )
        finally:
            server.stop()
        problems = errors + check_no_loss(world, photos)
        if problems:
            raise RuntimeError(f"sync_ingest lost or refused data: {problems[:5]}")
        log(f"{name} run {run + 1}: app {took:.3f} s, bare PUT-to-disk {bare:.3f} s, ratio {bare / took:.2f}")
        app_times.append(took)
        bare_times.append(bare)
    return [bench_line(name, median(app_times), "s", median(bare_times) / median(app_times))]


# A phone's uplink on a decent 4G connection: 8 Mbit/s. Field connections are often slower; slower
# links only make the server's share of the time smaller.
PHONE_UPLINK = 8_000_000 / 8


def run(_dataset: Any, runs: int) -> list[str]:
    return measure(40, 8, runs, PHONE_UPLINK, "sync_ingest") + measure(
        40, 8, runs, None, "sync_ingest_loopback"
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "serve":
        serve(args[1], args[2], int(args[3]))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.ingest")
    parser.add_argument("--inspections", type=int, default=40)
    parser.add_argument("--devices", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--uplink-kbps", type=float, default=None, help="per phone, kilobits/s")
    opts = parser.parse_args(args)
    uplink = opts.uplink_kbps * 1000 / 8 if opts.uplink_kbps else None
    for line in measure(opts.inspections, opts.devices, opts.runs, uplink, "sync_ingest"):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
