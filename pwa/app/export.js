/**
 * The last resort: everything not yet confirmed by the server, as one JSON file the inspector can
 * hand to an administrator — queued and rejected changes, and the bytes (base64) of every photo and
 * signature image the server has not confirmed by HEAD.
 */

import { read } from "../data/db.js";

function base64(buffer) {
  const bytes = new Uint8Array(buffer);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

export async function buildExport(db, session) {
  return read(db, ["outbox", "rejected", "blobs", "blob_bytes"], async (tx) => {
    const outbox = await tx.objectStore("outbox").getAll();
    const rejected = await tx.objectStore("rejected").getAll();
    const metas = (await tx.objectStore("blobs").getAll()).filter((b) => b.state !== "uploaded");
    const blobs = [];
    for (const meta of metas) {
      const row = await tx.objectStore("blob_bytes").get(meta.sha256);
      blobs.push({
        sha256: meta.sha256,
        kind: meta.kind,
        content_type: meta.content_type,
        inspection_id: meta.inspection_id,
        state: meta.state,
        error: meta.error,
        base64: row ? base64(row.bytes) : null,
      });
    }
    return {
      format: "spotcheck-unsynced-v1",
      exported_at: new Date().toISOString(),
      device_id: session ? session.device_id : null,
      user: session ? { id: session.user.id, username: session.user.username, inspector_id: session.user.inspector_id } : null,
      outbox: outbox.map((e) => ({ device_id: e.device_id, queued_at: e.queued_at, change: e.change })),
      rejected: rejected.map((r) => ({ change: r.change, error: r.error, rejected_at: r.rejected_at })),
      blobs,
    };
  });
}

/**
 * The file's name with the Shanghai date and time the inspector reads on the phone's clock
 * ("spotcheck-unsynced-GP010-20261130-0207.json"), not a UTC timestamp.
 */
export function exportFileName(data, now = new Date(data.exported_at)) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: "Asia/Shanghai",
    hour12: false,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  })
    .formatToParts(now)
    .reduce((acc, p) => ({ ...acc, [p.type]: p.value }), {});
  const who = data.user && data.user.username ? `${String(data.user.username).replace(/[^\w.-]/g, "_")}-` : "";
  return `spotcheck-unsynced-${who}${parts.year}${parts.month}${parts.day}-${parts.hour}${parts.minute}${parts.second}.json`;
}

export async function downloadExport(db, session) {
  const data = await buildExport(db, session);
  const blob = new Blob([JSON.stringify(data, null, 1)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = exportFileName(data);
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return data;
}
