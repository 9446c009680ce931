/**
 * GPS for check-ins and photos: navigator.geolocation with a timeout. Never blocks saving: the
 * caller saves without a position when it is denied, unavailable or slow, and says which.
 */

export const GEO_TIMEOUT_MS = 10000;

/** Resolves {lat, lon, accuracy} or {error: "denied"|"unavailable"|"timeout"}; never rejects. */
export function currentPosition(geo = globalThis.navigator && globalThis.navigator.geolocation, timeout = GEO_TIMEOUT_MS) {
  return new Promise((resolve) => {
    if (!geo) {
      resolve({ error: "unavailable" });
      return;
    }
    let done = false;
    const finish = (value) => {
      if (!done) {
        done = true;
        resolve(value);
      }
    };
    // Our own timer as well: some browsers never call back while the permission prompt is open.
    setTimeout(() => finish({ error: "timeout" }), timeout + 500);
    geo.getCurrentPosition(
      (pos) =>
        finish({
          lat: Math.round(pos.coords.latitude * 1e7) / 1e7,
          lon: Math.round(pos.coords.longitude * 1e7) / 1e7,
          accuracy: Math.round(pos.coords.accuracy * 10) / 10,
        }),
      (err) => finish({ error: err.code === 1 ? "denied" : err.code === 3 ? "timeout" : "unavailable" }),
      { enableHighAccuracy: true, timeout, maximumAge: 60000 },
    );
  });
}

export const GEO_MESSAGES = {
  denied: "定位权限被拒绝，签到未附位置",
  unavailable: "无法获取位置，签到未附位置",
  timeout: "定位超时，签到未附位置",
};
