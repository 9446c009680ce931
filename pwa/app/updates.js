/**
 * Service-worker registration and the update rule: a new app version waits (no skipWaiting) until
 * no inspection is open in any tab, and then only switches when the inspector taps "立即更新".
 * Open inspections are seen through the shared Web Lock every inspection screen holds (main.js).
 */

import { h, replace } from "./dom.js";
import { t } from "./i18n.js";

export const SW_URL = "/app/sw.js";
export const SCOPE = "/app/";

async function inspectionOpenAnywhere(app) {
  if (app.openInspection) return true;
  if (app.inspectionReleased) await app.inspectionReleased; // our own lock, just let go
  if (navigator.locks && navigator.locks.query) {
    const state = await navigator.locks.query();
    return state.held.some((l) => l.name === "spotcheck-inspection");
  }
  return false;
}

export function watchUpdates(app) {
  const banner = document.getElementById("banner");
  const state = { waiting: null, requested: false, registration: null };
  if (!("serviceWorker" in navigator)) return { refresh() {}, state };

  async function refresh() {
    if (!state.waiting) {
      replace(banner);
      banner.hidden = true;
      return;
    }
    banner.hidden = false;
    if (await inspectionOpenAnywhere(app)) {
      replace(banner, h("span", { "data-testid": "update-held" }, t("检查进行中，完成后再更新")));
      return;
    }
    replace(
      banner,
      h("span", {}, t("新版本已就绪")),
      h(
        "button",
        {
          type: "button",
          "data-testid": "update-now",
          onclick: async () => {
            // Checked again at the moment of the tap: another tab may have opened an inspection.
            if (await inspectionOpenAnywhere(app)) return refresh();
            state.requested = true;
            state.waiting.postMessage({ type: "SKIP_WAITING" });
          },
        },
        t("立即更新"),
      ),
    );
  }

  navigator.serviceWorker.addEventListener("controllerchange", () => {
    // Only after the inspector asked: the very first install also changes the controller.
    if (state.requested) location.reload();
  });

  navigator.serviceWorker
    .register(SW_URL, { scope: SCOPE, updateViaCache: "none" })
    .then((reg) => {
      state.registration = reg;
      const check = () => {
        if (reg.waiting && navigator.serviceWorker.controller) {
          state.waiting = reg.waiting;
          refresh();
        }
      };
      check();
      reg.addEventListener("updatefound", () => {
        const worker = reg.installing;
        if (worker) worker.addEventListener("statechange", () => worker.state === "installed" && check());
      });
      // Phones keep the app open for days: look for a new version now and then.
      setInterval(() => reg.update().catch(() => {}), 30 * 60 * 1000);
    })
    .catch((err) => console.warn("service worker not registered", err));
  return { refresh, state };
}
