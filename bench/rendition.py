"""``rendition``: the review rendition (1600 px) of a 12 MP phone JPEG, against naive Pillow.

Ours is ``server.evidence.images.make_rendition`` — JPEG draft mode (decode at 1/2 scale), resize,
EXIF rotation on the small image, JPEG encode — and returns the finished bytes. The baseline is what
one writes without thinking: ``Image.open`` + ``ImageOps.exif_transpose`` + ``thumbnail((1600, 1600))``,
*without* encoding, so it does less than ours and the ratio errs on its side.

The photo is made here (nothing is downloaded): 4032×3024 like a 12 MP phone camera, natural-looking
content (smooth colour fields, mid-frequency texture, sensor noise) saved at quality 90, about 3 MB,
with EXIF orientation 6 — a portrait shot, the common case in the field, where the naive path must
rotate the full-size image. Value: our median in ms; ratio: naive median ÷ ours (goal ≥ 3).
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageFilter, ImageOps

from bench import bench_line, median
from server.evidence.images import REVIEW_EDGE, make_rendition

SIZE = (4032, 3024)
REPEATS = 5  # timings per run; the machine is noisy


def make_photo(path: Path, seed: int = 12) -> None:
    rng = np.random.default_rng(seed)
    w, h = SIZE
    fields = Image.fromarray(rng.integers(0, 256, (h // 96, w // 96, 3), dtype=np.uint8))
    fields = fields.resize(SIZE, Image.Resampling.BICUBIC)
    texture = Image.fromarray(rng.integers(0, 256, (h // 4, w // 4), dtype=np.uint8))
    texture = texture.resize(SIZE, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(2))
    pixels = (
        np.asarray(fields, dtype=np.float32)
        + (np.asarray(texture, dtype=np.float32)[..., None] - 128) * 0.5
        + rng.normal(0, 3, (h, w, 1)).astype(np.float32)
    )
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Bench"
    exif[ExifTags.Base.Model] = "Phone 12MP"
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(path, "JPEG", quality=90, exif=exif)


def naive(path: Path) -> Image.Image:
    with Image.open(path) as im:
        upright = ImageOps.exif_transpose(im)
        upright.thumbnail((REVIEW_EDGE, REVIEW_EDGE))
        return upright


def ours(path: Path) -> bytes:
    return make_rendition(path, REVIEW_EDGE)


def _time(fn: object, path: Path) -> float:
    start = time.perf_counter()
    fn(path)  # type: ignore[operator]
    return time.perf_counter() - start


def run(_dataset: object = None, runs: int = 3) -> list[str]:
    """One ``BENCH rendition`` line; takes (and ignores) the shared dataset so it fits the harness."""
    with tempfile.TemporaryDirectory(prefix="bench-rendition-") as tmp:
        path = Path(tmp) / "photo.jpg"
        make_photo(path)
        with Image.open(io.BytesIO(ours(path))) as check:  # warms caches; proves it is upright
            assert check.size == (1200, 1600), check.size
        naive(path)
        mine: list[float] = []
        theirs: list[float] = []
        for i in range(runs * REPEATS):
            # Interleaved, so a noisy moment of the machine hits both sides alike.
            mine.append(_time(ours, path))
            theirs.append(_time(naive, path))
            if (i + 1) % REPEATS == 0:
                n = (i + 1) // REPEATS
                ours_ms, naive_ms = median(mine[-REPEATS:]) * 1000, median(theirs[-REPEATS:]) * 1000
                print(
                    f"bench: rendition run {n}: ours {ours_ms:.1f} ms, naive {naive_ms:.1f} ms",
                    file=sys.stderr,
                    flush=True,
                )
    ms = median(mine) * 1000
    return [bench_line("rendition", ms, "ms", median(theirs) / median(mine))]


if __name__ == "__main__":
    for line in run():
        print(line)
