// The content hash computed on the phone equals the server's (sync/content.py) for every golden
// fixture that names one, and the derived answer/outcome ids equal the server's.
import { test } from "node:test";
import { assert, loadFixtures, fixture } from "./helpers.mjs";
import { canonicalJson, sha256OfJson, shortHash } from "../../pwa/sync/canonical.js";
import { contentHash, localMissing, signatureStatus } from "../../pwa/sync/content.js";
import { answerId, outcomeId } from "../../pwa/data/ids.js";

/**
 * Replay a fixture's accepted changes into plain records (what the phone holds) and, at every
 * finalize step, compare the phone's hash with the one the server reports.
 */
async function checkFixtureHashes(fx) {
  const records = new Map();
  let inspectionFields = null;
  const inspectionId = "10000000-0000-4000-8000-000000000001";
  for (const rec of fx.preconditions.records) {
    if (rec.record_id === inspectionId) inspectionFields = { ...rec.fields };
  }
  let compared = 0;
  for (const step of fx.steps) {
    if (step.call === "push" && step.response.status === 200) {
      step.request.changes.forEach((change, i) => {
        const result = step.response.body.results[i];
        if (!["applied", "merged", "conflict"].includes(result.status)) return;
        if (change.record_type === "inspection") {
          Object.assign(inspectionFields, change.fields);
          return;
        }
        if (change.fields.inspection_id && change.fields.inspection_id !== inspectionId) return;
        const key = `${change.record_type}:${change.record_id}`;
        const prev = records.get(key);
        records.set(key, {
          record_type: change.record_type,
          record_id: change.record_id,
          fields: { ...(prev ? prev.fields : {}), ...change.fields },
          conflicts: [],
        });
      });
    }
    if (step.call === "finalize") {
      const body = step.response.body;
      const withHash = step.response.status === 200 ? body : body.missing.find((m) => m.content_hash);
      const mine = await contentHash(inspectionId, inspectionFields, [...records.values()]);
      if (withHash) {
        assert.equal(mine, withHash.content_hash, `${fx.name}: content hash at a finalize step`);
        compared += 1;
      }
      if (step.response.status === 409) {
        // What the phone can tell is missing equals the server's list without the blob items.
        const serverMissing = body.missing.filter((m) => m.item !== "blob");
        assert.deepEqual(localMissing(inspectionFields, [...records.values()], mine), serverMissing, fx.name);
      }
    }
  }
  return compared;
}

test("the phone's content hash equals the server's in every fixture with a finalize", async () => {
  let compared = 0;
  for (const fx of loadFixtures()) compared += await checkFixtureHashes(fx);
  assert.ok(compared >= 5, `compared ${compared} hashes`);
});

test("a signature turns stale when the content changes (09_stale_signature)", async () => {
  const fx = fixture("09_stale_signature");
  const signed = fx.steps[1].request.changes.find((c) => c.record_type === "signature").fields.content_hash;
  const final = fx.steps.at(-1).response.body.missing.find((m) => m.content_hash).content_hash;
  assert.notEqual(signed, final);
  assert.equal(signatureStatus(signed, final), "stale");
  assert.equal(signatureStatus(final, final), "valid");
});

test("derived ids match the server's UUIDv5 answer_id and outcome_id", async () => {
  const fx = fixture("01_push_new_answer");
  const change = fx.steps[0].request.changes[0];
  assert.equal(await answerId(change.fields.inspection_id, change.fields.checkpoint_id), change.record_id);
  const special = fixture("10_special_outcome");
  const outcome = special.steps.flatMap((s) => (s.request ? s.request.changes || [] : [])).find((c) => c.record_type === "outcome");
  assert.equal(await outcomeId(outcome.fields.inspection_id), outcome.record_id);
});

test("canonical JSON sorts keys recursively, keeps non-ASCII and refuses NaN", async () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: null, y: "检查" }], c: true } }), '{"a":{"c":true,"d":[2,{"y":"检查","z":null}]},"b":1}');
  assert.equal(canonicalJson({ s: 'a"b\\c\n\u0001' }), '{"s":"a\\"b\\\\c\\n\\u0001"}');
  assert.throws(() => canonicalJson({ x: NaN }));
  // Python: hashlib.sha256('{"a":"检查"}'.encode()).hexdigest()
  assert.equal(await sha256OfJson({ a: "检查" }), "1cad957f94af764d17edf05c9b10c3d15b95de41fa2bc3064c99c0bdcfe3b076");
  assert.equal(shortHash("83d7f9ae427eb011"), "83d7 f9ae");
});
