// Bulk invoicing (issue 17), a custom modal the settings open: the deals won in a month that have
// no invoice, each with a checkbox, and one click to invoice the selected ones. Opened from
// Pipedrive's deals list, it lists the won deals among those selected there (`selectedIds`,
// comma-separated [U]: the reference documents the parameter for a deal's details only; a
// list's selection most likely comes the same way) instead of a month's. Each deal's outcome
// shows on its row as QuickBooks answers its batch (InvoiceDeals streams them).
import {
  STATE, boot, companyName, confirmAction, el, loaded, moneyOf, moment, rpc, rpcStream, showError,
  showState, snackbar, stateOf, t, tFailure, tProblem, uuid, ctx, params,
} from "./core.js";

const $ = (id) => document.getElementById(id);
const form = () => $("bulk-form");
const body = () => $("deals").querySelector("tbody");
let deals = []; // the WonDeals listed
// Each deal's request id on this page: a run sent again after its answer was lost (the network,
// a closed tab) repeats it, so the server answers the invoice it made rather than making another.
const requestIds = new Map();
let running = false;
// The deals selected in Pipedrive's deals list, when the modal was opened from there (its
// `view` is the list's): never the month's deals instead, whatever the selection says.
const selection = [...new Set((ctx.selectedIds || "").split(",").map((id) => id.trim()).filter((id) => /^[1-9]\d*$/.test(id)))];
const fromList = params.get("view") === "list" || selection.length > 0;

const boxes = () => [...body().querySelectorAll("input[type=checkbox]")];
const selected = () => boxes().filter((box) => box.checked && !box.disabled).map((box) => box.value);
const rowOf = (deal) => body().querySelector(`tr[data-deal="${CSS.escape(deal)}"]`);

function showCount() {
  const count = selected().length;
  const button = $("invoice-all");
  button.textContent = t("bulk.invoiceSelected", { count });
  button.disabled = running || count === 0;
  const open = boxes().filter((box) => !box.disabled);
  $("select-all").checked = open.length > 0 && open.every((box) => box.checked);
  $("select-all").disabled = running || open.length === 0;
}

function row(deal) {
  const box = el("input", { type: "checkbox", value: deal.name, checked: true, "aria-label": t("bulk.selectDeal", { title: deal.title }) });
  box.addEventListener("change", showCount);
  return el("tr", { "data-deal": deal.name },
    el("td", {}, box),
    el("td", { class: "title" }, deal.title),
    el("td", {}, moment(deal.wonTime)),
    el("td", { class: "amount" }, moneyOf(deal.value)),
    el("td", { class: "outcome", "aria-live": "polite" }),
  );
}

function summarize(answer) {
  const [found, none] = fromList ? ["bulk.foundSelected", "bulk.noneSelected"] : ["bulk.found", "bulk.none"];
  const parts = [t(deals.length ? found : none, { count: deals.length })];
  if (answer.notWonCount) parts.push(t("bulk.notWon", { count: answer.notWonCount }));
  if (answer.invoicedCount) parts.push(t("bulk.invoicedAlready", { count: answer.invoicedCount }));
  if (answer.hiddenCount) parts.push(t("bulk.hidden", { count: answer.hiddenCount }));
  if (answer.more) parts.push(t("bulk.more"));
  $("summary").textContent = parts.join(" ");
}

async function load() {
  $("error").hidden = true;
  if (fromList && !selection.length) {
    deals = [];
    body().replaceChildren();
    $("deals").hidden = true;
    $("summary").textContent = t("bulk.noneChosen");
    showCount();
    return;
  }
  const month = form().elements.month.value;
  const chosen = selection.map((id) => `${companyName()}/deals/${id}`);
  const answer = await rpc("BulkInvoiceService", "ListWonDeals", { parent: companyName(), month, deals: chosen });
  form().elements.month.value = answer.month;
  deals = answer.deals || [];
  body().replaceChildren(...deals.map(row));
  $("deals").hidden = deals.length === 0;
  $("progress").hidden = true;
  summarize(answer);
  showCount();
}

async function loadTemplates() {
  const { templates = [] } = await rpc("SettingsService", "ListInvoiceTemplates", { parent: companyName() });
  const fallback = templates.find((template) => template.default);
  form().elements.template.replaceChildren(
    el("option", { value: "" }, fallback ? t("bulk.defaultTemplate", { name: fallback.displayName }) : t("bulk.noTemplate")),
    ...templates.map((template) => el("option", { value: template.name }, template.displayName)),
  );
}

/** What became of one deal, on its row: the invoice and its state, or why it was not made. */
function show(answer, tally) {
  const cell = rowOf(answer.deal)?.querySelector(".outcome");
  if (!cell) return;
  const box = rowOf(answer.deal).querySelector("input");
  const invoice = answer.invoice;
  if (invoice && invoice.state !== "INVOICE_STATE_CREATE_FAILED") {
    tally.made += 1;
    box.checked = false;
    box.disabled = true; // invoiced: nothing more to do here
    const state = invoice.state.replace("INVOICE_STATE_", "");
    const words = [el("span", { class: `status ${state === "CREATING" ? "pending" : "good"}`, "data-state": state }, t(`status.${state}`))];
    const number = invoice.docNumber ? t("panel.invoice", { number: invoice.docNumber }) : "";
    cell.replaceChildren(...words, " ", invoice.quickbooksUrl
      ? el("a", { href: invoice.quickbooksUrl, target: "_blank", rel: "noopener noreferrer" }, number || t("panel.open"))
      : number);
    cell.dataset.outcome = "invoiced";
    return;
  }
  tally.failed += 1;
  requestIds.delete(answer.deal); // nothing was made: a new try is a new request
  const error = answer.error;
  const text = invoice
    ? tFailure(invoice)
    : tProblem({
      reason: error.reason,
      metadata: error.metadata,
      detail: error.message,
      errors: (error.fieldViolations || []).map((v) => ({ field: v.field, code: v.reason, params: v.params, detail: v.description })),
    });
  cell.replaceChildren(el("span", { class: "status bad" }, t("bulk.notInvoiced")), " ", el("span", { class: "reason" }, text));
  cell.dataset.outcome = "failed";
}

async function invoiceSelected(event) {
  event.preventDefault();
  const chosen = selected();
  if (!chosen.length || running) return;
  const ok = await confirmAction({
    title: t("bulk.confirmTitle", { count: chosen.length }),
    description: t("bulk.confirmText"),
    okText: t("bulk.confirmOk", { count: chosen.length }),
  });
  if (!ok) return;
  running = true;
  showCount();
  $("error").hidden = true;
  const tally = { made: 0, failed: 0 };
  for (const deal of chosen) {
    if (!requestIds.has(deal)) requestIds.set(deal, `bulk-${uuid()}`);
    const cell = rowOf(deal).querySelector(".outcome");
    cell.replaceChildren(el("span", { class: "status pending" }, t("bulk.waiting")));
    cell.dataset.outcome = "waiting";
  }
  const progress = $("progress");
  progress.hidden = false;
  const tell = () => (progress.textContent = t("bulk.progress", { done: tally.made + tally.failed, count: chosen.length }));
  tell();
  try {
    await rpcStream("BulkInvoiceService", "InvoiceDeals", {
      parent: companyName(),
      template: form().elements.template.value,
      deals: chosen.map((deal) => ({ deal, requestId: requestIds.get(deal) })),
    }, (answer) => {
      show(answer, tally);
      tell();
    });
    progress.textContent = t("bulk.finished", { made: tally.made, failed: tally.failed });
    await snackbar(t("bulk.finished", { made: tally.made, failed: tally.failed }));
  } catch (error) {
    // The run was cut short: what QuickBooks made stays made (the server finishes it), and
    // sending the same deals again answers those rather than invoicing them twice.
    showError($("error"), error);
    progress.textContent = t("bulk.interrupted", { done: tally.made + tally.failed, count: chosen.length });
  } finally {
    running = false;
    showCount();
  }
}

async function start() {
  try {
    form().elements.month.closest("label").hidden = fromList;
    await boot({ height: 640 });
    await Promise.all([loadTemplates(), load()]);
    form().hidden = false;
    showState(STATE.READY);
  } catch (error) {
    form().hidden = true;
    showState(stateOf(error), { error, retry: start });
  } finally {
    loaded();
  }
}

function main() {
  form().addEventListener("submit", invoiceSelected);
  form().elements.month.addEventListener("change", () => {
    if (!running) load().catch((error) => showError($("error"), error));
  });
  $("select-all").addEventListener("change", () => {
    for (const box of boxes()) if (!box.disabled) box.checked = $("select-all").checked;
    showCount();
  });
  start();
}

main();
