/**
 * A small EXIF reader for JPEG photos: capture time, GPS, orientation and the pixel size.
 *
 * Read from the original bytes before compression (the re-encoded JPEG carries no EXIF). Only the
 * tags the field app needs are decoded: IFD0 Orientation; Exif IFD DateTimeOriginal and
 * OffsetTimeOriginal; GPS IFD latitude/longitude with their refs and the horizontal error; and the
 * frame size from the SOF marker. Anything malformed yields nulls, never an exception: a photo
 * without readable EXIF is still evidence.
 */

const TAG_ORIENTATION = 0x0112;
const TAG_EXIF_IFD = 0x8769;
const TAG_GPS_IFD = 0x8825;
const TAG_DATETIME_ORIGINAL = 0x9003;
const TAG_OFFSET_TIME_ORIGINAL = 0x9011;
const TAG_DATETIME = 0x0132;
const GPS_LAT_REF = 1;
const GPS_LAT = 2;
const GPS_LON_REF = 3;
const GPS_LON = 4;
const GPS_H_ERROR = 31;

const TYPE_SIZES = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8 };

function readIfd(view, tiff, offset, little) {
  const tags = new Map();
  if (offset + 2 > view.byteLength) return tags;
  const count = view.getUint16(offset, little);
  for (let i = 0; i < count; i++) {
    const entry = offset + 2 + i * 12;
    if (entry + 12 > view.byteLength) break;
    const tag = view.getUint16(entry, little);
    const type = view.getUint16(entry + 2, little);
    const n = view.getUint32(entry + 4, little);
    const size = (TYPE_SIZES[type] || 1) * n;
    const valueOffset = size <= 4 ? entry + 8 : tiff + view.getUint32(entry + 8, little);
    if (valueOffset + size > view.byteLength) continue;
    tags.set(tag, readValue(view, type, n, valueOffset, little));
  }
  return tags;
}

function readValue(view, type, n, at, little) {
  switch (type) {
    case 2: {
      let s = "";
      for (let i = 0; i < n; i++) {
        const c = view.getUint8(at + i);
        if (c === 0) break;
        s += String.fromCharCode(c);
      }
      return s;
    }
    case 3:
      return n === 1 ? view.getUint16(at, little) : Array.from({ length: n }, (_, i) => view.getUint16(at + 2 * i, little));
    case 4:
      return n === 1 ? view.getUint32(at, little) : Array.from({ length: n }, (_, i) => view.getUint32(at + 4 * i, little));
    case 5:
    case 10: {
      const get = type === 5 ? "getUint32" : "getInt32";
      const vals = Array.from({ length: n }, (_, i) => {
        const den = view[get](at + 8 * i + 4, little);
        return den === 0 ? NaN : view[get](at + 8 * i, little) / den;
      });
      return n === 1 ? vals[0] : vals;
    }
    default:
      return n === 1 ? view.getUint8(at) : Array.from({ length: n }, (_, i) => view.getUint8(at + i));
  }
}

function dms(values, ref) {
  if (!Array.isArray(values) || values.length < 3 || values.some((v) => !Number.isFinite(v))) return null;
  const deg = values[0] + values[1] / 60 + values[2] / 3600;
  return ref === "S" || ref === "W" ? -deg : deg;
}

/** "2025:06:03 09:23:00" (+ "+08:00") → "2025-06-03T09:23:00+08:00"; without an offset, the phone's. */
export function exifTimeToIso(value, offset, localOffsetMinutes) {
  const m = /^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})/.exec(value || "");
  if (!m || m[1] === "0000") return null;
  let tz = offset && /^[+-]\d{2}:\d{2}$/.test(offset) ? offset : null;
  if (!tz) {
    const mins = localOffsetMinutes;
    const sign = mins >= 0 ? "+" : "-";
    const abs = Math.abs(mins);
    tz = `${sign}${String(Math.trunc(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  }
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${tz}`;
}

function parseExif(view, start, end, localOffsetMinutes) {
  // "Exif\0\0" then a TIFF header
  if (view.getUint32(start) !== 0x45786966) return {};
  const tiff = start + 6;
  if (tiff + 8 > end) return {};
  const little = view.getUint16(tiff) === 0x4949;
  const ifd0 = readIfd(view, tiff, tiff + view.getUint32(tiff + 4, little), little);
  const out = {};
  if (ifd0.has(TAG_ORIENTATION)) out.orientation = ifd0.get(TAG_ORIENTATION);
  let when = ifd0.get(TAG_DATETIME);
  let offset = null;
  if (ifd0.has(TAG_EXIF_IFD)) {
    const exif = readIfd(view, tiff, tiff + ifd0.get(TAG_EXIF_IFD), little);
    if (exif.has(TAG_DATETIME_ORIGINAL)) when = exif.get(TAG_DATETIME_ORIGINAL);
    offset = exif.get(TAG_OFFSET_TIME_ORIGINAL) || null;
  }
  const takenAt = exifTimeToIso(when, offset, localOffsetMinutes);
  if (takenAt) out.takenAt = takenAt;
  if (ifd0.has(TAG_GPS_IFD)) {
    const gps = readIfd(view, tiff, tiff + ifd0.get(TAG_GPS_IFD), little);
    const lat = dms(gps.get(GPS_LAT), gps.get(GPS_LAT_REF));
    const lon = dms(gps.get(GPS_LON), gps.get(GPS_LON_REF));
    if (lat !== null && lon !== null && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
      out.lat = Math.round(lat * 1e7) / 1e7;
      out.lon = Math.round(lon * 1e7) / 1e7;
      const err = gps.get(GPS_H_ERROR);
      if (Number.isFinite(err) && err >= 0) out.accuracy = err;
    }
  }
  return out;
}

/**
 * Read what the app needs from a JPEG's bytes: {width, height, orientation, takenAt, lat, lon,
 * accuracy} (each only when present). Non-JPEG input gives {}.
 */
export function readJpegInfo(buffer, localOffsetMinutes = -new Date().getTimezoneOffset()) {
  const view = new DataView(buffer instanceof ArrayBuffer ? buffer : buffer.buffer);
  const info = {};
  if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return info;
  let at = 2;
  try {
    while (at + 4 <= view.byteLength) {
      if (view.getUint8(at) !== 0xff) break;
      const marker = view.getUint8(at + 1);
      if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
        at += 2;
        continue;
      }
      if (marker === 0xd9 || marker === 0xda) break; // end of image / start of scan: no more headers
      const length = view.getUint16(at + 2);
      const body = at + 4;
      if (marker === 0xe1 && !info.exifRead) {
        Object.assign(info, parseExif(view, body, at + 2 + length, localOffsetMinutes));
        info.exifRead = true;
      } else if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        info.height = view.getUint16(body + 1);
        info.width = view.getUint16(body + 3);
        break;
      }
      at += 2 + length;
    }
  } catch (_) {
    // A truncated or odd header: keep what was read.
  }
  delete info.exifRead;
  return info;
}
