"""Demo submissions: take some of the demo draws' inspections through the real field-sync services so
the review pages have something to review after ``make run`` (``flask review demo-submissions``).

Each inspection goes the way the phones take it: the team leader's and a member's devices pull,
push answers, photos and a check-in, upload the image files (re-hashed and validated like any
upload), sign the content hash, and finalize — so the versions, hashes and signatures are genuine.
A few vary: a 否 answer with a finding, a target that cannot be contacted (special outcome), and one
returned by the supervisor with comments and resubmitted as version 2 (to show the diff).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
import uuid
from dataclasses import dataclass
from typing import Any

from PIL import ExifTags, Image, ImageDraw
from sqlalchemy import select

from server.accounts.models import ApiToken, User
from server.accounts.services import issue_token
from server.evidence.services import receive_blob
from server.extensions import db
from server.fieldsync.services import finalize_inspection, pull_changes, push_changes
from server.fieldsync.store import SqlStore
from server.inspections.models import Inspection, InspectionVersion
from server.review.services import return_inspection
from sync.content import content_hash, inspection_snapshot
from sync.records import answer_id, outcome_id

# 高平市 (Gaoping): the photos' EXIF and the devices' GPS fall around here.
GAOPING = (35.7913, 112.9236)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@dataclass
class Device:
    user: User
    inspector_id: int
    token: ApiToken

    @property
    def device_id(self) -> str:
        return self.token.device_id


def _device(user: User, inspector_id: int) -> Device:
    device_id = f"demo-{user.username}"
    issue_token(user, device_id, "demo phone")
    token = db.session.scalar(
        select(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.device_id == device_id, ApiToken.revoked_at.is_(None)
        )
    )
    assert token is not None
    return Device(user, inspector_id, token)


def _change(
    record_type: str, record_id: str, fields: dict[str, Any], when: dt.datetime, base: int = 0
) -> dict[str, Any]:
    return {
        "change_id": str(uuid.uuid4()),
        "record_type": record_type,
        "record_id": record_id,
        "op": "upsert" if record_type in ("inspection", "answer", "outcome") else "append",
        "base_version": base,
        "fields": fields,
        "client_time": when.isoformat(),
    }


def _push(device: Device, *changes: dict[str, Any]) -> None:
    response = push_changes(
        device.user, device.token, {"device_id": device.device_id, "changes": list(changes)}
    )
    results: list[Any] = list(response["results"])  # type: ignore[arg-type]
    refused = [r for r in results if r["status"] == "rejected"]
    if refused:
        raise RuntimeError(f"demo push refused: {refused}")


def _photo_bytes(rng: random.Random, when: dt.datetime, lat: float, lon: float) -> bytes:
    """A JPEG with a shopfront-ish drawing and EXIF capture time and GPS, like a phone's."""
    im = Image.new(
        "RGB", (1024, 768), (rng.randrange(150, 230), rng.randrange(150, 230), rng.randrange(150, 230))
    )
    draw = ImageDraw.Draw(im)
    for _ in range(6):
        x, y = rng.randrange(0, 900), rng.randrange(0, 650)
        draw.rectangle(
            (x, y, x + rng.randrange(60, 300), y + rng.randrange(40, 200)),
            fill=(rng.randrange(0, 255), rng.randrange(0, 255), rng.randrange(0, 255)),
        )
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Huawei"
    exif[ExifTags.Base.Model] = "Mate 60"
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    ifd[ExifTags.Base.DateTimeOriginal] = when.strftime("%Y:%m:%d %H:%M:%S")
    ifd[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)

    def dms(value: float) -> tuple[float, float, float]:
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        return (float(degrees), float(minutes), round(((value - degrees) * 60 - minutes) * 60, 2))

    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", dms(lat)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", dms(lon)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=80, exif=exif)
    return out.getvalue()


def _signature_png(rng: random.Random) -> bytes:
    im = Image.new("RGB", (480, 180), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    points = [(30 + i * 28, 90 + rng.randrange(-50, 50)) for i in range(15)]
    draw.line(points, fill=(20, 20, 20), width=4, joint="curve")
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def _upload(device: Device, data: bytes, kind: str) -> str:
    sha = hashlib.sha256(data).hexdigest()
    receive_blob(sha, [data], device.user, kind)
    return sha


def _sign(
    devices: list[Device], sync_id: str, rng: random.Random, when: dt.datetime, representative: str | None
) -> None:
    """Both inspectors (and the representative, unless nobody speaks for the target) sign the hash."""
    signed = content_hash(inspection_snapshot(SqlStore(db.session), sync_id))
    signers: list[tuple[Device, int | None, str]] = [
        (d, d.inspector_id, d.user.display_name) for d in devices
    ]
    if representative:
        signers.append((devices[0], None, representative))
    for device, inspector_id, name in signers:
        png = _signature_png(rng)
        _push(
            device,
            _change(
                "signature",
                str(uuid.uuid4()),
                {
                    "inspection_id": sync_id,
                    "signer_role": "inspector" if inspector_id is not None else "representative",
                    "signer_id": inspector_id,
                    "signer_name": name,
                    "content_hash": signed,
                    "png_sha256": hashlib.sha256(png).hexdigest(),
                    "signed_at": when.isoformat(),
                    "device_id": device.device_id,
                },
                when,
            ),
        )
        _upload(device, png, "signature")


def _checkpoints(sync_id: str) -> list[int]:
    record = SqlStore(db.session).get_record("inspection", sync_id)
    assert record is not None
    ids = record.fields().get("checkpoint_ids") or []
    return [i for i in ids if isinstance(i, int)]  # type: ignore[union-attr]


def submit_one(
    inspection: Inspection, variant: str, rng: random.Random, when: dt.datetime, reviewer: User | None
) -> bool:
    """Drive one assigned inspection to submitted; False if its team has no two inspectors with accounts."""
    members = [m for m in inspection.active_team if m.role in ("leader", "member") and m.inspector.user_id]
    members.sort(key=lambda m: m.role != "leader")
    users = [db.session.get(User, m.inspector.user_id) for m in members[:2]]
    if len(members) < 2 or None in users:
        return False
    devices = [_device(u, m.inspector_id) for u, m in zip(users, members, strict=False) if u is not None]
    for device in devices:
        pull_changes(device.user, {"cursor": None, "limit": 500})
    db.session.refresh(inspection)
    sync_id = inspection.sync_id
    assert sync_id is not None
    lead = devices[0]
    lat, lon = GAOPING[0] + rng.uniform(-0.05, 0.05), GAOPING[1] + rng.uniform(-0.05, 0.05)
    checkpoints = _checkpoints(sync_id)
    # Each inspector checks in on their own phone (a phone writes only as its own user).
    for d in devices:
        _push(
            d,
            _change(
                "checkin",
                str(uuid.uuid4()),
                {
                    "inspection_id": sync_id,
                    "inspector_id": d.inspector_id,
                    "at": when.isoformat(),
                    "lat": lat,
                    "lon": lon,
                    "accuracy_m": 8.0,
                },
                when,
            ),
        )
    changes: list[dict[str, Any]] = []
    representative: str | None = f"{inspection.target.legal_rep or '负责人'}（负责人）"
    if variant == "no_contact":
        changes.append(
            _change(
                "outcome",
                outcome_id(sync_id),
                {
                    "inspection_id": sync_id,
                    "code": "no_contact",
                    "note": "登记住所已更换为其他商户，电话无人接听",
                },
                when,
            )
        )
        representative = None
    else:
        for n, checkpoint in enumerate(checkpoints):
            value, note = "yes", None
            if variant == "problem" and n == 0:
                value, note = "no", "现场未能提供相关记录"
            changes.append(
                _change(
                    "answer",
                    answer_id(sync_id, checkpoint),
                    {"inspection_id": sync_id, "checkpoint_id": checkpoint, "value": value, "note": note},
                    when,
                )
            )
        if variant == "problem" and checkpoints:
            changes.append(
                _change(
                    "finding",
                    str(uuid.uuid4()),
                    {
                        "inspection_id": sync_id,
                        "checkpoint_id": checkpoints[0],
                        "description": "未按规定建立并保存相关台账",
                        "recorded_by": lead.inspector_id,
                        "recorded_at": when.isoformat(),
                    },
                    when,
                )
            )
    photo = _photo_bytes(rng, when, lat, lon)
    changes.append(
        _change(
            "photo",
            str(uuid.uuid4()),
            {
                "inspection_id": sync_id,
                "sha256": hashlib.sha256(photo).hexdigest(),
                "checkpoint_id": checkpoints[0] if checkpoints and variant != "no_contact" else None,
                "taken_at": when.isoformat(),
                "lat": lat,
                "lon": lon,
                "accuracy_m": 8.0,
                "device_id": lead.device_id,
            },
            when,
        )
    )
    _push(lead, *changes)
    _upload(lead, photo, "photo")
    _sign(devices, sync_id, rng, when, representative)
    finalize_inspection(lead.user, lead.token, sync_id)

    if variant == "returned" and reviewer is not None and checkpoints:
        return_inspection(
            inspection,
            1,
            reviewer,
            comment="请补充经营场所门头照片，并说明检查依据。",
            items=[{"checkpoint_id": checkpoints[-1], "comment": "该项请注明核查的具体材料"}],
        )
        later = when + dt.timedelta(days=1)
        record = SqlStore(db.session).get_record("answer", answer_id(sync_id, checkpoints[-1]))
        assert record is not None
        _push(
            lead,
            _change(
                "answer",
                answer_id(sync_id, checkpoints[-1]),
                {"note": "核查了营业执照、年度报告及门头实景"},
                later,
                base=record.version,
            ),
        )
        door = _photo_bytes(rng, later, lat, lon)
        _push(
            lead,
            _change(
                "photo",
                str(uuid.uuid4()),
                {
                    "inspection_id": sync_id,
                    "sha256": hashlib.sha256(door).hexdigest(),
                    "checkpoint_id": None,
                    "taken_at": later.isoformat(),
                    "lat": lat,
                    "lon": lon,
                    "device_id": lead.device_id,
                },
                later,
            ),
        )
        _upload(lead, door, "photo")
        _sign(devices, sync_id, rng, later, representative)
        finalize_inspection(lead.user, lead.token, sync_id)
    return True


VARIANTS = ("plain", "problem", "no_contact", "returned", "plain", "plain")


def demo_submissions(count: int, seed: int = 2025) -> int:
    """Submit up to ``count`` assigned inspections; returns how many. Flushes; the caller commits."""
    rng = random.Random(seed)
    reviewer = db.session.scalar(select(User).where(User.username == "supervisor"))
    done = 0
    candidates = db.session.scalars(
        select(Inspection).where(Inspection.state == "assigned").order_by(Inspection.id).limit(count * 3)
    )
    for inspection in list(candidates):
        if done >= count:
            break
        when = dt.datetime.now(SHANGHAI).replace(microsecond=0) - dt.timedelta(
            days=rng.randrange(1, 10), hours=rng.randrange(0, 5)
        )
        if submit_one(inspection, VARIANTS[done % len(VARIANTS)], rng, when, reviewer):
            done += 1
    return done


def has_submissions() -> bool:
    return db.session.scalar(select(InspectionVersion.id).limit(1)) is not None


# -- decisions: approve, withhold, publish, follow up ----------------------------------------------


@dataclass
class DemoDecisions:
    approved: int = 0
    published: int = 0
    withheld: int = 0
    follow_ups: int = 0


def demo_decisions(keep_for_review: int = 4) -> DemoDecisions:
    """Decide most of the demo's submissions the way staff would, through the real services.

    The supervisor approves all but ``keep_for_review`` of the submitted inspections with the
    categories the review page suggests; one result is marked not for publication (waiting for the
    leader on 不予公示审批); the others are published. Every problem that needs a follow-up gets a
    disposition: an order to correct by a deadline for a problem found, a hand-over to routine
    supervision (the abnormal-operations list) for a target that cannot be contacted. Flushes; the
    caller commits.
    """
    from server.followup.services import follow_up_categories, open_follow_up
    from server.i18n import today_local
    from server.publication.services import publish_results
    from server.results.services import list_categories, result_for, suggested_categories
    from server.review.services import approve_inspection

    supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
    if supervisor is None:
        raise ValueError("the demo's supervisor account is missing: load the demo first")
    submitted = list(
        db.session.scalars(select(Inspection).where(Inspection.state == "submitted").order_by(Inspection.id))
    )
    categories = list_categories(active_only=True)
    done = DemoDecisions()
    withhold_one = True
    to_publish: list[Inspection] = []
    for inspection in submitted[: max(0, len(submitted) - keep_for_review)]:
        version = inspection.latest_version
        assert version is not None
        codes = suggested_categories(version.record, categories)
        plain = codes == ["no_problem"]
        publish = not (plain and withhold_one)
        approve_inspection(
            inspection,
            version.number,
            supervisor,
            categories=codes,
            publish=publish,
            withhold_reason="" if publish else "该企业涉及正在办理的案件，结果暂不公示，待案件办结后再议",
        )
        done.approved += 1
        if publish:
            to_publish.append(inspection)
        else:
            withhold_one = False
            done.withheld += 1
    if to_publish:
        done.published = len(publish_results(to_publish, supervisor))
    for inspection in to_publish:
        result = result_for(inspection)
        assert result is not None
        for category in follow_up_categories(result):
            correction = category.code != "no_contact"
            open_follow_up(
                inspection,
                supervisor,
                {
                    "kind": "correction" if correction else "routine",
                    "category_id": category.id,
                    "description": "责令限期改正，到期复查"
                    if correction
                    else "移交日常监管，依法列入经营异常名录",
                    "deadline": today_local() + dt.timedelta(days=30) if correction else None,
                    "transfer_to": "",
                },
            )
            done.follow_ups += 1
    return done


def has_decisions() -> bool:
    return (
        db.session.scalar(select(InspectionVersion.id).where(InspectionVersion.status == "approved").limit(1))
        is not None
    )
