/**
 * Record and change ids (PROTOCOL.md §1, §4): lowercase hyphenated UUIDs, one spelling only.
 *
 * Random ids (changes, findings, photos, signatures, refusals, check-ins) are UUIDv4. Answer and
 * outcome ids are UUIDv5 over a fixed namespace so that two phones answering the same checkpoint
 * offline address the same record (`sync/records.py` answer_id / outcome_id).
 */

const NAMESPACE = "6f1c3a52-1d0e-4c59-9d0a-2b7f4e5d8a10";

export function uuid4() {
  return crypto.randomUUID();
}

function uuidBytes(uuid) {
  const hex = uuid.replace(/-/g, "");
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function formatUuid(bytes) {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** RFC 4122 version 5 (SHA-1 of namespace bytes ‖ UTF-8 name), as Python's uuid.uuid5. */
export async function uuid5(namespace, name) {
  const ns = uuidBytes(namespace);
  const nameBytes = new TextEncoder().encode(name);
  const data = new Uint8Array(ns.length + nameBytes.length);
  data.set(ns);
  data.set(nameBytes, ns.length);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-1", data)).slice(0, 16);
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  return formatUuid(hash);
}

export function answerId(inspectionId, checkpointId) {
  return uuid5(NAMESPACE, `answer:${inspectionId}:${checkpointId}`);
}

export function outcomeId(inspectionId) {
  return uuid5(NAMESPACE, `outcome:${inspectionId}`);
}
