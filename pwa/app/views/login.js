/**
 * Login = device registration (POST /api/v1/sync/devices). The device id is kept per username in
 * IndexedDB and sent again on every later login, so changes queued under it stay pushable.
 */

import { getMeta, read, setMeta, write } from "../../data/db.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

export const LOGIN_ERRORS = {
  invalid_credentials: "用户名或密码错误",
  login_throttled: "登录失败次数过多，请稍后再试",
  account_disabled: "账号已停用",
  forbidden: "现场检查应用仅供执法检查人员使用",
  validation_failed: "请填写用户名和密码",
  network: "无法连接服务器，请检查网络后重试",
};

function defaultDeviceName() {
  const ua = navigator.userAgent;
  const model = /Android[^;]*;\s*([^;)]+)/.exec(ua) || /(iPhone|iPad)/.exec(ua);
  return model ? model[1].trim().slice(0, 60) : t("手机");
}

/**
 * Another user's data this phone must keep: queued changes (they need that user's token), files not
 * yet on the server, and rejected changes still to be seen. A new user may not wipe them.
 */
async function otherUsersPending(db, username) {
  return read(db, ["outbox", "rejected", "blobs", "meta"], async (tx) => {
    const owner = await tx.objectStore("meta").get("owner");
    if (!owner || owner.value.username === username) return null;
    const queued = await tx.objectStore("outbox").count();
    const rejected = await tx.objectStore("rejected").count();
    const files = (await tx.objectStore("blobs").getAll()).filter((b) => b.state !== "uploaded").length;
    return queued + rejected + files ? owner.value : null;
  });
}

/** A different user on this phone starts from empty records (nothing of the previous one is pending). */
async function switchOwner(db, user) {
  const owner = await getMeta(db, "owner");
  if (owner && owner.id === user.id) return;
  await write(db, ["records", "blobs", "blob_bytes", "meta", "rejected"], async (tx) => {
    await tx.objectStore("records").clear();
    await tx.objectStore("blobs").clear();
    await tx.objectStore("blob_bytes").clear();
    const meta = tx.objectStore("meta");
    await meta.delete("cursor");
    await meta.delete("assigned");
    for (const key of await meta.getAllKeys()) if (String(key).startsWith("finalize:")) await meta.delete(key);
    await meta.put({ key: "owner", value: { id: user.id, username: user.username, display_name: user.display_name } });
  });
}

/**
 * The server gave this user a new device id (e.g. the old one was revoked): queued changes of the
 * user move to it, since only the token's device may push them.
 */
async function adoptEntries(db, userId, deviceId) {
  await write(db, ["outbox"], async (tx) => {
    const store = tx.objectStore("outbox");
    for (const entry of await store.getAll()) {
      if (entry.user_id === userId && entry.device_id !== deviceId) await store.put({ ...entry, device_id: deviceId });
    }
  });
}

export async function renderLogin(app) {
  const session = await getMeta(app.db, "session");
  const message = h("p", { class: "error", role: "alert", "data-testid": "login-error" });
  const username = h("input", {
    name: "username",
    autocomplete: "username",
    required: true,
    value: session ? session.user.username : "",
  });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const deviceName = h("input", { name: "device_name", value: defaultDeviceName(), maxlength: 100 });
  const button = h("button", { type: "submit", class: "primary" }, t("登录"));

  async function submit(event) {
    event.preventDefault();
    message.textContent = "";
    const name = username.value.trim();
    if (!name || !password.value) {
      message.textContent = t(LOGIN_ERRORS.validation_failed);
      return;
    }
    const blocker = await otherUsersPending(app.db, name);
    if (blocker) {
      message.textContent = t("本机还有 {name} 未同步的数据。请先由其登录并同步；无法同步时，由其登录后在“待同步”页面导出数据。", {
        name: blocker.display_name || blocker.username,
      });
      return;
    }
    button.disabled = true;
    button.textContent = t("正在登录…");
    try {
      const deviceId = await getMeta(app.db, `device:${name}`);
      const resp = await app.client.registerDevice({
        username: name,
        password: password.value,
        deviceName: deviceName.value.trim() || defaultDeviceName(),
        deviceId,
      });
      await setMeta(app.db, `device:${name}`, resp.device_id);
      await switchOwner(app.db, resp.user);
      if (deviceId && resp.device_id !== deviceId) await adoptEntries(app.db, resp.user.id, resp.device_id);
      await app.login({ token: resp.token, device_id: resp.device_id, user: resp.user });
    } catch (err) {
      const known = LOGIN_ERRORS[err.code];
      message.textContent = known ? t(known) : t("登录失败（{code}）", { code: err.code || "error" });
      button.disabled = false;
      button.textContent = t("登录");
    }
  }

  return h(
    "section",
    { class: "login", "data-title": t("登录") },
    h("h1", {}, t("现场检查")),
    app.engine.status.needsLogin
      ? h("p", { class: "warn" }, t("登录已过期，请重新登录（未同步的数据仍保存在本机）"))
      : null,
    h(
      "form",
      { onsubmit: submit, "data-testid": "login-form" },
      h("label", {}, t("用户名"), username),
      h("label", {}, t("密码"), password),
      h("label", {}, t("设备名称"), deviceName),
      message,
      button,
    ),
  );
}
