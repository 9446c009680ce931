/**
 * The phone's records: local edits (each one a record update plus an outbox change, in one strict
 * transaction), pulled server state, and the assembled view of one inspection.
 *
 * A record row is `{key, record_type, record_id, inspection_id, version, server, fields, conflicts}`:
 * `server` holds the fields as last pulled (null for a record only this phone knows), `version` the
 * version they had (the base for the next change), `fields` what the screen shows — `server` with
 * the fields of this device's unconfirmed outbox changes laid over it, oldest first.
 *
 * Anything async that is not IndexedDB (ids by UUIDv5, SHA-256) is computed before a transaction
 * opens: awaiting it inside would let the transaction auto-commit.
 */

import { read, write } from "./db.js";
import { enqueue, entriesForRecord } from "./outbox.js";
import { answerId, outcomeId, uuid4 } from "./ids.js";
import { contentHash } from "../sync/content.js";

export const APPEND_ONLY = new Set(["finding", "photo", "signature", "refusal", "checkin"]);
// States in which the server still takes device writes for an inspection.
export const EDITABLE_STATES = new Set(["assigned", "in_progress", "returned"]);

export const recordKey = (type, id) => `${type}:${id}`;

// Blobs upload oldest first; milliseconds alone tie when two files are saved at once.
let blobCounter = 0;
const blobOrder = () => Date.now() * 1000 + (blobCounter++ % 1000);

/** ISO 8601 with the phone's UTC offset, to the second ("2025-06-03T09:21:00+08:00"). */
export function isoLocal(date = new Date()) {
  const pad = (n) => String(Math.abs(n)).padStart(2, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
  );
}

function overlay(serverFields, entries) {
  const fields = { ...(serverFields || {}) };
  for (const entry of entries) Object.assign(fields, entry.change.fields);
  return fields;
}

/**
 * Write one change: update the shown record and queue the change, atomically and durably.
 * `ctx` = {deviceId, userId}. `blob` (optional) = {sha256, bytes, kind, content_type} to keep.
 * Returns the change.
 */
export async function saveChange(db, ctx, { recordType, recordId, inspectionId, fields, blob }) {
  const op = APPEND_ONLY.has(recordType) ? "append" : "upsert";
  return write(db, ["records", "outbox", "blobs", "blob_bytes"], async (tx) => {
    const records = tx.objectStore("records");
    const key = recordKey(recordType, recordId);
    const row = (await records.get(key)) || {
      key,
      record_type: recordType,
      record_id: recordId,
      inspection_id: inspectionId,
      version: 0,
      server: null,
      fields: {},
      conflicts: [],
    };
    const change = {
      change_id: uuid4(),
      record_type: recordType,
      record_id: recordId,
      op,
      base_version: op === "append" ? 0 : row.version,
      fields,
      client_time: isoLocal(),
    };
    row.fields = { ...row.fields, ...fields };
    await records.put(row);
    if (blob) {
      const blobs = tx.objectStore("blobs");
      const held = await blobs.get(blob.sha256);
      if (!held) {
        await tx.objectStore("blob_bytes").put({ sha256: blob.sha256, bytes: blob.bytes });
        await blobs.put({
          sha256: blob.sha256,
          kind: blob.kind,
          content_type: blob.content_type,
          size: blob.bytes.byteLength,
          inspection_id: inspectionId,
          state: "pending",
          sent: 0,
          error: null,
          order: blobOrder(),
          created_at: new Date().toISOString(),
        });
      }
    }
    await enqueue(tx, change, { inspectionId, deviceId: ctx.deviceId, userId: ctx.userId });
    return change;
  });
}

/**
 * Only the fields that differ from what is shown, plus the immutable references. A field in an
 * open clash is always written: writing it (from a base that includes every claim) is how the team
 * leader resolves the clash, even when choosing the value that happens to be shown.
 */
function changedFields(row, wanted, refs) {
  const current = row && row.fields;
  const clashing = new Set(((row && row.conflicts) || []).map((c) => c.field));
  const out = { ...refs };
  let any = false;
  for (const [k, v] of Object.entries(wanted)) {
    if (v === undefined) continue;
    if (!current || clashing.has(k) || JSON.stringify(current[k] ?? null) !== JSON.stringify(v)) {
      out[k] = v;
      any = true;
    }
  }
  return any ? out : null;
}

export async function saveAnswer(db, ctx, inspectionId, checkpointId, { value, note }) {
  const recordId = await answerId(inspectionId, checkpointId);
  const current = await db.get("records", recordKey("answer", recordId));
  const fields = changedFields(
    current,
    { value, note },
    { inspection_id: inspectionId, checkpoint_id: checkpointId },
  );
  if (!fields) return null;
  return saveChange(db, ctx, { recordType: "answer", recordId, inspectionId, fields });
}

export async function saveOutcome(db, ctx, inspectionId, { code, note }) {
  const recordId = await outcomeId(inspectionId);
  const current = await db.get("records", recordKey("outcome", recordId));
  const fields = changedFields(current, { code, note }, { inspection_id: inspectionId });
  if (!fields) return null;
  return saveChange(db, ctx, { recordType: "outcome", recordId, inspectionId, fields });
}

export async function saveNotes(db, ctx, inspectionId, notes) {
  const current = await db.get("records", recordKey("inspection", inspectionId));
  const fields = changedFields(current, { notes }, {});
  if (!fields) return null;
  return saveChange(db, ctx, { recordType: "inspection", recordId: inspectionId, inspectionId, fields });
}

/** Append-only records: a finding, photo, signature, refusal or check-in with a fresh id. */
export function appendRecord(db, ctx, recordType, inspectionId, fields, blob) {
  return saveChange(db, ctx, {
    recordType,
    recordId: uuid4(),
    inspectionId,
    fields: { inspection_id: inspectionId, ...fields },
    blob,
  });
}

function inspectionOf(record) {
  if (record.record_type === "inspection") return record.record_id;
  return record.fields && record.fields.inspection_id;
}

/** Store one pulled page (PullResponse.changes) with this device's pending edits laid over it. */
export function applyPulled(db, changes) {
  return write(db, ["records", "outbox"], async (tx) => {
    const records = tx.objectStore("records");
    for (const change of changes) {
      const key = recordKey(change.record_type, change.record_id);
      const entries = await entriesForRecord(tx, key);
      const existing = await records.get(key);
      await records.put({
        key,
        record_type: change.record_type,
        record_id: change.record_id,
        inspection_id: inspectionOf(change) || (existing && existing.inspection_id) || null,
        version: change.version,
        server: change.fields,
        fields: overlay(change.fields, entries),
        conflicts: change.conflicts || [],
      });
    }
  });
}

/** Everything the screens need about one inspection, read in one transaction. */
export async function loadInspection(db, inspectionId) {
  const data = await read(db, ["records", "outbox", "blobs", "rejected"], async (tx) => {
    const inspection = await tx.objectStore("records").get(recordKey("inspection", inspectionId));
    const records = await tx.objectStore("records").index("inspection").getAll(inspectionId);
    const outbox = await tx.objectStore("outbox").index("inspection").getAll(inspectionId);
    const blobKeys = await tx.objectStore("blobs").index("inspection").getAll(inspectionId);
    const rejected = (await tx.objectStore("rejected").getAll()).filter((r) => r.inspection_id === inspectionId);
    return { inspection, records, outbox, blobs: blobKeys, rejected };
  });
  if (!data.inspection) return null;
  const others = data.records.filter((r) => r.record_type !== "inspection");
  const hash = await contentHash(inspectionId, data.inspection.fields, others);
  const pendingKeys = new Set(data.outbox.map((e) => e.record_key));
  const blobState = new Map(data.blobs.map((b) => [b.sha256, b]));
  return {
    id: inspectionId,
    inspection: data.inspection,
    fields: data.inspection.fields,
    records: others,
    byType: (type) => others.filter((r) => r.record_type === type),
    contentHash: hash,
    outbox: data.outbox,
    pendingKeys,
    blobs: blobState,
    rejected: data.rejected,
  };
}

/** All inspections on the phone with their pending counts (the assignments list). */
export async function listInspections(db) {
  return read(db, ["records", "outbox", "blobs", "rejected"], async (tx) => {
    const all = await tx.objectStore("records").getAll();
    const outbox = await tx.objectStore("outbox").getAll();
    const blobs = await tx.objectStore("blobs").getAll();
    const rejected = await tx.objectStore("rejected").getAll();
    return all
      .filter((r) => r.record_type === "inspection")
      .map((r) => ({
        id: r.record_id,
        fields: r.fields,
        pending:
          outbox.filter((e) => e.inspection_id === r.record_id).length +
          blobs.filter((b) => b.inspection_id === r.record_id && b.state !== "uploaded").length,
        rejected: rejected.filter((e) => e.inspection_id === r.record_id).length,
      }));
  });
}

/**
 * A returned inspection's review as the inspector reads it: the general comments once each (the
 * server sends the reviewer's overall comment both as `comment` and as an item without checkpoint)
 * and the comments per checkpoint id.
 */
export function reviewNotes(review) {
  const general = [];
  const byCheckpoint = new Map();
  if (!review) return { general, byCheckpoint };
  const add = (text) => {
    const clean = typeof text === "string" ? text.trim() : "";
    if (clean && !general.includes(clean)) general.push(clean);
  };
  add(review.comment);
  for (const item of review.items || []) {
    if (item.checkpoint_id == null) add(item.comment);
    else if (item.comment) byCheckpoint.set(item.checkpoint_id, [...(byCheckpoint.get(item.checkpoint_id) || []), item.comment]);
  }
  return { general, byCheckpoint };
}
