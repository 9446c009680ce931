/**
 * The field app's service worker: wires events to the strategies in sw/strategies.js.
 *
 * Versioned: the build writes the shell version and file list in (__SHELL_VERSION__,
 * __SHELL_FILES__). A new version installs and then WAITS: it never calls skipWaiting on its own,
 * so the code under an open inspection never changes. The page sends SKIP_WAITING when no
 * inspection is open and the inspector accepts (app/updates.js).
 */

import { deleteOldCaches, isShellRequest, precacheShell, serveShell } from "./sw/strategies.js";

const VERSION = __SHELL_VERSION__;
const FILES = __SHELL_FILES__;

self.addEventListener("install", (event) => {
  event.waitUntil(precacheShell(caches, VERSION, FILES, self.registration.scope));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(deleteOldCaches(caches, VERSION).then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  if (isShellRequest(event.request, self.registration.scope)) {
    event.respondWith(serveShell(caches, VERSION, event.request, self.registration.scope));
  }
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "SKIP_WAITING") self.skipWaiting();
});
