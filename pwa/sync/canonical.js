/**
 * Canonical JSON and SHA-256 exactly as `sync/canonical.py` makes them (PROTOCOL.md §8):
 * keys sorted recursively, no whitespace, non-ASCII as UTF-8. `JSON.stringify` already writes the
 * separators and string escapes Python's `json.dumps(..., ensure_ascii=False)` writes, so sorting
 * the keys is all that is left to do.
 */

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const key of Object.keys(value).sort()) {
      if (value[key] !== undefined) out[key] = sortKeys(value[key]);
    }
    return out;
  }
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new TypeError("NaN and Infinity have no JSON spelling");
  }
  return value;
}

export function canonicalJson(value) {
  return JSON.stringify(sortKeys(value));
}

export function toHex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 (lowercase hex) of bytes: an ArrayBuffer or a typed array. */
export async function sha256Hex(bytes) {
  return toHex(await crypto.subtle.digest("SHA-256", bytes));
}

export function sha256OfJson(value) {
  return sha256Hex(new TextEncoder().encode(canonicalJson(value)));
}

/** The short form shown to a signer: the first 8 hex digits in two groups ("83d7 f9ae"). */
export function shortHash(hash) {
  return hash ? `${hash.slice(0, 4)} ${hash.slice(4, 8)}` : "";
}
