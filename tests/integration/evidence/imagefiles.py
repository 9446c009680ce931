"""Image files for the evidence tests, made with Pillow (and by hand where Pillow would refuse).

Shared by ``tests/unit/test_evidence_*.py`` and the integration tests beside this file.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator

from PIL import ExifTags, Image

RED = (220, 20, 20)
BLUE = (20, 20, 220)


def two_tone(size: tuple[int, int] = (640, 480)) -> Image.Image:
    """Left half red, right half blue: after a rotation the halves show where "up" went."""
    im = Image.new("RGB", size, BLUE)
    im.paste(RED, (0, 0, size[0] // 2, size[1]))
    return im


def exif_block(
    orientation: int | None = None,
    gps: tuple[str, tuple[float, float, float], str, tuple[float, float, float]] | None = None,
    taken: str | None = None,
    offset: str | None = None,
    make: str | None = None,
    model: str | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if make is not None:
        exif[ExifTags.Base.Make] = make
    if model is not None:
        exif[ExifTags.Base.Model] = model
    if taken is not None:
        ifd = exif.get_ifd(ExifTags.IFD.Exif)
        ifd[ExifTags.Base.DateTimeOriginal] = taken
        if offset is not None:
            ifd[ExifTags.Base.OffsetTimeOriginal] = offset
    if gps is not None:
        lat_ref, lat, lon_ref, lon = gps
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        info[ExifTags.GPS.GPSLatitudeRef] = lat_ref
        info[ExifTags.GPS.GPSLatitude] = lat
        info[ExifTags.GPS.GPSLongitudeRef] = lon_ref
        info[ExifTags.GPS.GPSLongitude] = lon
    return exif


# Tiananmen, as a phone writes it: 39°54'27" N, 116°23'50.4" E.
BEIJING = ("N", (39.0, 54.0, 27.0), "E", (116.0, 23.0, 50.4))


def field_photo(size: tuple[int, int] = (640, 480), **exif: object) -> bytes:
    """A JPEG as a phone would send it: orientation 6 (held upright), GPS, time and device."""
    fields: dict[str, object] = {
        "orientation": 6,
        "gps": BEIJING,
        "taken": "2026:05:01 10:20:30",
        "make": "Huawei",
        "model": "P60",
    }
    fields.update(exif)
    return jpeg(two_tone(size), exif_block(**fields))  # type: ignore[arg-type]


def jpeg(im: Image.Image, exif: Image.Exif | None = None, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    if exif is not None:
        im.save(buf, "JPEG", quality=quality, exif=exif)
    else:
        im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def encoded(im: Image.Image, fmt: str, **options: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def signature_png(size: tuple[int, int] = (400, 160)) -> bytes:
    """Black strokes on a transparent background, as a signature pad produces."""
    im = Image.new("RGBA", size, (0, 0, 0, 0))
    im.paste((0, 0, 0, 255), (40, 70, size[0] - 40, 90))
    return encoded(im, "PNG")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 20000, height: int = 20000) -> bytes:
    """A 1-bit black PNG of ``width``×``height``: a few kB on the wire, gigabytes once decoded.

    Written by hand, row by row through zlib, because Pillow would need the whole image in memory
    (one byte per pixel) to save it.
    """

    def rows() -> Iterator[bytes]:
        row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
        compressor = zlib.compressobj(9)
        for _ in range(height):
            yield compressor.compress(row)
        yield compressor.flush()

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # bit depth 1, greyscale
    idat = b"".join(rows())
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
