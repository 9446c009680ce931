"""Evidence images with Pillow, no Flask: validate an upload, read its capture metadata, make renditions.

``inspect_image`` decides whether a file is acceptable evidence: a supported format (JPEG, PNG, WebP,
and HEIC/HEIF through ``pillow-heif``), at most ``MAX_PIXELS`` pixels, and a complete decode — a
truncated or corrupt file is refused rather than shown half grey. (libjpeg decodes flipped bits
inside JPEG data into garbled blocks without complaint, so those cannot be caught here; the SHA-256
the phone computed at capture is what guards the bytes in transit.) ``make_rendition`` makes the
small JPEGs staff look at: decoded at a reduced scale (JPEG draft mode), resized, turned upright by
the EXIF orientation, and saved without any metadata so the GPS position never leaks through them.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import ExifTags, Image, ImageFile, UnidentifiedImageError

try:  # HEIC is what iPhones shoot; pillow-heif is the maintained plugin (pinned in requirements.txt).
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - only without the optional wheel
    HEIF_SUPPORTED = False

# 50 MP is above any phone camera's default output (12–48 MP) and far below what exhausts memory
# (a fully decoded RGB image costs 3 bytes per pixel).
MAX_PIXELS = 50_000_000
THUMB_EDGE = 320
REVIEW_EDGE = 1600
RENDITION_QUALITY = 82
# After the DCT-domain reduction of draft mode only a small step is left (12 MP → 1600 px: 2016 →
# 1600, 1.26×). Box (area averaging, what OpenCV calls INTER_AREA for decimation) takes that step in
# 17 ms; Hamming took 24 ms and Bicubic, Pillow's thumbnail default, 41 ms — a quarter to a half of
# the whole rendition. Side by side at 1600 px, text and fine lines look the same with each; the
# price is softness measurable only numerically: against a full-resolution Lanczos reference
# encoded alike, Box is ≈ 3 dB PSNR below Hamming on hard edges (a test guards the floor).
RESAMPLE = Image.Resampling.BOX

# Pillow format name → the content type the blob is served with.
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
if HEIF_SUPPORTED:
    CONTENT_TYPES["HEIF"] = "image/heic"
FORMATS = tuple(CONTENT_TYPES)

# A phone's EXIF time has no zone unless OffsetTimeOriginal is set; the phones are in China.
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")

# EXIF orientation → the transpose that makes the image upright (1 needs none).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageRejected(Exception):
    """The file is not acceptable evidence; ``code`` is the problem code from the catalogue."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class ImageInfo:
    format: str  # Pillow's name: JPEG, PNG, WEBP, HEIF
    content_type: str
    width: int  # as displayed, i.e. after the EXIF orientation is applied
    height: int
    orientation: int  # EXIF 1–8; 1 when absent or invalid
    taken_at: dt.datetime | None  # naive UTC, like every *_at column
    gps_lat: float | None
    gps_lon: float | None
    device: str | None  # "Make Model" from EXIF


def inspect_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """Validate the file as evidence and return its metadata; raises ``ImageRejected``."""
    with _open(path, max_pixels) as im:
        fmt = str(im.format)
        raw_w, raw_h = im.size
        try:
            im.load()  # the full decode: truncation and corrupt data surface only here
        except OSError as exc:
            code = "image_truncated" if "truncated" in str(exc) else "image_unreadable"
            raise ImageRejected(code, str(exc)) from exc
        except Exception as exc:  # decoders raise many types; any means unusable
            raise ImageRejected("image_unreadable", f"{type(exc).__name__}: {exc}") from exc
        exif = _exif(im)
    orientation = _orientation(exif)
    width, height = (raw_h, raw_w) if orientation in (5, 6, 7, 8) else (raw_w, raw_h)
    lat, lon = _gps(exif)
    return ImageInfo(
        format=fmt,
        content_type=CONTENT_TYPES[fmt],
        width=width,
        height=height,
        orientation=orientation,
        taken_at=_taken_at(exif),
        gps_lat=lat,
        gps_lon=lon,
        device=_device(exif),
    )


def make_rendition(path: str | Path, long_edge: int, max_pixels: int = MAX_PIXELS) -> bytes:
    """An upright JPEG whose longer side is at most ``long_edge``, without metadata."""
    return make_renditions(path, [long_edge], max_pixels)[long_edge]


def make_renditions(
    path: str | Path, long_edges: list[int], max_pixels: int = MAX_PIXELS
) -> dict[int, bytes]:
    """Several renditions from one decode: the largest is made from the file, each smaller one from
    the previous (downscaling an already downscaled image loses nothing visible and costs little)."""
    out: dict[int, bytes] = {}
    with _open(path, max_pixels) as im:
        orientation = _orientation(_exif(im))
        icc = im.info.get("icc_profile")
        edges = sorted(set(long_edges), reverse=True)
        box = _raw_box(im.size, edges[0])
        if im.format == "JPEG":
            # libjpeg decodes at 1/2, 1/4 or 1/8 scale straight from the DCT coefficients; Pillow
            # picks the strongest reduction whose result still covers ``box``, so no detail the
            # rendition could show is lost (12 MP → 1600 px decodes at 1/2, → 320 px at 1/8).
            im.draft("RGB", box)
        current = _displayable(im)
        for edge in edges:
            current.thumbnail(_raw_box(current.size, edge), RESAMPLE, reducing_gap=None)
            # Rotating after the resize moves fewer pixels than rotating the full decode first.
            upright = current.transpose(_TRANSPOSE[orientation]) if orientation in _TRANSPOSE else current
            out[edge] = _encode_jpeg(upright, icc)
    return out


@contextmanager
def _open(path: str | Path, max_pixels: int) -> Iterator[ImageFile.ImageFile]:
    """Open (headers only) with the pixel limit checked before any pixel is decoded."""
    try:
        # Pillow raises above twice Image.MAX_IMAGE_PIXELS (~179 MP) and only warns above it; our
        # own limit, far lower, is checked below from the header, so the warning needs no handling
        # (changing warning filters here would not be thread-safe). It is caught in case a strict
        # filter (as in the tests) turns it into an exception.
        im = Image.open(path, formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("image_too_many_pixels", str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise _unsupported_or_unreadable(path) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected("image_unreadable", str(exc)) from exc
    assert isinstance(im, ImageFile.ImageFile)  # Image.open always returns one
    with im:
        width, height = im.size
        if width <= 0 or height <= 0:
            raise ImageRejected("image_unreadable", "the image has no pixels")
        if width * height > max_pixels:
            raise ImageRejected(
                "image_too_many_pixels", f"{width}×{height} is more than {max_pixels:,} pixels"
            )
        yield im


def _unsupported_or_unreadable(path: str | Path) -> ImageRejected:
    """Name the format when Pillow knows it but we do not accept it (GIF, TIFF, BMP, …)."""
    try:
        with Image.open(path) as other:  # headers only; never loaded
            fmt = other.format
    except Exception:  # any failure here just means "not an image"
        return ImageRejected("image_unreadable", "the file is not an image Pillow can read")
    accepted = ", ".join(FORMATS)
    return ImageRejected("image_unsupported_format", f"{fmt} is not accepted (only {accepted})")


def _raw_box(size: tuple[int, int], long_edge: int) -> tuple[int, int]:
    """The target size with the aspect ratio kept, so draft() may pick the largest reduction."""
    w, h = size
    scale = min(1.0, long_edge / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def _displayable(im: Image.Image) -> Image.Image:
    """RGB or L, with transparency flattened onto white (signatures are black strokes on nothing)."""
    if im.mode in ("RGB", "L"):
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if im.mode in ("RGBA", "LA", "PA", "P", "RGBa", "La") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return im.convert("RGB")


def _encode_jpeg(im: Image.Image, icc: bytes | None) -> bytes:
    buf = io.BytesIO()
    # No exif=: Pillow writes no EXIF (so no GPS, device or time) unless asked. The ICC profile
    # stays because it is colour, not information about the capture (phones shoot Display P3).
    # Baseline, not progressive: progressive encoding took ~30 ms of a ~70 ms review rendition
    # (measured, 12 MP) for a file a few per cent smaller that staff open over the office network.
    options: dict[str, Any] = {"quality": RENDITION_QUALITY}
    if icc:
        options["icc_profile"] = icc
    im.save(buf, "JPEG", **options)
    return buf.getvalue()


# --- EXIF ----------------------------------------------------------------------------------------


def _exif(im: Image.Image) -> Image.Exif:
    """The EXIF block, or an empty one if it is malformed: bad metadata is no reason to refuse a photo."""
    try:
        return im.getexif()
    except Exception:  # Pillow's EXIF parser raises assorted types on junk
        return Image.Exif()


def _orientation(exif: Image.Exif) -> int:
    value = exif.get(ExifTags.Base.Orientation)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value or None


def _device(exif: Image.Exif) -> str | None:
    make = _text(exif.get(ExifTags.Base.Make))
    model = _text(exif.get(ExifTags.Base.Model))
    # Many cameras repeat the make in the model ("Canon" + "Canon EOS R5").
    if make and model and model.lower().startswith(make.lower()):
        make = None
    device = " ".join(p for p in (make, model) if p)
    return device[:100] or None


def _taken_at(exif: Image.Exif) -> dt.datetime | None:
    """DateTimeOriginal (else DateTimeDigitized) with its offset; naive means China time."""
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    pairs = (
        (ExifTags.Base.DateTimeOriginal, ExifTags.Base.OffsetTimeOriginal),
        (ExifTags.Base.DateTimeDigitized, ExifTags.Base.OffsetTimeDigitized),
    )
    for time_tag, offset_tag in pairs:
        text = _text(ifd.get(time_tag))
        if not text:
            continue
        try:
            local = dt.datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:
            continue  # "0000:00:00 00:00:00" and other placeholders
        zone = _offset(_text(ifd.get(offset_tag))) or LOCAL_ZONE
        return local.replace(tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)
    return None


def _offset(text: str | None) -> dt.tzinfo | None:
    """EXIF offsets look like "+08:00"."""
    if not text or len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes > 59:
        return None
    sign = 1 if text[0] == "+" else -1
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def _gps(exif: Image.Exif) -> tuple[float | None, float | None]:
    gps: Mapping[int, Any] = exif.get_ifd(ExifTags.IFD.GPSInfo)
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S", 90)
    lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W", 180)
    if lat is None or lon is None:
        return None, None  # half a position is no position
    return lat, lon


def _degrees(dms: Any, ref: Any, negative: str, limit: int) -> float | None:
    """(degrees, minutes, seconds) as EXIF rationals → signed decimal degrees."""
    try:
        d, m, s = (float(part) for part in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60 + s / 3600
    if not math.isfinite(value) or value > limit:
        return None
    if _text(ref) == negative:
        value = -value
    return round(value, 7)
