// The sync client against the golden fixtures: for every step it must send exactly the fixture's
// request (method, path, JSON body or bytes) and turn the fixture's response into a return value
// or a SyncProblem carrying the fixture's problem code.
import { test } from "node:test";
import { assert, bytesOfBase64, fakeFetch, loadFixtures } from "./helpers.mjs";
import { SyncClient, SyncProblem } from "../../pwa/sync/client.js";

function expectedCall(step) {
  switch (step.call) {
    case "push":
      return { method: "POST", path: "/api/v1/sync/push", body: step.request };
    case "pull":
      return { method: "POST", path: "/api/v1/sync/pull", body: step.request };
    case "blob_head":
      return { method: "HEAD", path: `/api/v1/sync/blobs/${step.sha256}` };
    case "blob_put":
      return { method: "PUT", path: `/api/v1/sync/blobs/${step.sha256}` };
    case "finalize":
      return { method: "POST", path: `/api/v1/sync/inspections/${step.inspection_id}/finalize`, body: {} };
    default:
      throw new Error(step.call);
  }
}

async function run(client, step) {
  switch (step.call) {
    case "push":
      return client.push(step.request.device_id, step.request.changes);
    case "pull":
      return client.pull(step.request.cursor, step.request.limit);
    case "blob_head":
      return client.hasBlob(step.sha256);
    case "blob_put":
      return client.putBlob(step.sha256, bytesOfBase64(step.body_base64), { contentType: "image/jpeg", kind: "photo" });
    case "finalize":
      return client.finalize(step.inspection_id);
    default:
      throw new Error(step.call);
  }
}

for (const fx of loadFixtures()) {
  test(`client replays ${fx.name}`, async () => {
    let current = null;
    const fetch = fakeFetch(async (method, path, body, init) => {
      const want = expectedCall(current);
      assert.equal(method, want.method);
      assert.equal(path, want.path);
      if (want.body !== undefined) assert.deepEqual(body, want.body);
      if (current.call === "blob_put") {
        assert.deepEqual(Buffer.from(init.body), Buffer.from(current.body_base64, "base64"));
        assert.equal(init.headers["Content-Type"], "image/jpeg");
      }
      assert.equal(init.headers.Authorization, "Bearer tok-1");
      return current.response;
    });
    const client = new SyncClient({ token: () => "tok-1", fetch });
    for (const step of fx.steps) {
      current = step;
      const { status, body } = step.response;
      if (step.call === "blob_head") {
        assert.equal(await run(client, step), status === 200);
      } else if (status >= 200 && status < 300) {
        assert.deepEqual(await run(client, step), body);
      } else {
        await assert.rejects(run(client, step), (err) => {
          assert.ok(err instanceof SyncProblem);
          assert.equal(err.code, body.code);
          assert.equal(err.status, status);
          if (body.missing) assert.deepEqual(err.body.missing, body.missing);
          return true;
        });
      }
    }
    assert.equal(fetch.calls.length, fx.steps.length);
  });
}

test("a request that never got an answer is the code 'network' and is transient", async () => {
  const client = new SyncClient({
    token: () => "t",
    fetch: async () => {
      throw new TypeError("Failed to fetch");
    },
  });
  await assert.rejects(client.pull(null), (err) => err.code === "network" && err.transient);
});

test("a non-problem error body still yields a code, from the status", async () => {
  const client = new SyncClient({ token: () => "t", fetch: async () => new Response("<html>bad gateway</html>", { status: 502 }) });
  await assert.rejects(client.pull(null), (err) => err.code === "http_502" && err.transient && !err.needsLogin);
});

test("401 asks for a new login; device login sends the kept device id", async () => {
  const fetch = fakeFetch(async (method, path, body) => {
    if (path.endsWith("/devices")) {
      assert.deepEqual(body, { username: "GP001", password: "pw", device_name: "Phone", device_id: "dev-kept" });
      return { status: 201, body: { device_id: "dev-kept", token: "tok", user: { id: 1 } } };
    }
    return { status: 401, body: { code: "token_invalid", status: 401, title: "x" } };
  });
  const client = new SyncClient({ token: () => "old", fetch });
  const login = await client.registerDevice({ username: "GP001", password: "pw", deviceName: "Phone", deviceId: "dev-kept" });
  assert.equal(login.device_id, "dev-kept");
  await assert.rejects(client.me(), (err) => err.needsLogin && err.code === "token_invalid");
});

test("the upload transport reports progress and its status decides", async () => {
  const seen = [];
  const client = new SyncClient({
    token: () => "t",
    fetch: async () => assert.fail("fetch must not be used when an upload transport is given"),
    upload: async (url, headers, bytes, onProgress) => {
      assert.match(url, /\/api\/v1\/sync\/blobs\/ab+\?kind=signature$/);
      assert.equal(headers["Content-Type"], "image/png");
      onProgress(bytes.byteLength / 2, bytes.byteLength);
      onProgress(bytes.byteLength, bytes.byteLength);
      return { status: 413, json: { code: "payload_too_large" } };
    },
  });
  await assert.rejects(
    client.putBlob("a" + "b".repeat(63), new ArrayBuffer(10), { contentType: "image/png", kind: "signature", onProgress: (s, t) => seen.push([s, t]) }),
    (err) => err.code === "payload_too_large" && !err.transient,
  );
  assert.deepEqual(seen, [
    [5, 10],
    [10, 10],
  ]);
});

test("logging in again sends no stale token: a revoked one would get the login refused", async () => {
  const fetch = fakeFetch(async (method, path, body, init) => {
    if (init.headers.Authorization) return { status: 401, body: { code: "token_invalid", status: 401, title: "x" } };
    return { status: 201, body: { device_id: "dev-kept", token: "new", user: { id: 1 } } };
  });
  const client = new SyncClient({ token: () => "revoked", fetch });
  const login = await client.registerDevice({ username: "GP001", password: "pw", deviceName: "Phone", deviceId: "dev-kept" });
  assert.equal(login.token, "new");
  assert.equal(fetch.calls[0].headers.Authorization, undefined);
  // Everything else still carries the token.
  await assert.rejects(client.me(), (err) => err.code === "token_invalid");
  assert.equal(fetch.calls[1].headers.Authorization, "Bearer revoked");
});
