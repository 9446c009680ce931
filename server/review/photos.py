"""A photo's claims checked against its file: the device's GPS and time against the EXIF (pure).

The phone records where and when it says a photo was taken; the file's EXIF says what the camera
recorded. Far apart, or hours apart, the reviewer should look twice (a photo from the gallery, another
day, another place). Nothing is refused: the flags are for the reviewer's eyes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

# Flag a photo whose device and EXIF positions are further apart than this, or whose device and EXIF
# capture times differ by more (phone GPS is good to tens of metres; clocks to a minute or so).
GPS_MISMATCH_M = 500.0
TIME_MISMATCH_S = 15 * 60


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in metres."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def _utc(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def photo_checks(photo: Mapping[str, Any]) -> dict[str, Any]:
    """The device's claim (GPS, time) against the file's EXIF: distance, time gap, and whether to flag."""
    lat, lon, exif_lat, exif_lon = (photo.get(k) for k in ("lat", "lon", "exif_lat", "exif_lon"))
    distance = None
    if all(isinstance(v, int | float) for v in (lat, lon, exif_lat, exif_lon)):
        distance = _distance_m(float(lat), float(lon), float(exif_lat), float(exif_lon))  # type: ignore[arg-type]
    claimed, exif = _utc(photo.get("taken_at")), _utc(photo.get("exif_taken_at"))
    gap = abs((claimed - exif).total_seconds()) if claimed and exif else None
    return {
        "distance_m": distance,
        "time_gap_s": gap,
        "gps_mismatch": distance is not None and distance > GPS_MISMATCH_M,
        "time_mismatch": gap is not None and gap > TIME_MISMATCH_S,
    }
