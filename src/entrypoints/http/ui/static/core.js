// What every page shares: the Pipedrive SDK (optional), the signed token, the JSON API,
// language and formatting, snackbars, confirmations and resizing.
import { codeText, failureText, problemText } from "./codes.js";
import { currencyPlaces } from "./decimal.js";
import { MESSAGES } from "./i18n.js";

export const params = new URLSearchParams(window.location.search);

function parseData(raw) {
  if (!raw) return {};
  try {
    const value = JSON.parse(raw);
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

/** Pipedrive's iframe parameters (reference §12.2); `data` is what OPEN_MODAL passed. */
export const ctx = {
  id: params.get("id"),
  token: params.get("token"),
  companyId: params.get("companyId"),
  userId: params.get("userId"),
  selectedIds: params.get("selectedIds"),
  resource: params.get("resource"),
  theme: params.get("theme"),
  data: parseData(params.get("data")),
};

let sdk = null;
let locale = "en-US";
let lang = "en";
export let session = null;

export const inPipedrive = () => sdk !== null;

// ------------------------------------------------------------------ language and formats

/** A field violation or a draft warning from the server, by its code, in the page's language. */
export const tCode = (item) => codeText(lang, item);

/** Why QuickBooks did not create an invoice, in the page's language. */
export const tFailure = (invoice) => failureText(lang, invoice);

export function t(key, vars = {}) {
  const text = MESSAGES[lang][key] ?? MESSAGES.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

function setLanguage(tag) {
  const wanted = String(tag || "en").replace("_", "-");
  lang = wanted.toLowerCase().startsWith("fr") ? "fr" : "en";
  try {
    locale = Intl.getCanonicalLocales(wanted)[0];
  } catch {
    locale = lang === "fr" ? "fr-FR" : "en-US";
  }
  if (!locale.toLowerCase().startsWith(lang)) locale = lang === "fr" ? "fr-FR" : "en-US";
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  }
  for (const el of document.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.setAttribute("placeholder", t(el.dataset.i18nPlaceholder));
  }
  document.title = t(document.body.dataset.title || "app.name");
  // Support, one click away on every page (Intuit's review), in the page's language.
  for (const el of document.querySelectorAll("a[data-support]")) el.href = supportUrl();
}

export { currencyPlaces };

/** "1234.5" + "EUR" -> "1 234,50 €" in French; exact (Intl formats decimal strings as text),
 * to the currency's invoice decimals (currencyPlaces: "1.23 KWD", not Intl's "1.230"). */
export function money(amount, currency) {
  if (amount === undefined || amount === null || amount === "") return t("common.none");
  const places = currencyPlaces(currency);
  try {
    return new Intl.NumberFormat(locale, {
      style: "currency", currency, minimumFractionDigits: places, maximumFractionDigits: places,
    }).format(String(amount));
  } catch {
    return `${amount} ${currency}`;
  }
}

export function moneyOf(value) {
  return value && value.currencyCode ? money(value.amount || "0", value.currencyCode) : t("common.none");
}

/** A calendar date "2026-03-20" in the user's format (no time zone shift). */
export function day(iso) {
  if (!iso) return t("common.none");
  const [y, m, d] = iso.split("-").map(Number);
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" }).format(
    new Date(Date.UTC(y, m - 1, d)),
  );
}

export function dayLong(date) {
  return new Intl.DateTimeFormat(locale, { day: "numeric", month: "long", timeZone: "UTC" }).format(date);
}

export function moment(iso) {
  if (!iso) return t("common.none");
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
}

export function ago(iso) {
  if (!iso) return "";
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  const abs = Math.abs(seconds);
  if (abs < 60) return rtf.format(Math.min(0, seconds), "second");
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), "hour");
  return rtf.format(Math.round(seconds / 86400), "day");
}

// ------------------------------------------------------------------ theme

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme === "dark" ? "dark" : "light";
}

// ------------------------------------------------------------------ the API

export class ApiError extends Error {
  /** `message` overrides what the problem says (by its codes, in the page's language). */
  constructor(problem, status, message = null) {
    super(message || problemText(lang, problem) || t("error.network"));
    this.status = status;
    this.problem = problem;
    this.reason = problem.reason || "";
    this.fieldErrors = Array.isArray(problem.errors) ? problem.errors : [];
  }
}

/** A token for one call: GET_SIGNED_TOKEN inside Pipedrive, else the iframe URL's token. */
export async function signedToken() {
  if (sdk) {
    const { token } = await sdk.execute("get_signed_token");
    return token;
  }
  if (!ctx.token) throw new ApiError({ reason: "NO_TOKEN" }, 401, t("error.standalone"));
  return ctx.token;
}

async function request(path, init) {
  let response;
  try {
    response = await fetch(path, {
      ...init,
      headers: { ...(init.headers || {}), authorization: `Bearer ${await signedToken()}` },
    });
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError({ reason: "NETWORK" }, 0, t("error.network"));
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new ApiError(problem, response.status, response.status === 401 ? t("error.session") : null);
  }
  return response;
}

/** Call `Service.Method` of the JSON API (the gRPC method of that name, proto3 JSON). */
export async function rpc(service, method, body = {}) {
  const response = await request(`/api/v1/${service}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return response.json();
}

/**
 * Call a server-streaming `Service.Method`: `onMessage` gets each answer as the server sends it
 * (NDJSON lines `{"result": answer}`). A failure midway (a last line `{"error": problem}`) throws.
 */
export async function rpcStream(service, method, body, onMessage) {
  const response = await request(`/api/v1/${service}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  const take = (line) => {
    if (!line.trim()) return;
    const { result, error } = JSON.parse(line);
    if (error) throw new ApiError(error, error.status || 500);
    onMessage(result);
  };
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch {
      throw new ApiError({ reason: "NETWORK" }, 0, t("error.network"));
    }
    if (chunk.done) break;
    buffered += decoder.decode(chunk.value, { stream: true });
    const lines = buffered.split("\n");
    buffered = lines.pop();
    lines.forEach(take);
  }
  take(buffered + decoder.decode());
}

/** What an API problem (or a batch item's error, in the same shape) says, in the page's language. */
export const tProblem = (problem) => problemText(lang, problem);

/** Download a file from the API (the PDF) without putting the token in a URL. */
export async function download(path, fallbackName) {
  const response = await request(path, { method: "GET" });
  const blob = await response.blob();
  const disposition = response.headers.get("content-disposition") || "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] || fallbackName;
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const companyName = () => `companies/${session.companyId}`;

// ------------------------------------------------------------------ host interactions

export async function snackbar(message, link) {
  if (sdk) {
    try {
      await sdk.execute("show_snackbar", link ? { message, link } : { message });
      return;
    } catch {
      /* fall through to the page's own */
    }
  }
  const region = document.getElementById("snackbar");
  if (!region) return;
  region.textContent = message;
  region.hidden = false;
  clearTimeout(region._timer);
  region._timer = setTimeout(() => (region.hidden = true), 5000);
}

/** Pipedrive's confirmation dialog inside Pipedrive; an accessible <dialog> otherwise. */
export async function confirmAction({ title, description, okText, danger = false }) {
  if (sdk) {
    const { confirmed } = await sdk.execute("show_confirmation", {
      title,
      description,
      okText,
      cancelText: t("common.cancel"),
      okColor: danger ? "negative" : "primary",
    });
    return confirmed;
  }
  return formDialog({ title, description, okText, danger, fields: [] }).then((r) => r !== null);
}

/**
 * A modal <dialog> with optional text fields; resolves to {name: value} or null if cancelled.
 * fields: [{name, label, type, value, required, multiple}]
 */
export function formDialog({ title, description, okText, danger = false, fields }) {
  return new Promise((resolve) => {
    const dialog = document.createElement("dialog");
    dialog.className = "dialog";
    const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
    dialog.setAttribute("aria-labelledby", titleId);
    const form = document.createElement("form");
    form.method = "dialog";
    const heading = Object.assign(document.createElement("h2"), { id: titleId, textContent: title });
    form.append(heading);
    if (description) form.append(Object.assign(document.createElement("p"), { textContent: description }));
    for (const field of fields) {
      const label = document.createElement("label");
      label.className = "field";
      label.append(Object.assign(document.createElement("span"), { textContent: field.label }));
      const input = Object.assign(document.createElement("input"), {
        name: field.name,
        type: field.type || "text",
        value: field.value || "",
        required: Boolean(field.required),
        multiple: Boolean(field.multiple),
      });
      label.append(input);
      form.append(label);
    }
    const actions = document.createElement("div");
    actions.className = "actions";
    const cancel = Object.assign(document.createElement("button"), {
      type: "button",
      className: "button",
      textContent: t("common.cancel"),
    });
    const ok = Object.assign(document.createElement("button"), {
      type: "submit",
      className: danger ? "button danger" : "button primary",
      textContent: okText,
    });
    actions.append(cancel, ok);
    form.append(actions);
    dialog.append(form);
    document.body.append(dialog);
    const finish = (value) => {
      dialog.close();
      dialog.remove();
      resize();
      resolve(value);
    };
    cancel.addEventListener("click", () => finish(null));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish(null);
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      finish(Object.fromEntries(new FormData(form).entries()));
    });
    dialog.showModal();
    resize(420);
    (form.querySelector("input") || ok).focus();
  });
}

export async function openModal(data, actionId = "dealbooks-invoice") {
  if (!sdk) return null;
  return sdk.execute("open_modal", { type: "custom_modal", action_id: actionId, data });
}

export async function closeModal() {
  if (sdk) await sdk.execute("close_modal");
}

let lastHeight = 0;
/** Fit the iframe to the content (panels: 100–750 px). */
export function resize(minimum = 0) {
  if (!sdk) return;
  const content = Math.ceil(document.body.getBoundingClientRect().height);
  const wanted = Math.max(minimum, content);
  const height = document.body.dataset.kind === "panel" ? Math.min(750, Math.max(100, wanted)) : wanted;
  if (Math.abs(height - lastHeight) < 2) return;
  lastHeight = height;
  sdk.execute("resize", { height }).catch(() => {});
}

export function listen(event, handler) {
  if (sdk) sdk.listen(event, handler);
}

/** The page has loaded (or failed to): hide "Loading…", tell assistive tech, fit the frame. */
export function loaded() {
  const loading = document.getElementById("loading");
  if (loading) loading.hidden = true;
  document.querySelector("main")?.setAttribute("aria-busy", "false");
  resize();
}

export function showError(region, error) {
  region.textContent = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  region.hidden = false;
  resize();
}

/** The mark a page sets in the browser's performance timeline once Pipedrive's SDK has
 * initialized: its time is measured from navigation start (Pipedrive hides an extension that has
 * not initialized within 10 s; the browser tests collect it and report the 95th percentile). */
export const SDK_INITIALIZED_MARK = "dealbooks:sdk-initialized";

let sdkStarted = false;
let observing = false;

async function initializeSdk(height) {
  if (sdkStarted) return; // a page initializes once; "Try again" only loads again
  sdkStarted = true;
  if (!(ctx.id && typeof window.AppExtensionsSDK === "function")) return;
  try {
    sdk = await new window.AppExtensionsSDK().initialize({ size: { height } });
    performance.mark(SDK_INITIALIZED_MARK);
    applyTheme(sdk.userSettings?.theme);
    sdk.listen("user_settings_change", ({ data }) => data && applyTheme(data.theme));
  } catch (error) {
    console.warn("Pipedrive SDK unavailable; running standalone", error);
    sdk = null;
  }
}

/**
 * Start a page: the SDK handshake first (Pipedrive hides an iframe that has not initialized
 * within 10 s), then who the user is and their language. Called again by "Try again".
 */
export async function boot({ height }) {
  applyTheme(ctx.theme);
  await initializeSdk(height);
  setLanguage(params.get("lang") || navigator.language);
  document.body.dataset.sdk = sdk ? "pipedrive" : "standalone";
  try {
    session = await (await request("/api/v1/me", { method: "GET" })).json();
    setLanguage(params.get("lang") || session.locale || navigator.language);
  } catch (error) {
    session = null;
    throw error;
  }
  if (!observing) {
    observing = true;
    new ResizeObserver(() => resize()).observe(document.body);
  }
  return session;
}

// ------------------------------------------------------------------ page states

/**
 * What a page can be: working (READY), or one of the states it shows instead, each with its own
 * message and way out (Pipedrive's review: no global "Something went wrong"; Intuit's: support
 * reachable from inside the app).
 */
export const STATE = Object.freeze({
  READY: "ready",
  NOT_CONNECTED: "not-connected",
  NEEDS_RECONNECT: "needs-reconnect",
  ERROR: "error",
  PERMISSION_DENIED: "permission-denied",
});

// A connection that exists but is refused: someone must connect again (QuickBooks in the
// settings; Pipedrive by reinstalling the app).
const RECONNECT_REASONS = new Set(["QUICKBOOKS_RECONNECT_REQUIRED", "PIPEDRIVE_NOT_CONNECTED"]);

/** The state an API error puts a page in. */
export function stateOf(error) {
  if (error instanceof ApiError) {
    if (error.status === 403) return STATE.PERMISSION_DENIED;
    if (error.reason === "QUICKBOOKS_NOT_CONNECTED") return STATE.NOT_CONNECTED;
    if (RECONNECT_REASONS.has(error.reason)) return STATE.NEEDS_RECONNECT;
  }
  return STATE.ERROR;
}

/** The state the company's QuickBooks connection (ConnectionService) puts a page in. */
export function connectionStateOf(quickbooks) {
  switch (quickbooks?.state) {
    case "CONNECTION_STATE_CONNECTED": return STATE.READY;
    case "CONNECTION_STATE_NEEDS_RECONNECT": return STATE.NEEDS_RECONNECT;
    default: return STATE.NOT_CONNECTED;
  }
}

/** The public support page (contact, and the connection's state), in the page's language. */
export const supportUrl = () => `/support?lang=${lang}`;

function stateText(kind, error, onSettings) {
  const who = onSettings ? "settings" : session?.isAdmin ? "admin" : "member";
  switch (kind) {
    case STATE.NOT_CONNECTED:
      return [t("state.notConnected.title"), t(`state.notConnected.${who}`)];
    case STATE.NEEDS_RECONNECT:
      if (error?.reason === "PIPEDRIVE_NOT_CONNECTED") return [t("state.pipedriveRefused.title"), error.message];
      return [t("state.needsReconnect.title"), t(`state.needsReconnect.${who}`)];
    case STATE.PERMISSION_DENIED:
      return [t("state.denied.title"), error ? error.message : t(`state.denied.${document.body.dataset.kind}`)];
    default:
      return [t(`state.error.${document.body.dataset.kind}`), error?.message || t("error.network")];
  }
}

/**
 * Show the page's state in its #state region and on <body data-state>, or clear it (READY).
 * `error`: what went wrong (its message and request id are shown); `retry`: what "Try again"
 * runs; `actions`: more buttons [{label, run}].
 */
export function showState(kind, { error = null, retry = null, actions = [] } = {}) {
  document.body.dataset.state = kind;
  const region = document.getElementById("state");
  if (!region) return;
  if (kind === STATE.READY) {
    region.hidden = true;
    region.replaceChildren();
    resize();
    return;
  }
  const onSettings = document.body.dataset.kind === "settings";
  const [title, text] = stateText(kind, error, onSettings);
  const buttons = [];
  const connect = kind === STATE.NOT_CONNECTED || (kind === STATE.NEEDS_RECONNECT && error?.reason !== "PIPEDRIVE_NOT_CONNECTED");
  if (connect && !onSettings && session?.isAdmin && session.settingsUrl) {
    buttons.push(el("a", { class: "button primary", href: session.settingsUrl, target: "_top", "data-action": "settings" }, t("state.openSettings")));
  }
  if (kind === STATE.ERROR && retry) {
    const again = el("button", { type: "button", class: "button primary", "data-action": "retry" }, t("common.retry"));
    again.addEventListener("click", async () => {
      again.disabled = true;
      again.textContent = t("state.retrying");
      await retry();
    });
    buttons.push(again);
  }
  for (const action of actions) {
    buttons.push(el("button", { type: "button", class: "button", onclick: action.run }, action.label));
  }
  if (kind === STATE.ERROR || kind === STATE.PERMISSION_DENIED) {
    buttons.push(el("a", { class: "button", href: supportUrl(), target: "_blank", rel: "noopener", "data-action": "support" }, t("state.support")));
  }
  const requestId = error instanceof ApiError ? error.problem?.request_id : "";
  region.replaceChildren(...[
    el("h2", { id: "state-title" }, title),
    el("p", { id: "state-text" }, text),
    requestId ? el("p", { class: "request-id", "data-field": "request-id" }, t("state.requestId", { id: requestId })) : null,
    buttons.length ? el("div", { class: "actions start" }, buttons) : null,
  ].filter(Boolean));
  region.setAttribute("aria-labelledby", "state-title");
  region.dataset.state = kind;
  region.className = kind === STATE.ERROR || kind === STATE.PERMISSION_DENIED ? "state bad" : "state warn";
  region.hidden = false;
  resize();
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

export function uuid() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}
