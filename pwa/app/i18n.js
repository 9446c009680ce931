/**
 * The app's strings: the source text is the Simplified Chinese shown by default; `EN` translates
 * it for the English switch. tests/pwa/i18n.test.mjs checks that every t("…") in pwa/ has an entry.
 * "{name}" placeholders are filled from the second argument.
 */

export const EN = {
  "现场检查": "Field inspection",
  "同步": "Sync",
  "正在同步…": "Syncing…",
  "在线": "Online",
  "离线": "Offline",
  "{n} 项待同步": "{n} waiting to sync",
  "已全部同步": "All synced",
  "上次同步 {time}": "Last sync {time}",
  "同步失败：{reason}，稍后自动重试": "Sync failed: {reason}; retrying automatically",
  "离线：修改已保存在本机，联网后自动同步": "Offline: changes are saved on this phone and sync once online",
  "本机还有 {n} 项未同步的数据。退出后须由本人重新登录才能同步，其他人也不能在本机登录。仍要退出吗？":
    "This phone still has {n} unsynced item(s). After logging out they sync only once you log in again, and nobody else can log in here. Log out anyway?",
  "无法连接服务器": "cannot reach the server",
  "服务器暂时出错": "the server had an error",
  "服务器繁忙": "the server is busy",
  "登录已过期": "your login expired",
  "无权操作": "not allowed",
  "文件太大": "the file is too large",
  "文件不是可读取的图片": "the file is not a readable image",
  "图片文件不完整": "the image file is incomplete",
  "图片像素过多": "the image has too many pixels",
  "不支持的图片格式": "unsupported image format",
  "文件校验不一致": "the file did not match its checksum",
  "本机照片数据丢失": "the photo's data is missing on this phone",
  "提交失败：{reason}": "Submission failed: {reason}",
  "上传失败：{reason}": "upload failed: {reason}",
  "{name} 签到": "{name} checked in",
  "登录已过期，请重新登录（未同步的数据仍保存在本机）": "Your login expired; log in again (unsynced data stays on this phone)",
  "登录": "Log in",
  "退出登录": "Log out",
  "用户名": "Username",
  "密码": "Password",
  "设备名称": "Device name",
  "正在登录…": "Logging in…",
  "用户名或密码错误": "Wrong username or password",
  "登录失败次数过多，请稍后再试": "Too many failed logins; try again later",
  "账号已停用": "The account is disabled",
  "现场检查应用仅供执法检查人员使用": "The field app is for inspectors only",
  "请填写用户名和密码": "Enter your username and password",
  "无法连接服务器，请检查网络后重试": "Cannot reach the server; check the network and retry",
  "登录失败（{code}）": "Login failed ({code})",
  "本机还有 {name} 未同步的数据。请先由其登录并同步；无法同步时，由其登录后在“待同步”页面导出数据。":
    "{name} still has unsynced data on this phone. Let them log in and sync; if that fails, they log in and export it on the Outbox page.",
  "今日检查": "Today's inspections",
  "其他任务": "Other assignments",
  "已提交": "Submitted",
  "暂无检查任务。连接网络后点击“同步”获取任务。": "No assignments yet. Go online and tap Sync to fetch them.",
  "检查期限 {start} 至 {end}": "Window {start} to {end}",
  "已撤回": "Withdrawn",
  "已过检查期限": "Window has ended",
  "尚未开始": "Not started yet",
  "{n} 项被拒绝": "{n} rejected",
  "待同步": "Outbox",
  "新版本已就绪": "A new version is ready",
  "立即更新": "Update now",
  "检查进行中，完成后再更新": "An inspection is open; update after it",
  "返回": "Back",
  "检查对象": "Target",
  "统一社会信用代码": "Credit code",
  "地址": "Address",
  "法定代表人": "Legal representative",
  "代{department}": "for {department}",
  "风险分类": "Risk class",
  "行业": "Industry",
  "检查任务": "Tasks",
  "检查组": "Team",
  "组长": "Leader",
  "组员": "Member",
  "专家": "Expert",
  "以往检查": "Earlier inspections",
  "审核退回": "Returned by the reviewer",
  "审核意见": "Reviewer's comment",
  "现场签到": "Check in on site",
  "正在定位…": "Getting location…",
  "不等定位，直接签到": "Check in without location",
  "已签到": "Checked in",
  "尚无签到记录": "No check-in yet",
  "无定位": "no location",
  "定位权限被拒绝，签到未附位置": "Location permission denied; checked in without location",
  "无法获取位置，签到未附位置": "Location unavailable; checked in without location",
  "定位超时，签到未附位置": "Location timed out; checked in without location",
  "特殊情形": "Special outcome",
  "无（正常检查）": "None (normal inspection)",
  "说明": "Note",
  "情形证据照片": "Evidence photo",
  "检查内容": "Checklist",
  "已答 {n}/{total}": "{n}/{total} answered",
  "重点": "Key",
  "一般": "General",
  "依据": "Basis",
  "方法": "Method",
  "是": "Yes",
  "否": "No",
  "未检查": "Not checked",
  "合理缺项": "Not applicable",
  "备注": "Note",
  "拍照": "Take photo",
  "正在处理照片…": "Processing photo…",
  "照片处理失败，请重试": "The photo could not be processed; try again",
  "发现问题": "Findings",
  "记录问题": "Record finding",
  "问题描述": "Describe the finding",
  "添加": "Add",
  "请先填写问题描述": "Describe the finding first",
  "答“否”时请记录发现的问题": "With a “No”, record what was found",
  "其他问题与照片": "Other findings and photos",
  "检查情况说明": "Inspection notes",
  "签名与提交": "Sign and submit",
  "数据冲突：{values}": "Conflict: {values}",
  "请组长确认": "the team leader must resolve it",
  "已提交，等待审核": "Submitted; awaiting review",
  "该检查已锁定，不能修改": "This inspection is locked",
  "本机尚未同步": "not yet synced",
  "已上传": "uploaded",
  "内容摘要": "Content hash",
  "签名绑定以上内容摘要；之后任何修改都会使签名失效。": "A signature binds this content hash; any later edit makes it stale.",
  "尚缺": "Still missing",
  "未作答的检查项 {n} 项": "{n} checkpoint(s) unanswered",
  "特殊情形需要证据照片": "A special outcome needs an evidence photo",
  "数据冲突待组长处理 {n} 处": "{n} conflict(s) for the team leader",
  "需要两名检查人员签名（已签：{signed}）": "Two inspectors must sign (signed: {signed})",
  "需要当事人签名或记录拒签": "The representative must sign, or record a refusal",
  "服务器尚未收到文件 {n} 个": "{n} file(s) not yet on the server",
  "签名": "Signatures",
  "检查人员": "Inspector",
  "当事人": "Representative",
  "有效": "valid",
  "已失效，请重新签名": "stale; sign again",
  "检查人员签名（本人）": "Inspector's signature (you)",
  "当事人签名": "Representative's signature",
  "当事人姓名": "Representative's name",
  "清除": "Clear",
  "确认签名": "Confirm signature",
  "请先签名": "Please sign first",
  "请填写姓名": "Please enter the name",
  "当事人拒绝签名": "Representative refuses to sign",
  "拒签原因": "Reason",
  "见证人姓名": "Witness name",
  "见证人联系方式": "Witness contact",
  "记录拒签": "Record refusal",
  "请填写原因和见证人": "Enter the reason and the witness",
  "拒签记录": "Refusals",
  "见证人": "Witness",
  "提交检查结果": "Submit the inspection",
  "已请求提交，联网后自动完成": "Submission requested; it completes once online",
  "提交成功": "Submitted",
  "尚不能提交": "Cannot submit yet",
  "重新提交": "Submit again",
  "本账号未关联检查人员，不能以检查人员身份签名": "This account is not an inspector and cannot sign as one",
  "您已对当前内容签名": "You have signed the current content",
  "记录": "Records",
  "照片与签名文件": "Photos and signature images",
  "被服务器拒绝的修改": "Changes the server rejected",
  "这些修改未被服务器接受，仍保存在本机。请在“待同步”页面导出未同步数据，交管理员处理。":
    "The server did not accept these changes; they stay on this phone. Export the unsynced data on the Outbox page and give it to an administrator.",
  "没有待同步的数据": "Nothing waiting to sync",
  "导出未同步数据": "Export unsynced data",
  "导出文件（JSON，含照片）包含本机全部未同步的数据。请本人登录网站在“数据恢复”页面导入，或交给管理员。": "The file (JSON, photos included) holds all unsynced data of this phone. Import it yourself on the website's Data recovery page, or give it to an administrator.",
  "数据恢复": "Data recovery",
  "尝试 {n} 次": "{n} attempt(s)",
  "等待上传": "waiting",
  "上传中 {pct}%": "uploading {pct}%",
  "答案": "answer",
  "检查情况": "inspection notes",
  "特殊情形记录": "special outcome",
  "问题": "finding",
  "照片": "photo",
  "签名记录": "signature",
  "拒签": "refusal",
  "签到": "check-in",
  "签名图片": "signature image",
  "待检查": "to do",
  "检查中": "in progress",
  "已退回": "returned",
  "已通过": "approved",
  "已公示": "published",
  "已归档": "archived",
  "通过登记的住所（经营场所）无法联系": "Cannot be contacted at the registered address",
  "不配合检查，情节严重": "Refuses to cooperate (serious)",
  "未发现开展本次抽查涉及的经营活动": "No business activity covered by this check",
  "已关闭停业或正在组织清算": "Closed or in liquidation",
  "已注销": "Deregistered",
  "被吊销营业执照": "Business licence revoked",
  "被撤销登记": "Registration revoked",
  "已迁出": "Moved out",
  "该检查已提交或已审核，不再接受手机修改": "The inspection is submitted or reviewed and takes no phone edits",
  "不在该检查组，无权修改": "Not on this inspection's team",
  "检查不存在或已撤回": "The inspection does not exist or was withdrawn",
  "数据格式不被接受": "The data was not accepted",
  "该字段不允许修改": "This field may not be changed",
  "已记录的内容不能更改": "Recorded content cannot be changed",
  "服务器版本较新，请同步后重试": "The server is ahead; sync and retry",
  "被拒绝（{code}）": "Rejected ({code})",
  "请求存储空间持久化被拒绝：请尽快同步": "Persistent storage was refused: sync soon",
  "语言": "Language",
  "中文": "中文",
  "手机": "Phone",
};

let lang = "zh";

export function setLang(value) {
  lang = value === "en" ? "en" : "zh";
  if (typeof document !== "undefined") document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
}

export function getLang() {
  return lang;
}

export function t(source, params) {
  let text = lang === "en" ? EN[source] || source : source;
  if (params) for (const [k, v] of Object.entries(params)) text = text.replaceAll(`{${k}}`, String(v));
  return text;
}

// Code → source text, so screens translate labels through t() as well.
export const ANSWER_LABELS = { yes: "是", no: "否", not_checked: "未检查", not_applicable: "合理缺项" };
export const OUTCOME_LABELS = {
  no_contact: "通过登记的住所（经营场所）无法联系",
  refused_cooperation: "不配合检查，情节严重",
  no_activity: "未发现开展本次抽查涉及的经营活动",
  closed_or_liquidating: "已关闭停业或正在组织清算",
  deregistered: "已注销",
  licence_revoked: "被吊销营业执照",
  registration_revoked: "被撤销登记",
  moved_out: "已迁出",
};
export const STATE_LABELS = {
  assigned: "待检查",
  in_progress: "检查中",
  submitted: "已提交",
  returned: "已退回",
  approved: "已通过",
  published: "已公示",
  archived: "已归档",
};
export const ROLE_LABELS = { leader: "组长", member: "组员", expert: "专家" };
export const RECORD_LABELS = {
  answer: "答案",
  inspection: "检查情况",
  outcome: "特殊情形记录",
  finding: "问题",
  photo: "照片",
  signature: "签名记录",
  refusal: "拒签",
  checkin: "签到",
};
// Per-change rejection codes (PROTOCOL §10 plus the server's lock) shown to the inspector.
export const REJECTION_LABELS = {
  sync_inspection_locked: "该检查已提交或已审核，不再接受手机修改",
  sync_forbidden: "不在该检查组，无权修改",
  sync_unknown_inspection: "检查不存在或已撤回",
  sync_bad_change: "数据格式不被接受",
  sync_bad_request: "数据格式不被接受",
  sync_field_not_allowed: "该字段不允许修改",
  sync_append_only: "已记录的内容不能更改",
  sync_base_version_ahead: "服务器版本较新，请同步后重试",
};

export function rejectionText(code) {
  return REJECTION_LABELS[code] ? t(REJECTION_LABELS[code]) : t("被拒绝（{code}）", { code });
}

// Request-level problem codes (server/errors.py, and the client's own `network` / `http_<status>`)
// in words; an unknown code is shown as it is, so support can still look it up.
export const PROBLEM_LABELS = {
  network: "无法连接服务器",
  token_invalid: "登录已过期",
  auth_required: "登录已过期",
  forbidden: "无权操作",
  payload_too_large: "文件太大",
  image_unreadable: "文件不是可读取的图片",
  image_truncated: "图片文件不完整",
  image_too_many_pixels: "图片像素过多",
  image_unsupported_format: "不支持的图片格式",
  blob_hash_mismatch: "文件校验不一致",
  sync_blob_hash_mismatch: "文件校验不一致",
  local_bytes_missing: "本机照片数据丢失",
};

/** What went wrong, in words, for a problem code. */
export function problemText(code) {
  if (PROBLEM_LABELS[code]) return t(PROBLEM_LABELS[code]);
  if (REJECTION_LABELS[code]) return t(REJECTION_LABELS[code]);
  const status = /^http_(\d{3})$/.exec(String(code));
  if (status && Number(status[1]) === 429) return t("服务器繁忙");
  if (status && Number(status[1]) >= 500) return t("服务器暂时出错");
  return String(code);
}

/** The sync line's text after a failed round: offline is not a failure, just a wait. */
export function syncErrorText(error, online) {
  const code = error && error.code;
  if (code === "network" && !online) return t("离线：修改已保存在本机，联网后自动同步");
  return t("同步失败：{reason}，稍后自动重试", { reason: problemText(code) });
}
