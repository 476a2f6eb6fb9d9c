// The deal panel: the deal's invoices with their status, actions and history, kept fresh.
import {
  STATE, boot, companyName, confirmAction, connectionStateOf, ctx, day, download, el, formDialog,
  listen, moment, ago, moneyOf, openModal, resize, rpc, session, showError, showState, signedToken,
  snackbar, stateOf, t, tCode, tFailure, uuid,
  loaded,
} from "./core.js";
import { installmentItem } from "./share.js";

const $ = (id) => document.getElementById(id);
const dealId = () => String(ctx.selectedIds || ctx.data.dealId || "").split(",")[0];
let dealName = "";
let invoices = [];
let polling = null;
let visible = true;

const STATUS_CLASS = {
  INVOICE_STATE_CREATING: "pending",
  INVOICE_STATE_CREATE_FAILED: "bad",
  INVOICE_STATE_OPEN: "info",
  INVOICE_STATE_PARTIALLY_PAID: "warn",
  INVOICE_STATE_PAID: "good",
  INVOICE_STATE_OVERDUE: "bad",
  INVOICE_STATE_VOIDED: "muted",
  INVOICE_STATE_DELETED: "muted",
};

const stateKey = (state) => state.replace("INVOICE_STATE_", "");
// What the company's settings let this user do (the server refuses the rest anyway).
const may = (action) => session?.may?.[action] !== false;
const numberOf = (invoice) => invoice.docNumber || t("panel.draftNumber");
const isFinal = (state) => ["INVOICE_STATE_VOIDED", "INVOICE_STATE_DELETED", "INVOICE_STATE_CREATE_FAILED", "INVOICE_STATE_CREATING"].includes(state);

function statusLabel(invoice) {
  return el("span", { class: `status ${STATUS_CLASS[invoice.state] || "info"}`, "data-state": stateKey(invoice.state) },
    t(`status.${stateKey(invoice.state)}`));
}

function closeMenus(except) {
  for (const button of document.querySelectorAll("[aria-haspopup=menu][aria-expanded=true]")) {
    if (button === except) continue;
    button.setAttribute("aria-expanded", "false");
    $(button.getAttribute("aria-controls")).hidden = true;
  }
}

function wireMenu(button, menu) {
  const items = () => [...menu.querySelectorAll("[role=menuitem]:not([aria-disabled=true])")];
  const open = () => {
    closeMenus(button);
    button.setAttribute("aria-expanded", "true");
    menu.hidden = false;
    items()[0]?.focus();
    resize();
  };
  const close = () => {
    button.setAttribute("aria-expanded", "false");
    menu.hidden = true;
    button.focus();
  };
  button.addEventListener("click", () => (menu.hidden ? open() : close()));
  menu.addEventListener("keydown", (event) => {
    const list = items();
    const at = list.indexOf(document.activeElement);
    if (event.key === "Escape") close();
    else if (event.key === "ArrowDown") list[(at + 1) % list.length]?.focus();
    else if (event.key === "ArrowUp") list[(at - 1 + list.length) % list.length]?.focus();
    else return;
    event.preventDefault();
  });
  menu.addEventListener("click", () => { menu.hidden = true; button.setAttribute("aria-expanded", "false"); });
}

// One of an invoice's figures, when it has a value: its label and the value.
const figure = (key, field, value) =>
  value ? el("div", {}, el("dt", {}, t(key)), el("dd", { "data-field": field }, value)) : null;

function invoiceItem(invoice, index) {
  const number = numberOf(invoice);
  const menuId = `menu-${index}`;
  const state = invoice.state;
  const actions = [];
  const action = (key, handler, enabled = true) =>
    el("li", { role: "none" }, el("button", { type: "button", role: "menuitem", "aria-disabled": enabled ? null : "true", disabled: !enabled, onclick: handler, "data-action": key }, t(`panel.${key}`)));
  // Made in a QuickBooks company no longer connected: nothing to do there from here.
  const elsewhere = Boolean(invoice.otherQuickbooksCompany);
  const live = !isFinal(state) && !elsewhere;
  if (may("send")) actions.push(action("send", () => sendInvoice(invoice), live));
  actions.push(action("pdf", () => downloadPdf(invoice), Boolean(invoice.quickbooksInvoiceId) && state !== "INVOICE_STATE_DELETED" && !elsewhere));
  if (invoice.quickbooksUrl && state !== "INVOICE_STATE_DELETED") {
    actions.push(el("li", { role: "none" }, el("a", { role: "menuitem", href: invoice.quickbooksUrl, target: "_blank", rel: "noopener noreferrer", "data-action": "open" }, t("panel.open"))));
  }
  if (may("void")) actions.push(action("void", () => voidInvoice(invoice), live || (state === "INVOICE_STATE_PAID" && !elsewhere)));
  if (may("delete")) { // dismissing a refused invoice deletes it too
    if (state === "INVOICE_STATE_CREATE_FAILED") actions.push(action("dismiss", () => dismissInvoice(invoice)));
    else actions.push(action("delete", () => deleteInvoice(invoice), state !== "INVOICE_STATE_DELETED" && state !== "INVOICE_STATE_CREATING" && !elsewhere));
  }
  const otherCompany = elsewhere
    ? el("p", { class: "notice", "data-field": "other-company" }, t("panel.otherCompany"))
    : null;
  const menuButton = el("button", { type: "button", class: "button icon", "aria-haspopup": "menu", "aria-expanded": "false", "aria-controls": menuId, "aria-label": t("panel.menu", { number }) }, "…");
  const menu = el("ul", { id: menuId, role: "menu", hidden: true }, actions);
  const failed = state === "INVOICE_STATE_CREATE_FAILED"
    ? el("p", { class: "error" }, t("panel.failedReason", { reason: tFailure(invoice) }), " ",
        may("create") ? el("button", { type: "button", class: "link", onclick: () => newInvoice() }, t("panel.retry")) : null)
    : null;
  // QuickBooks' total when it differs from the lines': Total and Balance from one source, and
  // the difference said in words, not only in the history.
  const mismatch = invoice.totalsMismatch && invoice.quickbooksTotal;
  const total = mismatch ? invoice.quickbooksTotal : invoice.totals?.total;
  const differs = mismatch
    ? el("p", { class: "notice", "data-field": "mismatch" }, t("panel.mismatch", { quickbooks: moneyOf(invoice.quickbooksTotal), ours: moneyOf(invoice.totals?.total) }))
    : null;
  const item = el("li", { class: "invoice", "data-name": invoice.name, "aria-label": t("panel.invoice", { number }) },
    el("div", { class: "row" },
      el("strong", { class: "number" }, t("panel.invoice", { number })),
      statusLabel(invoice),
      el("div", { class: "menu" }, menuButton, menu)),
    el("dl", { class: "figures" },
      el("div", {}, el("dt", {}, t("panel.total")), el("dd", { "data-field": "total" }, moneyOf(total), mismatch ? " ≠" : null)),
      invoice.taxCalculatedByQuickbooks
        ? el("div", {}, el("dt", {}, t("panel.salesTax")), el("dd", { "data-field": "tax" },
            invoice.quickbooksTotal ? moneyOf(invoice.totals?.tax) : t("panel.taxPending")))
        : null,
      el("div", {}, el("dt", {}, t("panel.balance")), el("dd", { "data-field": "balance" }, moneyOf(invoice.totals?.balance))),
      el("div", {}, el("dt", {}, t("panel.due")), el("dd", { "data-field": "due" }, day(invoice.dueDate))),
      figure("panel.terms", "terms", invoice.termsName),
      figure("panel.class", "class", invoice.className),
      figure("panel.location", "location", invoice.locationName)),
    payLink(invoice, index, number),
    differs,
    otherCompany,
    failed);
  wireMenu(menuButton, menu);
  return item;
}

// The invoice's payment link (QuickBooks' InvoiceLink), while there is something to pay: shown,
// and copied with one click. The copied state outlives the list's re-renders for a moment.
let copied = { name: "", state: "", until: 0 };
const COPIED_MS = 4000;

function payLink(invoice, index, number) {
  const link = invoice.paymentLink;
  if (!link) return null;
  const inputId = `pay-link-${index}`;
  const state = copied.name === invoice.name && Date.now() < copied.until ? copied.state : "";
  const input = el("input", { id: inputId, type: "url", readonly: true, value: link, class: "pay-link-url", "data-field": "payment-link", "aria-describedby": `${inputId}-hint`, onfocus: (e) => e.target.select() });
  const button = el("button", { type: "button", class: "button", "data-action": "copy-link", "data-copied": state || null, "aria-label": `${t("panel.copy")} — ${t("panel.payLink")}`, onclick: () => copyLink(invoice, input, number) },
    state === "copied" ? `✓ ${t("panel.copied")}` : t("panel.copy"));
  return el("div", { class: "pay-link" },
    el("label", { for: inputId }, t("panel.payLink")),
    el("div", { class: "pay-link-row" }, input, button),
    el("p", { id: `${inputId}-hint`, class: "muted", role: "status", "data-field": "copy-status" },
      state === "manual" ? t("panel.copyManually") : t("panel.payLinkHint")));
}

async function copyLink(invoice, input, number) {
  let state = "manual";
  try {
    // The Clipboard API needs a secure context and, inside Pipedrive's iframe, the
    // clipboard-write permission; either may be missing, so fall back to a selection.
    if (!navigator.clipboard?.writeText) throw new Error("no clipboard");
    await navigator.clipboard.writeText(invoice.paymentLink);
    state = "copied";
  } catch {
    input.focus();
    input.select();
    try {
      if (document.execCommand("copy")) state = "copied";
    } catch { /* selected: the user copies it */ }
  }
  copied = { name: invoice.name, state, until: Date.now() + COPIED_MS };
  render();
  if (state === "copied") {
    snackbar(t("panel.linkCopied", { number }));
    setTimeout(() => { if (copied.name === invoice.name && Date.now() >= copied.until) render(); }, COPIED_MS + 50);
  }
  // The list was drawn anew: keep the user where they were (the selected link to copy by hand).
  const scope = document.querySelector(`[data-name="${CSS.escape(invoice.name)}"]`);
  if (state === "copied") scope?.querySelector("[data-action=copy-link]")?.focus();
  else {
    const again = scope?.querySelector("[data-field=payment-link]");
    again?.focus();
    again?.select();
  }
}

// A dismissed refusal (deleted before QuickBooks ever had it) leaves the list; its history stays.
const shown = () => invoices.filter((i) => i.state !== "INVOICE_STATE_DELETED" || i.quickbooksInvoiceId);

function render() {
  const list = $("invoices");
  // A live change redraws the list: the invoice menu the user has open stays open, with its
  // focus, on the redrawn invoice (else it would close under her cursor).
  const opened = list.querySelector("[aria-haspopup=menu][aria-expanded=true]")?.closest("li.invoice")?.dataset.name;
  const focused = document.activeElement?.closest?.("[role=menu]") ? document.activeElement.dataset.action : null;
  list.replaceChildren(...shown().map(invoiceItem));
  const button = opened && list.querySelector(`li.invoice[data-name="${CSS.escape(opened)}"] [aria-haspopup=menu]`);
  if (button) {
    button.click(); // opened as the user opens it: focus on its first enabled item
    if (focused) $(button.getAttribute("aria-controls")).querySelector(`[data-action="${CSS.escape(focused)}"]:not([disabled])`)?.focus();
  }
  if (!shown().length) list.append(el("li", { class: "muted empty" }, t("panel.empty")));
  const synced = invoices.map((i) => i.lastSyncTime).filter(Boolean).sort().at(-1);
  $("last-synced").textContent = synced ? t("panel.lastSynced", { when: ago(synced) }) : t("panel.neverSynced");
  $("last-synced").title = synced ? moment(synced) : "";
  resize();
}

let historyLoaded = false;
function actorName(actor, name) {
  if (name) return name;
  if (!actor) return t("actor.system");
  if (actor === "quickbooks") return t("actor.quickbooks");
  const user = /^pipedrive-user-(\d+)$/.exec(actor);
  if (user) return user[1] === String(session.userId) ? t("actor.you") : t("actor.user", { id: user[1] });
  return actor;
}

/** One line of history in the user's language; the server's English sentence as a tooltip. */
function historyItem(event) {
  const number = invoices.find((i) => i.name === event.invoice)?.docNumber;
  const key = `event.${event.type}`;
  const what = t(key) === key ? event.description || event.type : t(key);
  const amount = event.amount?.currencyCode ? ` · ${moneyOf(event.amount)}` : "";
  return el("li", { title: event.description, "data-type": event.type },
    el("span", {}, number ? `${t("panel.invoice", { number })} · ${what}${amount}` : `${what}${amount}`),
    el("span", { class: "muted" }, " · ", moment(event.occurTime), " · ", actorName(event.actor, event.actorDisplayName)));
}

/** The filter lists the deal's invoices that QuickBooks numbered; the one chosen is kept. */
function renderHistoryFilter() {
  const select = $("history-filter");
  const chosen = select.value;
  const numbered = invoices.filter((i) => i.docNumber);
  select.replaceChildren(
    el("option", { value: "" }, t("panel.allInvoices")),
    ...numbered.map((i) => el("option", { value: i.name }, t("panel.invoice", { number: i.docNumber }))));
  select.value = numbered.some((i) => i.name === chosen) ? chosen : "";
  select.hidden = numbered.length < 2;
}

let historyToken = "";
/** The newest page (``more``: the next older one, added below) of the history shown. */
async function loadHistory(more = false) {
  historyLoaded = true;
  const invoice = $("history-filter").value;
  const { events, nextPageToken } = await rpc("InvoiceService", "ListInvoiceEvents", {
    parent: dealName,
    pageSize: 20,
    filter: invoice ? `invoice = "${invoice}"` : "",
    pageToken: more ? historyToken : "",
  });
  historyToken = nextPageToken || "";
  $("history-more").hidden = !historyToken;
  const items = events.map(historyItem);
  if (more) $("history").append(...items);
  else $("history").replaceChildren(...(items.length ? items : [el("li", { class: "muted" }, t("panel.noHistory"))]));
  resize();
}

// The runs of the company's invoicing rules on this deal: a failed one says why, with Retry for
// those who may create invoices; a pending one says the invoice is on its way.
let ruleRuns = [];
function ruleRunItem(run) {
  if (run.state === "INVOICE_RULE_RUN_STATE_PENDING") {
    return el("li", { class: "invoice rule-run", "data-state": "pending" }, el("span", { class: "muted" }, t("panel.rulePending")));
  }
  const reason = tCode({ code: run.failureCode, params: run.failureParams, message: run.failureMessage });
  const item = el("li", { class: "invoice rule-run", "data-state": "failed" },
    el("p", { class: "error", role: "alert" }, t("panel.ruleFailed", { reason })));
  if (may("create")) {
    item.append(el("button", { type: "button", class: "button", onclick: () => retryRuleRun(run) }, t("panel.ruleRetry")));
  }
  return item;
}

function renderRuleRuns() {
  const open = ruleRuns.filter((r) => r.state !== "INVOICE_RULE_RUN_STATE_SUCCEEDED");
  $("rule-runs").replaceChildren(...open.map(ruleRunItem));
  $("rule-runs").hidden = !open.length;
}

async function retryRuleRun(run) {
  await act(() => rpc("InvoiceService", "RetryInvoiceRuleRun", { name: run.name }), () => t("panel.ruleRetried"));
}

/** The deal's value, what its invoices ask for and have been paid, and what is left to invoice. */
async function loadSummary() {
  const { dealInvoicing: figures } = await rpc("InvoiceService", "GetDealInvoicing", { name: `${dealName}/invoicing` });
  const box = $("deal-summary");
  for (const dd of box.querySelectorAll("[data-figure]")) {
    const value = figures[dd.dataset.figure];
    dd.parentElement.hidden = !value?.currencyCode;
    if (!value?.currencyCode) continue;
    const over = dd.dataset.figure === "remaining" && value.amount.startsWith("-");
    dd.textContent = over ? t("summary.over", { amount: moneyOf({ ...value, amount: value.amount.slice(1) }) }) : moneyOf(value);
    dd.classList.toggle("warning", over);
  }
  box.hidden = !figures.currencyCode;
  const others = figures.otherCurrencyCodes || [];
  $("deal-summary-note").hidden = !others.length;
  $("deal-summary-note").textContent = others.length ? t("summary.otherCurrencies", { currencies: others.join(", ") }) : "";
}

/** The deal's installment schedules, each installment with its state (its invoice once made),
 * Retry on a refused one and "Cancel the installments to come" under a schedule with some. */
function renderInstallments(installments, found) {
  const mayCreate = may("create");
  $("installments-section").hidden = !installments.length;
  $("installment-list").replaceChildren(...installments.map((i) => installmentItem(i, found, mayCreate ? retryInstallment : null)));
  const pending = installments.filter((i) => i.state === "INSTALLMENT_STATE_SCHEDULED");
  const schedules = [...new Set(pending.map((i) => i.name.split("/installments/")[0]))];
  $("installment-actions").replaceChildren(...(mayCreate ? schedules.map((name) =>
    el("button", { type: "button", class: "button", "data-action": "cancel-schedule", onclick: () => cancelSchedule(name) }, t("installments.cancelRest"))) : []));
}

async function retryInstallment(installment) {
  try {
    const { installment: after } = await rpc("InstallmentService", "RetryInstallment", { name: installment.name });
    await snackbar(after.state === "INSTALLMENT_STATE_FAILED" ? t("installments.refusedAgain") : t("installments.retried"));
  } catch (error) {
    showError($("error"), error);
  }
  await load();
}

async function cancelSchedule(name) {
  const ok = await confirmAction({ title: t("installments.cancelTitle"), description: t("installments.cancelText"), okText: t("installments.cancelOk"), danger: true });
  if (!ok) return;
  try {
    await rpc("InstallmentService", "CancelInstallmentSchedule", { name });
    await snackbar(t("installments.cancelDone"));
  } catch (error) {
    showError($("error"), error);
  }
  await load();
}

async function load() {
  const [{ invoices: found }, { installments }, { runs = [] }] = await Promise.all([
    rpc("InvoiceService", "ListInvoices", { parent: dealName, pageSize: 50 }),
    rpc("InstallmentService", "ListInstallments", { parent: dealName }),
    rpc("InvoiceService", "ListInvoiceRuleRuns", { parent: dealName }),
  ]);
  ruleRuns = runs;
  renderRuleRuns();
  renderInstallments(installments, found);
  const changed = JSON.stringify(found.map((i) => [i.name, i.state, i.totals?.balance?.amount, i.updateTime])) !==
    JSON.stringify(invoices.map((i) => [i.name, i.state, i.totals?.balance?.amount, i.updateTime]));
  invoices = found;
  $("error").hidden = true;
  render();
  renderHistoryFilter();
  // Only when the invoices changed: the summary costs a Pipedrive read (the deal's value). It
  // is a help, not the panel: without it (Pipedrive unreachable) the list stays.
  if (changed || !historyLoaded) {
    await Promise.all([loadHistory(), loadSummary().catch(() => { $("deal-summary").hidden = true; })]);
  }
  resize();
}

/** One load at a time; changes arriving meanwhile make one more. */
let loading = null;
let loadAgain = false;
function reload() {
  if (loading) { loadAgain = true; return loading; }
  loading = load().catch((error) => showError($("error"), error)).finally(() => {
    loading = null;
    if (loadAgain) { loadAgain = false; reload(); }
  });
  return loading;
}

// The service pushes each change of the deal's invoices down a stream (server-sent events read
// with fetch, which can send the token); while it is open the panel does not poll. When it is
// down, the panel polls and opens a new stream later (the service ends each one after a few
// minutes, and the next one starts with a fresh token).
let live = false;
let streamDelay = 1000;
function setLive(on) {
  live = on;
  document.body.dataset.live = on ? "on" : "off";
  if (on) clearTimeout(polling);
  else schedule();
}

async function follow() {
  try {
    const response = await fetch(`/api/v1/deal-changes?parent=${encodeURIComponent(dealName)}`, {
      headers: { authorization: `Bearer ${await signedToken()}` },
    });
    if (!response.ok || !response.body) throw new Error(`stream: HTTP ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const type = /^event: (\w+)/m.exec(buffer.slice(0, end))?.[1];
        buffer = buffer.slice(end + 2);
        if (type === "ready") { setLive(true); streamDelay = 1000; reload(); }
        else if (type === "changed") reload();
      }
    }
  } catch {
    // the panel polls until the next stream opens
  }
  if (live) setLive(false);
  setTimeout(follow, streamDelay);
  streamDelay = Math.min(streamDelay * 2, 60000);
}

function schedule() {
  clearTimeout(polling);
  if (live) return;
  // Without the stream: status changes arrive by QuickBooks webhooks within seconds; the panel
  // follows them without a click, faster while an invoice is being created.
  const busy = invoices.some((i) => i.state === "INVOICE_STATE_CREATING");
  polling = setTimeout(async () => {
    if (!live && visible && document.visibilityState === "visible") await reload();
    schedule();
  }, busy ? 1500 : 3000);
}

/** QuickBooks (or Pipedrive) connected or not: the page's state, and whether it can invoice. */
function showConnection(kind, error = null) {
  showState(kind, { error });
  const usable = kind === STATE.READY;
  $("new-invoice").disabled = !usable;
  $("new-invoice").hidden = !may("create");
  $("refresh").disabled = !usable;
}

/** An action failed: a lost connection changes the page's state; anything else is said inline. */
function failed(error) {
  const kind = stateOf(error);
  if (kind === STATE.NOT_CONNECTED || kind === STATE.NEEDS_RECONNECT) showConnection(kind, error);
  else showError($("error"), error);
}

async function act(run, done) {
  try {
    const result = await run();
    await load();
    if (done) await snackbar(done(result));
  } catch (error) {
    failed(error);
    await load().catch(() => {});
  }
}

async function voidInvoice(invoice) {
  const number = numberOf(invoice);
  if (!(await confirmAction({ title: t("panel.voidTitle", { number }), description: t("panel.voidText"), okText: t("panel.voidOk"), danger: true }))) return;
  await act(() => rpc("InvoiceService", "VoidInvoice", { name: invoice.name, requestId: uuid() }), () => t("panel.voided", { number }));
}

async function deleteInvoice(invoice) {
  const number = numberOf(invoice);
  if (!(await confirmAction({ title: t("panel.deleteTitle", { number }), description: t("panel.deleteText"), okText: t("panel.deleteOk"), danger: true }))) return;
  await act(() => rpc("InvoiceService", "DeleteInvoice", { name: invoice.name, requestId: uuid() }), () => t("panel.deleted", { number }));
}

async function dismissInvoice(invoice) {
  const number = numberOf(invoice);
  if (!(await confirmAction({ title: t("panel.dismissTitle", { number }), description: t("panel.dismissText"), okText: t("panel.dismissOk") }))) return;
  await act(() => rpc("InvoiceService", "DeleteInvoice", { name: invoice.name, requestId: uuid() }), () => t("panel.dismissed", { number }));
}

async function sendInvoice(invoice) {
  const number = numberOf(invoice);
  const customer = invoice.customer?.email || "";  // one address, or the customer's several
  const answer = await formDialog({
    title: t("panel.sendTitle", { number }),
    okText: t("panel.sendOk"),
    fields: [{ name: "to", label: t("panel.recipient"), type: "email", multiple: true, value: customer, required: true }],
  });
  if (!answer) return;
  // Unchanged: to the invoice's own recipients (its email, CC to the customer's others);
  // another address replaces them.
  const to = answer.to.replace(/\s/g, "") === customer.replace(/\s/g, "") ? "" : answer.to;
  await act(() => rpc("InvoiceService", "SendInvoice", { name: invoice.name, to, requestId: uuid() }), () => t("panel.sent", { number, to: answer.to }));
}

async function downloadPdf(invoice) {
  try {
    await download(`/api/v1/invoice-pdf?name=${encodeURIComponent(invoice.name)}`, `Invoice-${numberOf(invoice)}.pdf`);
  } catch (error) {
    failed(error);
  }
}

async function unlinkContact() {
  try {
    const { draft } = await rpc("InvoiceService", "PrepareInvoice", { parent: dealName });
    if (!draft.customerLinked) {
      await snackbar(t("panel.notLinked"));
      return;
    }
    if (!(await confirmAction({ title: t("panel.unlinkTitle"), description: t("panel.unlinkText"), okText: t("panel.unlinkOk"), danger: true }))) return;
    await rpc("CustomerService", "UnlinkCustomer", { name: draft.customerLink });
    await snackbar(t("panel.unlinked"));
  } catch (error) {
    failed(error);
  }
}

async function newInvoice() {
  const result = await openModal({ dealId: dealId() });
  if (result === null) {
    // Standalone (no Pipedrive host): the form opens in this tab.
    const query = new URLSearchParams(window.location.search);
    query.set("data", JSON.stringify({ dealId: dealId() }));
    window.location.href = `/ui/invoice?${query}`;
    return;
  }
  await load();
}

async function refresh() {
  const button = $("refresh");
  button.disabled = true;
  button.textContent = t("panel.refreshing");
  try {
    await rpc("InvoiceService", "RefreshInvoices", { parent: dealName });
    await load();
    button.disabled = false;
  } catch (error) {
    button.disabled = false;
    failed(error);
  } finally {
    button.textContent = t("panel.refresh");
  }
}

let started = false;

async function start() {
  try {
    await boot({ height: 320 });
    dealName = `companies/${session.companyId}/deals/${dealId()}`;
    $("settings-link").href = session.settingsUrl || "#";
    const [{ connection }] = await Promise.all([
      rpc("ConnectionService", "GetConnection", { name: `${companyName()}/connection` }),
      load(),
    ]);
    showConnection(connectionStateOf(connection.quickbooks));
  } catch (error) {
    showState(stateOf(error), { error, retry: start });
    return;
  } finally {
    loaded();
  }
  if (started) return;
  started = true;
  // The SDK exists once the page has booted.
  listen("close_custom_modal", () => load().catch((error) => showError($("error"), error)));
  listen("visibility", ({ data }) => { visible = data?.is_visible !== false; if (visible) load().catch(() => {}); });
  schedule();
  follow();
  const created = new URLSearchParams(window.location.search).get("created");
  if (created) await snackbar(t("panel.created", { number: created }));
}

function main() {
  $("new-invoice").addEventListener("click", newInvoice);
  $("refresh").addEventListener("click", refresh);
  const historyError = (error) => showError($("error"), error);
  $("history-filter").addEventListener("change", () => loadHistory().catch(historyError));
  $("history-more").addEventListener("click", () => loadHistory(true).catch(historyError));
  $("unlink").addEventListener("click", unlinkContact);
  wireMenu($("app-menu-button"), $("app-menu"));
  document.addEventListener("click", (event) => {
    if (!event.target.closest(".menu")) closeMenus();
  });
  return start();
}

main();
