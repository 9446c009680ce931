/**
 * Builds the field app into pwa/dist/ (what Flask serves at /app/): the app bundle (app.js, with
 * idb and signature_pad inside), the stylesheet, index.html, the manifest, the icons, and the
 * service worker with this build's version and file list written in.
 *
 * The version is the SHA-256 of every shell file, so any change gives a new sw.js and a new cache
 * `spotcheck-static-<version>`; an unchanged build gives byte-identical output. dist/shell.json
 * lists the files and their sizes (for tests and `make bench`).
 *
 *   node pwa/build.mjs            (npm run build)
 */

import { build } from "esbuild";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = dirname(fileURLToPath(import.meta.url));
const OUT = join(SRC, "dist");
// Chrome/WebView 90+ and Safari 15+: every phone that has createImageBitmap resize options anyway.
const TARGET = ["chrome90", "safari15", "firefox100"];

async function main() {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(join(OUT, "icons"), { recursive: true });

  await build({
    entryPoints: [join(SRC, "app/main.js")],
    outfile: join(OUT, "app.js"),
    bundle: true,
    format: "esm",
    minify: true,
    target: TARGET,
    legalComments: "none",
    logLevel: "warning",
  });
  await build({
    entryPoints: [join(SRC, "app.css")],
    outfile: join(OUT, "app.css"),
    minify: true,
    target: TARGET,
    logLevel: "warning",
  });
  writeFileSync(join(OUT, "index.html"), readFileSync(join(SRC, "index.html"), "utf8").replace(/\n\s*/g, "\n"));
  copyFileSync(join(SRC, "manifest.webmanifest"), join(OUT, "manifest.webmanifest"));
  for (const name of readdirSync(join(SRC, "icons")).filter((n) => n.endsWith(".png")).sort()) {
    copyFileSync(join(SRC, "icons", name), join(OUT, "icons", name));
  }

  const files = ["index.html", "app.js", "app.css", "manifest.webmanifest"].concat(
    readdirSync(join(OUT, "icons"))
      .sort()
      .map((n) => `icons/${n}`),
  );
  const hash = createHash("sha256");
  const sizes = {};
  for (const f of files) {
    const bytes = readFileSync(join(OUT, f));
    sizes[f] = bytes.length;
    hash.update(f).update("\0").update(bytes);
  }
  const version = hash.digest("hex").slice(0, 12);

  await build({
    entryPoints: [join(SRC, "sw.js")],
    outfile: join(OUT, "sw.js"),
    bundle: true,
    format: "iife",
    minify: true,
    target: TARGET,
    legalComments: "none",
    define: { __SHELL_VERSION__: JSON.stringify(version), __SHELL_FILES__: JSON.stringify(files) },
    logLevel: "warning",
  });
  sizes["sw.js"] = readFileSync(join(OUT, "sw.js")).length;
  writeFileSync(join(OUT, "shell.json"), JSON.stringify({ version, files, sizes }, null, 2) + "\n");
  console.log(`pwa: built ${files.length + 1} files, version ${version}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
