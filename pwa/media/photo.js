/**
 * Camera photos to evidence: read EXIF from the original, then shrink to a long edge of at most
 * 1920 px (inside the 1600–2048 px the review screens need) and re-encode as JPEG.
 *
 * Memory on a mid-range phone is the constraint: a 48 MP photo drawn on a full-size canvas takes
 * ~190 MB. So the full-size image is never drawn: `createImageBitmap` decodes straight to the
 * target size (resizeWidth/resizeHeight, orientation applied from EXIF), and only a canvas of the
 * target size is made. The size comes from the JPEG header, so nothing is decoded to learn it.
 */

import { readJpegInfo } from "./exif.js";
import { sha256Hex } from "../sync/canonical.js";

export const TARGET_LONG_EDGE = 1920;
export const JPEG_QUALITY = 0.85;

/** Target size for an original of w×h (already oriented): never upscaled. */
export function targetSize(width, height, longEdge = TARGET_LONG_EDGE) {
  const scale = Math.min(1, longEdge / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

async function orientedSize(file, info) {
  if (info.width && info.height) {
    // EXIF orientations 5–8 rotate by 90°: the displayed image is height × width.
    const swap = info.orientation >= 5 && info.orientation <= 8;
    return swap ? { width: info.height, height: info.width } : { width: info.width, height: info.height };
  }
  // Not a JPEG (PNG, HEIC where the browser decodes it…): decode once, without any canvas, only to
  // learn the size; the resized decode below is what gets drawn.
  const probe = await createImageBitmap(file, { imageOrientation: "from-image" });
  const size = { width: probe.width, height: probe.height };
  probe.close();
  return size;
}

function makeCanvas(width, height) {
  if (typeof OffscreenCanvas !== "undefined") return new OffscreenCanvas(width, height);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

function toJpeg(canvas) {
  if (canvas.convertToBlob) return canvas.convertToBlob({ type: "image/jpeg", quality: JPEG_QUALITY });
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("encoding failed"))), "image/jpeg", JPEG_QUALITY),
  );
}

/**
 * @param {File} file from <input type=file accept=image/* capture=environment>
 * @returns {Promise<{bytes: ArrayBuffer, sha256, width, height, takenAt, lat, lon, accuracy,
 *   originalSize}>}
 */
export async function preparePhoto(file) {
  const original = await file.arrayBuffer();
  const info = readJpegInfo(original);
  const full = await orientedSize(file, info);
  const size = targetSize(full.width, full.height);
  const bitmap = await createImageBitmap(file, {
    imageOrientation: "from-image",
    resizeWidth: size.width,
    resizeHeight: size.height,
    resizeQuality: "high",
  });
  try {
    const canvas = makeCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext("2d");
    ctx.drawImage(bitmap, 0, 0);
    const blob = await toJpeg(canvas);
    const bytes = await blob.arrayBuffer();
    return {
      bytes,
      sha256: await sha256Hex(bytes),
      width: bitmap.width,
      height: bitmap.height,
      takenAt: info.takenAt || null,
      lat: info.lat ?? null,
      lon: info.lon ?? null,
      accuracy: info.accuracy ?? null,
      originalSize: original.byteLength,
    };
  } finally {
    bitmap.close();
  }
}
