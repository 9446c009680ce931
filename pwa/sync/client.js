/**
 * The JavaScript side of PROTOCOL.md: device login, push, pull by cursor, blobs HEAD/PUT, finalize.
 *
 * Every failure is thrown as a `SyncProblem` whose `code` comes from the server's problem document
 * (or a local code: `network` when no response came back, `http_<status>` when the body was not a
 * problem document). Callers branch on `code`, never on the message text.
 *
 * The client holds no state but the token getter; the engine (sync/engine.js) decides what to send.
 */

export const API_BASE = "/api/v1/sync";
export const PULL_LIMIT = 200;

export class SyncProblem extends Error {
  constructor(code, status, body = null) {
    super((body && (body.detail || body.title)) || code);
    this.name = "SyncProblem";
    this.code = code;
    this.status = status;
    this.body = body;
  }

  /** Worth retrying later with the same request (no answer, overloaded or failing server). */
  get transient() {
    return this.code === "network" || this.status === 429 || this.status >= 500 || this.status === 408;
  }

  /** The token is no longer accepted: the inspector must log in again (data stays on the phone). */
  get needsLogin() {
    return this.status === 401 || this.code === "token_invalid" || this.code === "auth_required";
  }
}

async function problemFrom(resp) {
  let body;
  try {
    body = await resp.json();
  } catch (_) {
    body = null;
  }
  const code = body && typeof body.code === "string" ? body.code : `http_${resp.status}`;
  return new SyncProblem(code, resp.status, body);
}

export class SyncClient {
  /**
   * @param {object} opts
   * @param {() => (string|null)} opts.token  current bearer token
   * @param {typeof fetch} [opts.fetch]
   * @param {string} [opts.base]
   * @param {Function} [opts.upload]  (url, headers, bytes, onProgress) => Promise<{status, json}>;
   *   defaults to XMLHttpRequest in a browser (fetch cannot report upload progress).
   */
  constructor({ token, fetch: fetchFn, base = API_BASE, upload } = {}) {
    this.token = token || (() => null);
    this.fetch = fetchFn || globalThis.fetch.bind(globalThis);
    this.base = base;
    this.upload = upload || (typeof XMLHttpRequest !== "undefined" ? xhrUpload : null);
  }

  headers(extra = {}, { auth = true } = {}) {
    const h = { Accept: "application/json", ...extra };
    const token = auth ? this.token() : null;
    if (token) h.Authorization = `Bearer ${token}`;
    return h;
  }

  async request(method, path, body, { auth = true } = {}) {
    const init = { method, headers: this.headers({}, { auth }), cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await this.fetch(this.base + path, init);
    } catch (err) {
      throw new SyncProblem("network", 0, { detail: String(err && err.message) });
    }
    if (!resp.ok) throw await problemFrom(resp);
    if (resp.status === 204 || method === "HEAD") return null;
    try {
      return await resp.json();
    } catch (_) {
      throw new SyncProblem("network", resp.status, { detail: "the response was cut off" });
    }
  }

  /** POST /devices: log in this device; send the device_id we already have so queued changes stay ours. */
  registerDevice({ username, password, deviceName, deviceId }) {
    const body = { username, password, device_name: deviceName };
    if (deviceId) body.device_id = deviceId;
    // Logging in proves itself with the password: a token still held from before (expired or revoked,
    // which is why one logs in again) would only get the login refused as token_invalid.
    return this.request("POST", "/devices", body, { auth: false });
  }

  me() {
    return this.request("GET", "/me");
  }

  push(deviceId, changes) {
    return this.request("POST", "/push", { device_id: deviceId, changes });
  }

  /** POST /pull; without `limit` the server's default (100) applies. */
  pull(cursor, limit) {
    const body = { cursor: cursor ?? null };
    if (limit !== undefined) body.limit = limit;
    return this.request("POST", "/pull", body);
  }

  /** HEAD /blobs/<sha256>: true when the server holds it, false on 404 (a HEAD carries no body). */
  async hasBlob(sha256) {
    try {
      await this.request("HEAD", `/blobs/${sha256}`);
      return true;
    } catch (err) {
      if (err.status === 404) return false;
      throw err;
    }
  }

  /** PUT /blobs/<sha256>?kind=…: the server re-hashes the body and answers 201 stored / 200 held. */
  async putBlob(sha256, bytes, { contentType, kind, onProgress } = {}) {
    const url = `${this.base}/blobs/${sha256}?kind=${encodeURIComponent(kind || "photo")}`;
    const headers = this.headers({ "Content-Type": contentType || "image/jpeg" });
    if (this.upload) {
      let resp;
      try {
        resp = await this.upload(url, headers, bytes, onProgress);
      } catch (err) {
        throw new SyncProblem("network", 0, { detail: String(err && err.message) });
      }
      if (resp.status >= 200 && resp.status < 300) return resp.json;
      const body = resp.json;
      throw new SyncProblem(body && body.code ? body.code : `http_${resp.status}`, resp.status, body);
    }
    let resp;
    try {
      resp = await this.fetch(url, { method: "PUT", headers, body: bytes, cache: "no-store", credentials: "omit" });
    } catch (err) {
      throw new SyncProblem("network", 0, { detail: String(err && err.message) });
    }
    if (!resp.ok) throw await problemFrom(resp);
    if (onProgress) onProgress(bytes.byteLength, bytes.byteLength);
    return resp.json().catch(() => null);
  }

  /** GET /blobs/<sha256>?rendition=… as a Blob (a teammate's photo before signing). */
  async getBlob(sha256, rendition = "thumb") {
    let resp;
    try {
      resp = await this.fetch(`${this.base}/blobs/${sha256}?rendition=${rendition}`, {
        headers: this.headers({ Accept: "image/*" }),
        credentials: "omit",
      });
    } catch (err) {
      throw new SyncProblem("network", 0, { detail: String(err && err.message) });
    }
    if (!resp.ok) throw await problemFrom(resp);
    return resp.blob();
  }

  finalize(inspectionId) {
    return this.request("POST", `/inspections/${inspectionId}/finalize`, {});
  }
}

/** PUT with upload progress (XMLHttpRequest's upload.onprogress; fetch has no upload progress). */
export function xhrUpload(url, headers, bytes, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded, e.total || bytes.byteLength);
    xhr.onload = () => {
      let json;
      try {
        json = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch (_) {
        json = null;
      }
      resolve({ status: xhr.status, json });
    };
    xhr.onerror = () => reject(new Error("upload failed"));
    xhr.ontimeout = () => reject(new Error("upload timed out"));
    xhr.timeout = 10 * 60 * 1000;
    xhr.send(bytes);
  });
}
