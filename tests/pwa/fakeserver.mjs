// A small in-memory stand-in for the sync API, enough to drive the engine through whole rounds:
// idempotent push by change_id (a replay returns the stored result), pull by cursor with
// `assigned`, blobs by SHA-256 (PUT re-hashed), finalize. Faults are injected per call.
import { createHash } from "node:crypto";
import { fakeFetch } from "./helpers.mjs";

const cursorOf = (seq) => Buffer.from(JSON.stringify({ seq, v: 1 })).toString("base64url");
const seqOf = (cursor) => (cursor ? JSON.parse(Buffer.from(cursor, "base64url").toString()).seq : 0);

export class FakeServer {
  constructor() {
    this.records = new Map(); // key -> {record_type, record_id, version, seq, fields}
    this.results = new Map(); // change_id -> stored result
    this.blobs = new Map(); // sha -> Buffer
    this.seq = 0;
    this.assigned = [];
    this.faults = []; // {call, kind: "network"|"lost"|"status", status, body, times}
    this.reject = () => null; // change -> error {code, detail} | null
    this.finalizeAnswer = null; // (id) -> {status, body}
    this.pushes = 0;
  }

  addInspection(id, fields) {
    this.write("inspection", id, { checkpoint_ids: [101, 102], inspector_ids: [11, 12], leader_id: 11, state: "assigned", notes: null, ...fields });
    if (!this.assigned.includes(id)) this.assigned.push(id);
  }

  write(type, id, fields) {
    const key = `${type}:${id}`;
    const prev = this.records.get(key);
    this.seq += 1;
    const rec = {
      record_type: type,
      record_id: id,
      version: (prev ? prev.version : 0) + 1,
      seq: this.seq,
      fields: { ...(prev ? prev.fields : {}), ...fields },
    };
    this.records.set(key, rec);
    return rec;
  }

  fault(call, kind, extra = {}) {
    this.faults.push({ call, kind, times: 1, ...extra });
  }

  takeFault(call) {
    const i = this.faults.findIndex((f) => f.call === call);
    if (i < 0) return null;
    const f = this.faults[i];
    f.times -= 1;
    if (f.times <= 0) this.faults.splice(i, 1);
    return f;
  }

  push(body) {
    this.pushes += 1;
    const results = body.changes.map((change) => {
      if (this.results.has(change.change_id)) return this.results.get(change.change_id);
      const error = this.reject(change);
      let result;
      if (error) {
        result = { change_id: change.change_id, status: "rejected", record_version: 0, error };
      } else {
        const rec = this.write(change.record_type, change.record_id, change.fields);
        result = { change_id: change.change_id, status: "applied", record_version: rec.version };
      }
      this.results.set(change.change_id, result);
      return result;
    });
    return { results, cursor: cursorOf(this.seq) };
  }

  pull(body) {
    const from = seqOf(body.cursor);
    if (from > this.seq) return { status: 400, body: { code: "sync_cursor_invalid", detail: "ahead" } };
    const changes = [...this.records.values()]
      .filter((r) => r.seq > from)
      .sort((a, b) => a.seq - b.seq)
      .slice(0, body.limit)
      .map((r) => ({ ...r, conflicts: [] }));
    const last = changes.length ? changes.at(-1).seq : from;
    return {
      status: 200,
      body: { changes, cursor: cursorOf(last), has_more: last < this.seq, assigned: [...this.assigned] },
    };
  }

  handler() {
    return async (method, path, body, init) => {
      const call = path.endsWith("/push")
        ? "push"
        : path.endsWith("/pull")
          ? "pull"
          : path.includes("/blobs/")
            ? `blob_${method.toLowerCase()}`
            : path.endsWith("/finalize")
              ? "finalize"
              : "other";
      const fault = this.takeFault(call);
      if (fault && fault.kind === "network") throw new TypeError("network down");
      if (fault && fault.kind === "status") return { status: fault.status, body: fault.body };
      let answer;
      if (call === "push") answer = { status: 200, body: this.push(body) };
      else if (call === "pull") answer = this.pull(body);
      else if (call === "blob_head") {
        const sha = path.split("/").pop();
        answer = this.blobs.has(sha) ? { status: 200, body: null } : { status: 404, body: { code: "sync_missing_blob" } };
      } else if (call === "blob_put") {
        const sha = path.split("/").pop();
        const bytes = Buffer.from(init.body);
        if (createHash("sha256").update(bytes).digest("hex") !== sha) {
          answer = { status: 400, body: { code: "sync_blob_hash_mismatch" } };
        } else {
          const existed = this.blobs.has(sha);
          this.blobs.set(sha, bytes);
          answer = { status: existed ? 200 : 201, body: { sha256: sha } };
        }
      } else if (call === "finalize") {
        const id = path.split("/").at(-2);
        answer = this.finalizeAnswer ? this.finalizeAnswer(id) : { status: 200, body: { content_hash: "x", version: 1 } };
      } else answer = { status: 404, body: { code: "not_found" } };
      if (fault && fault.kind === "lost") throw new TypeError("response lost");
      return answer;
    };
  }

  fetch() {
    return fakeFetch(this.handler());
  }

  ofType(type) {
    return [...this.records.values()].filter((r) => r.record_type === type);
  }
}
