/**
 * The service worker's strategies as named functions (sw.js only wires events to them).
 *
 * Only the app shell is cached, in `spotcheck-static-<version>`; API responses (user data) are never
 * put in a cache: requests under /api/ are not intercepted at all.
 */

export const CACHE_PREFIX = "spotcheck-static-";

export function cacheName(version) {
  return `${CACHE_PREFIX}${version}`;
}

/** Install: fetch every shell file past the HTTP cache and store it under this version. */
export async function precacheShell(caches, version, files, scope) {
  const cache = await caches.open(cacheName(version));
  await cache.addAll(files.map((f) => new Request(new URL(f, scope).href, { cache: "reload" })));
}

/** Activate: delete this app's older static caches only (other caches on the origin are not ours). */
export async function deleteOldCaches(caches, version) {
  const keep = cacheName(version);
  const names = await caches.keys();
  await Promise.all(names.filter((n) => n.startsWith(CACHE_PREFIX) && n !== keep).map((n) => caches.delete(n)));
}

/** Whether the worker answers this request from the shell cache (GET, same origin, inside scope, not /api/). */
export function isShellRequest(request, scope) {
  if (request.method !== "GET") return false;
  const url = new URL(request.url);
  const base = new URL(scope);
  return url.origin === base.origin && url.pathname.startsWith(base.pathname) && !url.pathname.startsWith("/api/");
}

/**
 * Shell files from this version's cache; a navigation anywhere in scope gets index.html (the app
 * routes by #hash). A miss goes to the network, and is not cached: the shell list is fixed per version.
 */
export async function serveShell(caches, version, request, scope) {
  const cache = await caches.open(cacheName(version));
  const url = new URL(request.url);
  const target = request.mode === "navigate" || url.pathname === new URL(scope).pathname ? new URL("index.html", scope).href : url.href;
  const hit = await cache.match(target, { ignoreSearch: true });
  return hit || fetch(request);
}
