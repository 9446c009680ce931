// Makes an export file with the field app's own code, for the server's recovery tests
// (tests/integration/recovery): `node tests/pwa/make_export.mjs < script.json > export.json`.
//
// The script is {session, pulled, ops}: `pulled` is a PullResponse's `changes` (stored as the phone
// stores a pull), `ops` the inspector's edits, made through pwa/data/records.js exactly as the
// screens make them; then pwa/app/export.js buildExport writes what the phone would download.
// Not a test itself (node --test runs only *.test.mjs).
import "fake-indexeddb/auto";
import { openDatabase } from "../../pwa/data/db.js";
import { appendRecord, applyPulled, saveAnswer, saveNotes, saveOutcome } from "../../pwa/data/records.js";
import { buildExport } from "../../pwa/app/export.js";

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function bytesOf(b64) {
  const buf = Buffer.from(b64, "base64");
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

async function run(op, db, ctx) {
  switch (op.op) {
    case "answer":
      return saveAnswer(db, ctx, op.inspection_id, op.checkpoint_id, { value: op.value, note: op.note });
    case "outcome":
      return saveOutcome(db, ctx, op.inspection_id, { code: op.code, note: op.note });
    case "notes":
      return saveNotes(db, ctx, op.inspection_id, op.notes);
    case "append": {
      // A photo or signature image: the record names the file by its SHA-256, the bytes wait in blobs.
      let blob;
      const fields = { ...op.fields };
      if (op.base64) {
        const bytes = bytesOf(op.base64);
        const sha = await sha256Hex(bytes);
        fields[op.sha_field] = sha;
        blob = { sha256: sha, bytes, kind: op.kind, content_type: op.content_type };
      }
      return appendRecord(db, ctx, op.record_type, op.inspection_id, fields, blob);
    }
    default:
      throw new Error(`unknown op ${op.op}`);
  }
}

const script = await readStdin();
const db = await openDatabase(`export-${process.pid}`);
if (script.pulled && script.pulled.length) await applyPulled(db, script.pulled);
const ctx = { deviceId: script.session.device_id, userId: script.session.user.id };
for (const op of script.ops) await run(op, db, ctx);
process.stdout.write(JSON.stringify(await buildExport(db, script.session), null, 1));
