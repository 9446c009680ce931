// Every Chinese string the field app can show has an English entry (the language switch), and
// placeholders survive translation.
import { test } from "node:test";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { assert, ROOT } from "./helpers.mjs";
import { EN, t, setLang, ANSWER_LABELS, OUTCOME_LABELS, STATE_LABELS, ROLE_LABELS, RECORD_LABELS, REJECTION_LABELS } from "../../pwa/app/i18n.js";

const PWA = join(ROOT, "pwa");
const CJK = /[\u3400-\u9fff\uff00-\uffef]/;

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "dist" || name === "icons") return [];
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith(".js") ? [path] : [];
  });
}

function staticText(template) {
  let out = "";
  for (let i = 0; i < template.length; i++) {
    if (template[i] === "$" && template[i + 1] === "{") {
      let depth = 0;
      for (i += 1; i < template.length; i++) {
        if (template[i] === "{") depth++;
        else if (template[i] === "}" && --depth === 0) break;
      }
    } else out += template[i];
  }
  return out;
}

test("every Chinese string literal in the app code has an English entry", () => {
  const missing = [];
  for (const path of sources(PWA)) {
    if (path.endsWith("i18n.js")) continue;
    const code = readFileSync(path, "utf8").replace(/^\s*(\/\/|\*|\/\*).*$/gm, "");
    const texts = [...code.matchAll(/"((?:[^"\\\n]|\\.)*)"/g)].map((m) => m[1]);
    // The static parts of template literals (their ${…} parts are code, scanned above).
    for (const m of code.matchAll(/`((?:[^`\\]|\\.)*)`/g)) texts.push(staticText(m[1]));
    for (const text of texts) {
      if (CJK.test(text) && !(text in EN)) missing.push(`${relative(ROOT, path)}: ${text}`);
    }
  }
  assert.deepEqual(missing, []);
});

test("every label table maps to catalogued text", () => {
  for (const table of [ANSWER_LABELS, OUTCOME_LABELS, STATE_LABELS, ROLE_LABELS, RECORD_LABELS, REJECTION_LABELS]) {
    for (const source of Object.values(table)) assert.ok(source in EN, source);
  }
});

test("translations keep their placeholders and are not empty", () => {
  for (const [zh, en] of Object.entries(EN)) {
    assert.ok(en.trim(), zh);
    const holes = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    assert.deepEqual(holes(en), holes(zh), zh);
  }
});

test("t() is Chinese by default and English after the switch", () => {
  setLang("zh");
  assert.equal(t("{n} 项待同步", { n: 3 }), "3 项待同步");
  setLang("en");
  assert.equal(t("{n} 项待同步", { n: 3 }), "3 waiting to sync");
  assert.equal(t("not in the catalogue"), "not in the catalogue");
  setLang("zh");
});
