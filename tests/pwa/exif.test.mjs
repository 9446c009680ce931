// The EXIF reader on JPEGs written by Pillow (tests/fixtures/pwa/README.md) and on bad input.
import { test } from "node:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { assert, ROOT } from "./helpers.mjs";
import { exifTimeToIso, readJpegInfo } from "../../pwa/media/exif.js";
import { targetSize, TARGET_LONG_EDGE } from "../../pwa/media/photo.js";

const file = (name) => {
  const buf = readFileSync(join(ROOT, "tests", "fixtures", "pwa", name));
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
};

test("capture time with its offset, GPS, accuracy, orientation and size", () => {
  const info = readJpegInfo(file("exif-gps.jpg"), 0);
  assert.equal(info.takenAt, "2025-06-03T09:23:10+08:00");
  assert.equal(info.lat, 37.4361111);
  assert.equal(info.lon, 112.0283);
  assert.equal(info.accuracy, 8.5);
  assert.equal(info.orientation, 6);
  assert.deepEqual([info.width, info.height], [64, 48]);
});

test("southern and western coordinates are negative; a time without offset takes the phone's", () => {
  const info = readJpegInfo(file("exif-south-west.jpg"), 480);
  assert.equal(info.takenAt, "2024-12-31T23:59:58+08:00");
  assert.equal(info.lat, -33.8677778);
  assert.equal(info.lon, -151.21);
  assert.equal(readJpegInfo(file("exif-south-west.jpg"), -330).takenAt, "2024-12-31T23:59:58-05:30");
});

test("a JPEG without EXIF gives only its size; other bytes give nothing and never throw", () => {
  assert.deepEqual(readJpegInfo(file("no-exif.jpg")), { width: 30, height: 20 });
  assert.deepEqual(readJpegInfo(new TextEncoder().encode("not an image").buffer), {});
  const cut = file("exif-gps.jpg").slice(0, 60);
  assert.doesNotThrow(() => readJpegInfo(cut));
  assert.equal(exifTimeToIso("0000:00:00 00:00:00", null, 0), null);
});

test("photos shrink to a long edge of 1920 px (within 1600–2048) and are never enlarged", () => {
  assert.ok(TARGET_LONG_EDGE >= 1600 && TARGET_LONG_EDGE <= 2048);
  assert.deepEqual(targetSize(4032, 3024), { width: 1920, height: 1440 });
  assert.deepEqual(targetSize(3024, 4032), { width: 1440, height: 1920 });
  assert.deepEqual(targetSize(8000, 6000), { width: 1920, height: 1440 });
  assert.deepEqual(targetSize(1200, 900), { width: 1200, height: 900 });
});
