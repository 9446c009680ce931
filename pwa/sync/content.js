/**
 * The content hash of an inspection, computed on the phone exactly as `sync/content.py` does, so a
 * signature made offline binds the hash the server will check at finalize (PROTOCOL.md §9).
 *
 * Input: the inspection's records as the phone holds them ({record_type, record_id, fields}).
 * Check-ins, signatures and refusals are not content: signing must not change what was signed.
 */

import { sha256OfJson } from "./canonical.js";

export const CONTENT_VERSION = 1;
export const INSPECTORS_NEEDED = 2;
// Outcomes where nobody speaks for the target: no representative signature can be asked for.
export const NO_REPRESENTATIVE_OUTCOMES = new Set([
  "no_contact",
  "deregistered",
  "licence_revoked",
  "registration_revoked",
  "moved_out",
]);

const intKey = (v) => (Number.isInteger(v) ? v : -1);
const nullable = (v) => (v === undefined ? null : v);

export function contentOf(inspectionId, inspectionFields, records) {
  const answers = records
    .filter((r) => r.record_type === "answer")
    .map((r) => r.fields)
    .sort((a, b) => intKey(a.checkpoint_id) - intKey(b.checkpoint_id))
    .map((a) => ({ checkpoint_id: nullable(a.checkpoint_id), value: nullable(a.value), note: nullable(a.note) }));
  const findings = records
    .filter((r) => r.record_type === "finding")
    .sort((a, b) => (a.record_id < b.record_id ? -1 : a.record_id > b.record_id ? 1 : 0))
    .map((r) => ({
      id: r.record_id,
      checkpoint_id: nullable(r.fields.checkpoint_id),
      description: nullable(r.fields.description),
    }));
  const photos = [...new Set(records.filter((r) => r.record_type === "photo").map((r) => String(r.fields.sha256)))].sort();
  const outcomeRecord = records.find((r) => r.record_type === "outcome");
  const outcome = outcomeRecord
    ? { code: nullable(outcomeRecord.fields.code), note: nullable(outcomeRecord.fields.note) }
    : null;
  return {
    v: CONTENT_VERSION,
    inspection_id: inspectionId,
    notes: nullable(inspectionFields.notes),
    outcome,
    answers,
    findings,
    photos,
  };
}

export function contentHash(inspectionId, inspectionFields, records) {
  return sha256OfJson(contentOf(inspectionId, inspectionFields, records));
}

/** A signature or refusal holds only for the exact content it was given. */
export function signatureStatus(signedHash, currentHash) {
  return signedHash === currentHash ? "valid" : "stale";
}

/**
 * What the phone can tell is still missing before finalize, in the server's order and shape
 * (`sync/content.py` completeness), except the blob check, which only the server can answer.
 */
export function localMissing(inspectionFields, records, currentHash) {
  const missing = [];
  const outcome = records.find((r) => r.record_type === "outcome");
  const outcomeCode = outcome ? nullable(outcome.fields.code) : null;
  if (outcomeCode === null) {
    const answered = new Set(
      records.filter((r) => r.record_type === "answer" && r.fields.value != null).map((r) => r.fields.checkpoint_id),
    );
    for (const cp of inspectionFields.checkpoint_ids || []) {
      if (!answered.has(cp)) missing.push({ item: "answer", checkpoint_id: cp });
    }
  } else if (!records.some((r) => r.record_type === "photo")) {
    missing.push({ item: "evidence_photo", outcome: outcomeCode });
  }
  for (const r of records) {
    for (const clash of r.conflicts || []) {
      missing.push({ item: "clash", record_type: r.record_type, record_id: r.record_id, field: clash.field });
    }
  }
  const assigned = new Set(inspectionFields.inspector_ids || []);
  const valid = records.filter(
    (r) => r.record_type === "signature" && signatureStatus(r.fields.content_hash, currentHash) === "valid",
  );
  const signers = [
    ...new Set(
      valid
        .filter((r) => r.fields.signer_role === "inspector" && assigned.has(r.fields.signer_id))
        .map((r) => r.fields.signer_id),
    ),
  ].sort((a, b) => a - b);
  if (signers.length < INSPECTORS_NEEDED) {
    missing.push({
      item: "inspector_signatures",
      content_hash: currentHash,
      needed: INSPECTORS_NEEDED,
      signed_by: signers,
      not_signed: [...assigned].filter((i) => !signers.includes(i)).sort((a, b) => a - b),
    });
  }
  const representative = valid.some((r) => r.fields.signer_role === "representative");
  const refused = records.some(
    (r) =>
      r.record_type === "refusal" &&
      signatureStatus(r.fields.content_hash, currentHash) === "valid" &&
      r.fields.witness_name,
  );
  if (!NO_REPRESENTATIVE_OUTCOMES.has(outcomeCode) && !representative && !refused) {
    missing.push({ item: "representative_signature_or_refusal", content_hash: currentHash });
  }
  return missing;
}
