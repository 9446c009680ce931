// Shared helpers for the field app's unit tests: a fresh fake IndexedDB per test, the golden
// fixtures of tests/fixtures/sync, and a fetch double that checks requests against a script.
import "fake-indexeddb/auto";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { openDatabase } from "../../pwa/data/db.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const FIXTURES = join(ROOT, "tests", "fixtures", "sync");

export function loadFixtures() {
  return readdirSync(FIXTURES)
    .filter((n) => n.endsWith(".json"))
    .sort()
    .map((n) => JSON.parse(readFileSync(join(FIXTURES, n), "utf8")));
}

export function fixture(name) {
  return loadFixtures().find((f) => f.name === name);
}

let dbCounter = 0;
export async function freshDb() {
  dbCounter += 1;
  return openDatabase(`spotcheck-test-${process.pid}-${dbCounter}`);
}

export function jsonResponse(status, body, headers = {}) {
  const isProblem = status >= 400 && body && body.code;
  return new Response(status === 204 || body === null ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": isProblem ? "application/problem+json" : "application/json", ...headers },
  });
}

/**
 * A fetch double: each call is handed to `handler(method, path, body, init)` which returns
 * {status, body} (or throws to simulate a network failure). Every call is recorded.
 */
export function fakeFetch(handler) {
  const calls = [];
  const fn = async (url, init = {}) => {
    const u = new URL(url, "http://phone.test");
    const method = init.method || "GET";
    let body = init.body;
    if (typeof body === "string") body = JSON.parse(body);
    calls.push({ method, path: u.pathname + u.search, body, headers: init.headers || {} });
    const answer = await handler(method, u.pathname, body, init, u);
    return jsonResponse(answer.status, method === "HEAD" ? null : answer.body);
  };
  fn.calls = calls;
  return fn;
}

export function bytesOfBase64(b64) {
  const buf = Buffer.from(b64, "base64");
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

export { assert };
