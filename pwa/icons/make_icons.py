"""Draw the field app's PNG icons (run once; the PNGs are committed): a clipboard with a check mark.

``python pwa/icons/make_icons.py`` rewrites icon-192.png, icon-512.png, maskable-512.png and
apple-touch-icon.png beside this file. Drawn at 4x and downsampled for smooth edges.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
BLUE = (31, 78, 140, 255)
WHITE = (255, 255, 255, 255)
GREEN = (46, 160, 67, 255)


def draw(size: int, *, maskable: bool) -> Image.Image:
    s = size * 4
    img = Image.new("RGBA", (s, s), BLUE if maskable else (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if not maskable:
        d.rounded_rectangle((0, 0, s - 1, s - 1), radius=s // 5, fill=BLUE)
    # Maskable icons keep their content inside the central 80% safe zone.
    inset = s * (0.22 if maskable else 0.16)
    board = (inset + s * 0.06, inset, s - inset - s * 0.06, s - inset)
    d.rounded_rectangle(board, radius=s // 24, fill=WHITE)
    clip_w = s * 0.22
    clip = (s / 2 - clip_w / 2, inset - s * 0.04, s / 2 + clip_w / 2, inset + s * 0.07)
    d.rounded_rectangle(clip, radius=s // 40, fill=GREEN)
    w = int(s * 0.055)
    left, top, right, bottom = board
    p1 = (left + (right - left) * 0.22, top + (bottom - top) * 0.55)
    p2 = (left + (right - left) * 0.43, top + (bottom - top) * 0.75)
    p3 = (left + (right - left) * 0.80, top + (bottom - top) * 0.32)
    d.line((p1, p2, p3), fill=GREEN, width=w, joint="curve")
    for p in (p1, p3):
        d.ellipse((p[0] - w / 2, p[1] - w / 2, p[0] + w / 2, p[1] + w / 2), fill=GREEN)
    return img.resize((size, size), Image.Resampling.LANCZOS)


def save(img: Image.Image, name: str) -> None:
    # Three flat colours plus their anti-aliased edges: a 64-colour palette looks the same at a
    # third of the bytes, and the icons are most of what a phone downloads to install the app.
    img.quantize(colors=64, method=Image.Quantize.FASTOCTREE).save(HERE / name, optimize=True)


def main() -> None:
    save(draw(192, maskable=False), "icon-192.png")
    save(draw(512, maskable=False), "icon-512.png")
    save(draw(512, maskable=True), "maskable-512.png")
    save(draw(180, maskable=True).convert("RGB"), "apple-touch-icon.png")


if __name__ == "__main__":
    main()
