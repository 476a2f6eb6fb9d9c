// The invoice form (Pipedrive custom modal): prefilled from PrepareInvoice, live totals,
// customer search, field errors beside their fields, and one invoice however often it is sent.
import {
  ApiError, STATE, boot, closeModal, ctx, currencyPlaces, day, el, money, resize, rpc, session,
  showError, showState, snackbar, stateOf, t, tCode, tFailure, uuid,
  loaded,
} from "./core.js";
import * as D from "./decimal.js";
import { installmentItem, wireShare } from "./share.js";

const $ = (id) => document.getElementById(id);
const form = () => $("invoice-form");
let dealName = "";
let draft = null;
let options = null;
let chosenCustomer = null; // {quickbooksCustomerId, displayName, ...}
let lineSeq = 0;
// One id for this form: a second click, a retry after a timeout or a reload of the request
// all name the same creation, so QuickBooks never gets two invoices from it (AIP-155).
let requestId = uuid();
let submitting = false;
// The online payment options go to QuickBooks only when a template or the user set them:
// otherwise QuickBooks applies the company's QuickBooks Payments settings.
let paymentsChosen = false;

const dealId = () => String(ctx.data.dealId || ctx.selectedIds || "").split(",")[0];
const currency = () => form().elements.currency.value || draft?.invoice.currencyCode || "USD";

// ------------------------------------------------------------------ lines

function lineRow(line = {}) {
  const index = lineSeq++;
  const isDiscount = line.kind === "LINE_KIND_DISCOUNT";
  const row = el("div", { class: "line", "data-kind": isDiscount ? "discount" : "item", role: "group" });
  const input = (name, label, attrs = {}) =>
    el("label", { class: `field ${name}` }, el("span", {}, label),
      el("input", { name, "data-line-field": name, ...attrs }));
  const itemSelect = el("select", { name: "itemId", "data-line-field": "item_id" },
    el("option", { value: "" }, t("form.defaultItem")),
    ...(options?.items || []).map((item) => el("option", { value: item.id, selected: item.id === line.itemId }, item.displayName)));
  const taxSelect = el("select", { name: "taxCodeId", "data-line-field": "tax_code_id" },
    el("option", { value: "" }, t(options?.automatedSalesTax ? "form.taxAsItem" : "form.noTaxCode")),
    ...(options?.taxCodes || []).map((code) => el("option", { value: code.id, selected: code.id === line.taxCodeId }, code.displayName)));
  row.append(
    input("name", isDiscount ? t("form.discountLine") : t("form.lineName"), { value: line.name || "", required: !isDiscount, maxlength: 100 }),
    input("description", t("form.lineDescription"), { value: line.description || "", maxlength: 4000 }),
    input("quantity", t("form.quantity"), { value: line.quantity || "1", inputmode: "decimal" }),
    input("unitPrice", t("form.unitPrice"), { value: line.unitPrice || "0", inputmode: "decimal", "data-line-field": "unit_price" }),
    el("div", { class: "field discount" },
      el("label", { for: `discount-${index}` }, t("form.discount")),
      el("div", { class: "pair" },
        el("input", { id: `discount-${index}`, name: "discount", "data-line-field": "discount", value: line.discount && line.discount !== "0" ? line.discount : "", inputmode: "decimal" }),
        el("select", { name: "discountType", "aria-label": t("form.discountType") },
          el("option", { value: "DISCOUNT_TYPE_PERCENTAGE", selected: line.discountType !== "DISCOUNT_TYPE_AMOUNT" }, "%"),
          el("option", { value: "DISCOUNT_TYPE_AMOUNT", selected: line.discountType === "DISCOUNT_TYPE_AMOUNT" }, t("form.amountOff"))))),
    input("taxRate", t("form.taxRate"), { value: line.taxRate || "", inputmode: "decimal", "data-line-field": "tax_rate" }),
    el("label", { class: "field taxCode" }, el("span", {}, t("form.taxCode")), taxSelect),
    el("label", { class: "field item" }, el("span", {}, t("form.item")), itemSelect),
    el("output", { class: "amount", "aria-label": t("form.amount") }),
    el("button", { type: "button", class: "button icon remove", onclick: () => { row.remove(); renumber(); recompute(); resize(); } }, "×"),
  );
  row.dataset.taxMethod = line.taxMethod || "TAX_METHOD_EXCLUSIVE";
  if (options?.automatedSalesTax) {
    // QuickBooks computes the sales tax: a line says only whether it is taxable.
    row.querySelector(".field.taxRate").hidden = true;
    row.querySelector("[name=taxRate]").value = "";
    row.dataset.taxMethod = "TAX_METHOD_NONE";
  }
  row.dataset.kind = isDiscount ? "discount" : "item";
  row.addEventListener("input", recompute);
  taxSelect.addEventListener("change", () => { taxedByCode(row); recompute(); });
  taxedByCode(row);
  return row;
}

// Outside the US QuickBooks charges a coded line its code's rate: the preview takes it too
// (as the server does), and the rate is not typed over while a code with a rate is chosen.
// A US company without automated sales tax charges its one sales tax rate on taxable lines.
// The line then keeps the code's rates (taxParts), which QuickBooks rounds one by one.
function taxedByCode(row) {
  const chosen = row.querySelector("[name=taxCodeId]").value;
  const rateInput = row.querySelector("[name=taxRate]");
  delete row.dataset.taxParts;
  if (options?.salesTaxCodes?.length) {
    const sales = options.salesTaxCodes.find((c) => c.id === form().elements.salesTaxCode.value);
    const rate = chosen === "NON" ? "0" : chosen === "TAX" && sales ? rateOn(sales) : null;
    rateInput.readOnly = rate !== null;
    if (rate === null) return;
    rateInput.value = rate;
    row.dataset.taxMethod = D.parse(rate) === 0n ? "TAX_METHOD_NONE" : "TAX_METHOD_EXCLUSIVE";
    if (chosen === "TAX") row.dataset.taxParts = JSON.stringify(partsOf(sales));
    return;
  }
  const code = (options?.taxCodes || []).find((c) => c.id === chosen);
  const applies = !options?.automatedSalesTax && code && code.detail !== "";
  rateInput.readOnly = Boolean(applies);
  if (!applies) return;
  const rate = rateOn(code);
  rateInput.value = rate;
  row.dataset.taxParts = JSON.stringify(partsOf(code));
  const zero = D.parse(rate) === 0n;
  if (zero) row.dataset.taxMethod = "TAX_METHOD_NONE";
  else if (row.dataset.taxMethod === "TAX_METHOD_NONE") row.dataset.taxMethod = "TAX_METHOD_EXCLUSIVE";
}

// The rate of the period covering the invoice date, else ``rate`` (today's).
function inForce(periods, rate) {
  const day = form().elements.issueDate.value;
  const period = (periods || []).find((p) => (!p.startDate || p.startDate <= day) && (!p.endDate || day <= p.endDate));
  return day && period ? period.rate : rate;
}

// A code's rate on the invoice date: QuickBooks charges the rate in force then (a rate that
// changed over time has its periods in the options), else today's.
function rateOn(code) {
  return inForce(options?.taxRateHistory?.[code.id]?.periods, code.detail);
}

// The rates a code charges on the invoice date, as the server's TaxCodeOption.parts_on: its
// QuickBooks rates (each in force then), else the code as one rate; the zero ones left out.
function partsOf(code) {
  const rates = options?.taxCodeRates?.[code.id]?.rates || [];
  const parts = rates.length
    ? rates.map((r) => ({ id: r.rateId, rate: inForce(r.periods, r.rate) }))
    : [{ id: `code ${code.id}`, rate: rateOn(code) }];
  return parts.filter((p) => D.parse(p.rate) !== 0n);
}

function rows() {
  return [...$("lines").querySelectorAll(".line")];
}

function renumber() {
  rows().forEach((row, i) => {
    row.setAttribute("aria-label", `${t("form.lines")} ${i + 1}`);
    row.querySelector(".remove").setAttribute("aria-label", t("form.removeLine", { n: i + 1 }));
    for (const input of row.querySelectorAll("[data-line-field]")) {
      input.dataset.field = `lines[${i}].${input.dataset.lineField}`;
    }
  });
}

/** Mirrors the domain's InvoiceLine arithmetic (net rounded once, tax per line; totals_of
 * rounds the tax of a line taxed at its code's rates per rate instead). */
function lineFigures(row, places) {
  const value = (name) => D.parse(row.querySelector(`[name=${name}]`).value || "0");
  const qty = value("quantity");
  const price = value("unitPrice");
  const pct = value("discount");
  const rate = value("taxRate");
  if (qty === null || price === null || pct === null || rate === null) return null;
  const grossExact = D.mul(qty, price);
  const byAmount = row.querySelector("[name=discountType]").value === "DISCOUNT_TYPE_AMOUNT";
  const discountExact = byAmount ? pct : D.div(D.mul(grossExact, pct), D.HUNDRED);
  const gross = D.round(grossExact, places);
  const net = D.round(grossExact - discountExact, places);
  let unrounded = 0n;  // the tax before it is rounded (an inclusive price's is rounded already)
  const method = row.dataset.taxMethod;
  if (method === "TAX_METHOD_EXCLUSIVE") unrounded = D.div(D.mul(net, rate), D.HUNDRED);
  if (method === "TAX_METHOD_INCLUSIVE") unrounded = net - D.round(D.div(net, D.ONE + D.div(rate, D.HUNDRED)), places);
  const tax = D.round(unrounded, places);
  const total = method === "TAX_METHOD_EXCLUSIVE" ? net + tax : net;
  const parts = method !== "TAX_METHOD_NONE" && row.dataset.taxParts
    ? JSON.parse(row.dataset.taxParts) : [];
  return { gross, net, tax, unrounded, total, parts };
}

/** Mirrors the domain's totals_of: the tax is charged after the discount lines, as QuickBooks
 * charges it, on what they leave of the lines before tax; rounded once per rate on the sum it
 * taxes (a price including tax counts before tax), as QuickBooks rounds it, for lines taxed at
 * their code's rates, else per line. */
function recompute() {
  const code = currency();
  const places = currencyPlaces(code);
  let subtotal = 0n, discount = 0n, off = 0n, before = 0n, valid = true;
  const items = [];
  for (const row of rows()) {
    const figures = lineFigures(row, places);
    const output = row.querySelector(".amount");
    if (!figures) {
      valid = false;
      output.textContent = t("form.invalidNumber");
      continue;
    }
    output.textContent = money(D.text(figures.net, places), code);
    if (row.dataset.kind === "discount") {
      discount -= figures.net;
      off -= figures.net;
    } else {
      subtotal += figures.gross;
      discount += figures.gross - figures.net;
      before += figures.total - figures.tax;
      items.push(figures);
    }
  }
  const left = before > off ? before - off : 0n;
  let tax = 0n;
  const perRate = new Map();  // "rate id|percent" -> [percent, the amounts before tax it taxes]
  for (const figures of items) {
    if (!figures.parts.length) {
      tax += left === before ? figures.tax : D.mulDivRound(figures.unrounded, left, before, places);
    }
    for (const part of figures.parts) {
      const key = `${part.id}|${part.rate}`;
      const [, base] = perRate.get(key) || [part.rate, 0n];
      perRate.set(key, [part.rate, base + figures.total - figures.tax]);
    }
  }
  for (const [rate, base] of perRate.values()) {
    // The amount taxed at the rate (QuickBooks' NetAmountTaxable) to the cent, then its tax.
    const taxed = left === before ? base : D.mulDivRound(base, left, before, places);
    tax += D.mulDivRound(taxed, D.parse(rate), D.HUNDRED, places);
  }
  const total = before - off + tax;
  const show = (id, v) => ($(id).textContent = valid ? money(D.text(v, places), code) : t("common.none"));
  show("subtotal", subtotal);
  show("discounts", discount);
  show("tax", tax);
  show("total", total);
  if (options?.automatedSalesTax) {
    // No figure of ours is the tax: QuickBooks computes it for the ship-to address, else the
    // billing address (sent as the ship-to address then).
    const shipped = shipsElsewhere();
    $("tax").textContent = t(shipped ? "form.taxByQuickBooksShipTo" : "form.taxByQuickBooks");
    if (valid) $("total").textContent = t("form.plusSalesTax", { total: money(D.text(total, places), code) });
  }
  showHomeTotal(valid ? total : null);
  showDealRemaining(valid ? total - tax : null);  // before tax, as the server compares
  showBalanceDue(valid ? total : null, places, code);
}

// A deposit already received (QuickBooks' Deposit): QuickBooks' balance is the total less it.
function showBalanceDue(total, places, code) {
  const text = form().elements.deposit.value.trim();
  const deposit = text ? D.parse(text) : 0n;
  const figure = total === null || deposit === null ? null : money(D.text(total - deposit, places), code);
  $("balance-due").textContent = figure === null
    ? t("common.none")
    : options?.automatedSalesTax ? t("form.plusSalesTax", { total: figure }) : figure;
}

// What remains to invoice on the deal after this invoice (its value less what its invoices in
// this currency already ask for); a notice when this invoice goes over the deal's value.
function showDealRemaining(total) {
  const value = draft?.dealValue;
  const shown = Boolean(value) && currency() === value.currencyCode && total !== null;
  $("deal-remaining").hidden = !shown;
  if (!shown) return;
  const code = value.currencyCode;
  const places = currencyPlaces(code);
  const invoiced = D.parse(draft.invoicedOnDeal?.amount || "0");
  const remaining = D.parse(value.amount) - invoiced - total;
  const figures = {
    value: money(value.amount, code),
    invoiced: money(D.text(invoiced, places), code),
    remaining: money(D.text(remaining < 0n ? -remaining : remaining, places), code),
  };
  $("deal-remaining").className = remaining < 0n ? "notice" : "muted";
  $("deal-remaining").textContent = t(remaining < 0n ? "form.dealOver" : "form.dealRemaining", figures);
}

// A foreign-currency invoice: QuickBooks' rate for the issue date (or the user's own, which is
// then sent) and the total in the home currency at that rate, to the cent as QuickBooks rounds.
function showHomeTotal(total) {
  const f = form().elements;
  const applies = Boolean(draft?.exchangeRate) && currency() === draft.invoice.currencyCode;
  $("exchange").hidden = !applies;
  if (!applies) return;
  const home = draft.homeTotal.currencyCode;
  const rate = D.parse(f.exchangeRate.value || draft.exchangeRate);
  const figure = total === null || rate === null || rate <= 0n
    ? t("common.none")
    : money(D.text(D.mul(total, rate), currencyPlaces(home)), home);
  $("home-total").textContent = t(f.exchangeRate.value ? "form.homeTotalOwn" : "form.homeTotal", {
    currency: currency(), home, rate: draft.exchangeRate, total: figure,
  });
}

// ------------------------------------------------------------------ customer

const ADDRESS_PARTS = ["line1", "line2", "city", "region", "postalCode", "country"];
const shipInput = (key) => `ship${key[0].toUpperCase()}${key.slice(1)}`;  // line1 -> shipLine1

// The address the form shows in the inputs `input(part)` names, as the API takes it.
function addressIn(input) {
  const f = form().elements;
  return Object.fromEntries(ADDRESS_PARTS.map((key) => [key, f[input(key)].value.trim()]));
}

// Whether the invoice goes to a ship-to address (ticked and filled in), not the billing one.
const shipsElsewhere = () =>
  form().elements.shipElsewhere.checked && Object.values(addressIn(shipInput)).some(Boolean);

// A ship-to of its own (none: the invoice ships to the billing address).
function showShipTo(address) {
  const f = form().elements;
  f.shipElsewhere.checked = Boolean(address);
  for (const key of ADDRESS_PARTS) f[shipInput(key)].value = address?.[key] || "";
  $("ship-to").hidden = !address;
}

function setMode(mode) {
  for (const radio of form().elements.customerMode) radio.checked = radio.value === mode;
  $("existing-customer").hidden = mode !== "existing";
  resize();
}

function chooseCustomer(customer) {
  chosenCustomer = customer;
  const f = form().elements;
  f.displayName.value = customer.displayName || "";
  if (customer.email) f.email.value = customer.email;
  const address = customer.billingAddress || {};
  for (const key of ADDRESS_PARTS) if (address[key]) f[key].value = address[key];
  showShipTo(customer.shippingAddress);  // its own ship-to, else none: ships to its billing
  if (customer.taxId) f.taxId.value = customer.taxId;
  $("chosen-customer").textContent = t("form.chosen", { name: customer.displayName });
  $("customer-search").value = customer.displayName;
  closeOptions();
  recompute();
  resize();
}

function closeOptions() {
  $("customer-options").hidden = true;
  $("customer-search").setAttribute("aria-expanded", "false");
  $("customer-search").removeAttribute("aria-activedescendant");
}

function showOptions(customers) {
  const list = $("customer-options");
  list.replaceChildren(...(customers.length ? customers.map((customer, i) =>
    el("li", { id: `customer-option-${i}`, role: "option", "aria-selected": "false", onmousedown: (e) => { e.preventDefault(); chooseCustomer(customer); } },
      customer.displayName, customer.email ? el("span", { class: "muted" }, ` · ${customer.email}`) : "")) :
    [el("li", { role: "option", "aria-disabled": "true", class: "muted" }, t("form.noMatch"))]));
  list._customers = customers;
  list.hidden = false;
  $("customer-search").setAttribute("aria-expanded", "true");
  resize();
}

let searchTimer = null;
let searchSeq = 0;
function wireSearch() {
  const input = $("customer-search");
  input.addEventListener("input", () => {
    clearTimeout(searchTimer);
    chosenCustomer = null;
    $("chosen-customer").textContent = "";
    const query = input.value.trim();
    if (!query) { closeOptions(); return; }
    searchTimer = setTimeout(async () => {
      const seq = ++searchSeq;
      try {
        const { customers } = await rpc("CustomerService", "SearchCustomers", { parent: `companies/${session.companyId}`, query, pageSize: 10 });
        if (seq === searchSeq) showOptions(customers);
      } catch (error) {
        showError($("error"), error);
      }
    }, 250);
  });
  input.addEventListener("keydown", (event) => {
    const list = $("customer-options");
    const items = [...list.querySelectorAll("[role=option]:not([aria-disabled])")];
    if (list.hidden || !items.length) return;
    let at = items.findIndex((item) => item.getAttribute("aria-selected") === "true");
    if (event.key === "ArrowDown") at = (at + 1) % items.length;
    else if (event.key === "ArrowUp") at = (at - 1 + items.length) % items.length;
    else if (event.key === "Enter" && at >= 0) { event.preventDefault(); chooseCustomer(list._customers[at]); return; }
    else if (event.key === "Escape") { closeOptions(); return; }
    else return;
    event.preventDefault();
    items.forEach((item, i) => item.setAttribute("aria-selected", String(i === at)));
    input.setAttribute("aria-activedescendant", items[at].id);
  });
  input.addEventListener("blur", () => setTimeout(closeOptions, 150));
}

// ------------------------------------------------------------------ errors

function clearErrors() {
  $("error").hidden = true;
  for (const node of document.querySelectorAll(".field-error")) node.remove();
  for (const node of document.querySelectorAll("[aria-invalid=true]")) {
    node.removeAttribute("aria-invalid");
    node.removeAttribute("aria-describedby");
  }
}

/** Put each server field violation beside its field; the rest go to the error box. */
function showFieldErrors(error) {
  const unplaced = [];
  error.fieldErrors.forEach((violation, i) => {
    const detail = tCode(violation);
    const path = String(violation.field || "").replace(/^invoice\./, "").replace(/^currency$/, "currency_code");
    const target = document.querySelector(`[data-field="${CSS.escape(path)}"]`) ||
      document.querySelector(`[data-field^="${CSS.escape(path)}"]`);
    if (!target) { unplaced.push(detail); return; }
    const id = `field-error-${i}`;
    target.setAttribute("aria-invalid", "true");
    target.setAttribute("aria-describedby", id);
    target.closest("label, .combo, .field")?.append(el("span", { id, class: "field-error" }, detail));
  });
  const box = $("error");
  box.replaceChildren(el("p", {}, error.fieldErrors.length ? t("form.fixErrors") : error.message),
    ...unplaced.map((text) => el("p", {}, text)));
  box.hidden = false;
  document.querySelector("[aria-invalid=true]")?.focus();
  resize();
}

// ------------------------------------------------------------------ warnings

// The fixes QuickBooks users use for a currency QuickBooks would refuse, one click each.
function fixes(warning) {
  const p = warning.params || {};
  const f = form().elements;
  const useCurrency = (code) => el("button", {
    type: "button", class: "chip",
    onclick: () => { f.currency.value = code; recompute(); },
  }, t("form.useCurrency", { currency: code }));
  if (warning.code === "CURRENCY_NOT_ENABLED") return [" ", useCurrency(p.homeCurrency)];
  if (warning.code !== "CUSTOMER_CURRENCY_DIFFERS") return [];
  return [" ", useCurrency(p.customerCurrency), " ", el("button", {
    type: "button", class: "chip",
    onclick: () => {
      setMode("new");
      chosenCustomer = null;
      $("chosen-customer").textContent = "";
      f.displayName.value = p.suggestedName;
    },
  }, t("form.newCustomerNamed", { name: p.suggestedName }))];
}

// ------------------------------------------------------------------ due date

// The date each choice gives (the server's arithmetic, for the draft's invoice date): the
// company's due-date rule and the chosen term.
const termDue = (termId) => (draft.termsDueDates || {})[termId] || "";

// Shown side by side, each one click away, when they disagree with the due date entered. Once
// the invoice date is changed they no longer apply and are not shown.
function showDueDates() {
  const f = form().elements;
  const box = $("due-dates");
  const term = (options.terms || []).find((o) => o.id === f.terms.value);
  const choices = [
    [t("form.dueByRule"), draft.ruleDueDate || ""],
    [term?.displayName || "", term ? termDue(term.id) : ""],
  ].filter(([, due]) => due);
  const apply = f.issueDate.value === draft.invoice.issueDate
    && choices.some(([, due]) => due !== f.dueDate.value);
  box.hidden = !apply;
  box.replaceChildren(...(apply ? [el("span", {}, t("form.dueDates")), ...choices.map(([source, due]) =>
    el("button", {
      type: "button", class: "chip", "aria-pressed": String(due === f.dueDate.value),
      onclick: () => { f.dueDate.value = due; showDueDates(); },
    }, t("form.dueFrom", { source, date: day(due) })))] : []));
  resize();
}

// A due date that followed the term follows the newly chosen one, as in QuickBooks.
function termChanged(previous) {
  const f = form().elements;
  if (previous && f.dueDate.value === termDue(previous) && termDue(f.terms.value)) {
    f.dueDate.value = termDue(f.terms.value);
  }
  showDueDates();
}

// ------------------------------------------------------------------ submit

function collect() {
  const f = form().elements;
  const existing = f.customerMode.value === "existing" && chosenCustomer;
  return {
    parent: dealName,
    requestId,
    customerDetailsCopy: f.updateCustomer.checked ? "CUSTOMER_DETAILS_COPY_ALWAYS" : "CUSTOMER_DETAILS_COPY_NEVER",
    exchangeRate: $("exchange").hidden ? "" : f.exchangeRate.value.trim(),
    deposit: f.deposit.value.trim(),
    invoice: {
      customer: {
        displayName: f.displayName.value.trim(),
        email: f.email.value.trim(),
        billingAddress: addressIn((key) => key),
        ...(shipsElsewhere() ? { shippingAddress: addressIn(shipInput) } : {}),
        taxId: f.taxId.value.trim(),
        quickbooksCustomerId: existing ? chosenCustomer.quickbooksCustomerId : "",
      },
      currencyCode: currency(),
      termsId: f.terms.value,
      salesTaxCodeId: f.salesTaxCode.value,
      classId: f.classId.value,
      locationId: f.locationId.value,
      issueDate: f.issueDate.value,
      dueDate: f.dueDate.value,
      memo: f.memo.value,
      // The template was applied here, before the user's edits: what the form shows is sent
      // as it is (a field the user emptied stays empty), so the template itself is not sent.
      privateNote: f.privateNote.value.trim(),
      billEmailCc: f.billEmailCc.value.trim(),
      billEmailBcc: f.billEmailBcc.value.trim(),
      customFields: customFieldInputs()
        .map((input) => ({ definitionId: input.dataset.definition, value: input.value.trim() }))
        .filter((field) => field.value),
      ...(paymentsChosen ? {
        allowOnlineCreditCardPayment: f.allowCard.checked,
        allowOnlineAchPayment: f.allowAch.checked,
      } : {}),
      lines: rows().map((row) => {
        const v = (name) => row.querySelector(`[name=${name}]`).value.trim();
        return {
          kind: row.dataset.kind === "discount" ? "LINE_KIND_DISCOUNT" : "LINE_KIND_ITEM",
          name: v("name"), description: v("description"), quantity: v("quantity"), unitPrice: v("unitPrice"),
          discount: v("discount"),
          discountType: v("discountType"),
          taxRate: v("taxRate"), taxMethod: row.dataset.taxMethod,
          taxCodeId: v("taxCodeId"), itemId: v("itemId"),
        };
      }),
    },
  };
}

async function submit(event) {
  event.preventDefault();
  if (submitting) return; // a second click while the first is on its way does nothing
  submitting = true;
  const button = $("create");
  button.disabled = true;
  button.textContent = t("form.creating");
  clearErrors();
  try {
    if (form().elements.customerMode.value === "existing" && !chosenCustomer) {
      // "Existing customer" with none picked: never a new customer behind the user's back.
      throw new ApiError({ errors: [{ field: "customer.quickbooks_customer_id", code: "CHOOSE_QUICKBOOKS_CUSTOMER", params: {} }] }, 400);
    }
    const { invoice } = await rpc("InvoiceService", "CreateInvoice", collect());
    if (invoice.state === "INVOICE_STATE_CREATE_FAILED") {
      // QuickBooks refused it: say why here, beside the field when QuickBooks names one, and
      // let the corrected form go out as a new request (this one's answer is final).
      requestId = uuid();
      const field = { 6240: "customer.display_name" }[invoice.failureParams?.vendorCode] || "";
      throw new ApiError({ errors: field ? [{ field, code: "", detail: tFailure(invoice) }] : [] }, 400, tFailure(invoice));
    }
    const number = invoice.docNumber || "";
    const queued = invoice.state === "INVOICE_STATE_CREATING";
    const message = queued ? t("form.queued") : t("form.created", { number });
    await snackbar(message);
    if (ctx.id) {
      await closeModal();
      return;
    }
    form().hidden = true;
    const back = new URLSearchParams(window.location.search);
    back.delete("data");
    back.set("selectedIds", dealId());
    if (number) back.set("created", number);
    $("done").replaceChildren(el("p", {}, message), el("a", { href: `/ui/panel?${back}`, class: "button primary" }, t("panel.title")));
    $("done").hidden = false;
  } catch (error) {
    if (error instanceof ApiError && error.fieldErrors.length) showFieldErrors(error);
    else showError($("error"), error);
    button.disabled = false;
    button.textContent = t("form.create");
    submitting = false;
  }
}

// ------------------------------------------------------------------ templates

const customFieldInputs = () => [...$("custom-fields").querySelectorAll("input[data-definition]")];

// One input per sales custom field QuickBooks has turned on ("PO Number"), at most 3.
function customFields(values) {
  const given = Object.fromEntries((values || []).map((cf) => [cf.definitionId, cf.value]));
  $("custom-fields").replaceChildren(...(options.customFields || []).map((def, i) =>
    el("label", { class: "field" }, el("span", {}, def.displayName),
      el("input", {
        name: `customField${def.id}`, "data-definition": def.id, maxlength: 31,
        value: given[def.id] || "", "data-field": `custom_fields[${i}].value`,
      }))));
}

// Another template picked: its presets replace those the form holds (the user edits after).
function applyTemplate(name) {
  const template = (draft.templates || []).find((candidate) => candidate.name === name);
  const f = form().elements;
  f.memo.value = template?.customerMemo || "";
  f.privateNote.value = template?.privateNote || "";
  f.billEmailCc.value = template?.billEmailCc || "";
  f.billEmailBcc.value = template?.billEmailBcc || "";
  const values = Object.fromEntries((template?.customFields || []).map((cf) => [cf.definitionId, cf.value]));
  for (const input of customFieldInputs()) input.value = values[input.dataset.definition] || "";
  f.allowCard.checked = Boolean(template?.allowOnlineCreditCardPayment);
  f.allowAch.checked = Boolean(template?.allowOnlineAchPayment);
  paymentsChosen = Boolean(template);
  for (const [select, id] of [[f.classId, template?.classId], [f.locationId, template?.locationId]]) {
    select.value = id && [...select.options].some((o) => o.value === id) ? id : "";
  }
  if (template?.termsId && [...f.terms.options].some((o) => o.value === template.termsId)) {
    f.terms.value = template.termsId;
    f.terms.dispatchEvent(new Event("change"));
  }
  const code = template?.taxCodeId;
  if (code && options.salesTaxCodes?.some((c) => c.id === code)) {
    f.salesTaxCode.value = code;
  } else if (code) {
    for (const row of rows().filter((r) => r.dataset.kind === "item")) {
      const select = row.querySelector("[name=taxCodeId]");
      if ([...select.options].some((o) => o.value === code)) select.value = code;
    }
  }
  if (template?.itemId) {
    for (const row of rows().filter((r) => r.dataset.kind === "item")) {
      const select = row.querySelector("[name=itemId]");
      if (!select.value && [...select.options].some((o) => o.value === template.itemId)) select.value = template.itemId;
    }
  }
  rows().forEach(taxedByCode);
  recompute();
}

function fillTemplates(invoice) {
  const f = form().elements;
  const templates = draft.templates || [];
  f.template.replaceChildren(el("option", { value: "" }, t("form.noTemplate")),
    ...templates.map((tpl) => el("option", { value: tpl.name, selected: tpl.name === draft.template }, tpl.displayName)));
  $("template-field").hidden = !templates.length;
  f.memo.value = invoice.memo || "";
  f.privateNote.value = invoice.privateNote || "";
  f.billEmailCc.value = invoice.billEmailCc || "";
  f.billEmailBcc.value = invoice.billEmailBcc || "";
  customFields(invoice.customFields);
  f.allowCard.checked = Boolean(invoice.allowOnlineCreditCardPayment);
  f.allowAch.checked = Boolean(invoice.allowOnlineAchPayment);
  paymentsChosen = invoice.allowOnlineCreditCardPayment !== undefined || invoice.allowOnlineAchPayment !== undefined;
}

// ------------------------------------------------------------------ start

function fill() {
  const invoice = draft.invoice;
  const f = form().elements;
  const currencies = new Set([...(options.currencyCodes || []), invoice.currencyCode].filter(Boolean));
  f.currency.replaceChildren(...[...currencies].map((code) => el("option", { value: code, selected: code === invoice.currencyCode }, code)));
  f.terms.replaceChildren(el("option", { value: "" }, t("form.noTerms")),
    ...(options.terms || []).map((term) => el("option", { value: term.id, selected: term.id === invoice.termsId }, term.displayName)));
  f.salesTaxCode.replaceChildren(el("option", { value: "" }, t("form.noSalesTax")),
    ...(options.salesTaxCodes || []).map((code) => el("option", { value: code.id, selected: code.id === invoice.salesTaxCodeId }, `${code.displayName} (${code.detail} %)`)));
  $("sales-tax").hidden = !options.salesTaxCodes?.length;
  // Class and location: shown when the company tracks them in QuickBooks.
  for (const [select, field, list, chosen, none] of [
    [f.classId, "class-field", options.classes || [], invoice.classId, "form.noClass"],
    [f.locationId, "location-field", options.locations || [], invoice.locationId, "form.noLocation"],
  ]) {
    select.replaceChildren(el("option", { value: "" }, t(none)),
      ...list.map((o) => el("option", { value: o.id, selected: o.id === chosen }, o.displayName)));
    $(field).hidden = !list.length;
  }
  f.issueDate.value = invoice.issueDate || "";
  f.dueDate.value = invoice.dueDate || "";
  const customer = invoice.customer || {};
  f.displayName.value = customer.displayName || "";
  f.email.value = customer.email || "";
  const address = customer.billingAddress || {};
  for (const key of ADDRESS_PARTS) f[key].value = address[key] || "";
  showShipTo(customer.shippingAddress);
  f.taxId.value = customer.taxId || "";
  f.updateCustomer.checked = Boolean(draft.updateCustomerDetails);
  f.exchangeRate.placeholder = draft.exchangeRate || "";
  if (options.usCompany) {
    // US companies: no tax registration field on the customer; where it goes, and its limit.
    f.taxId.setAttribute("aria-describedby", "tax-id-where");
    f.taxId.closest("label").append(el("small", { id: "tax-id-where", class: "muted" }, t("form.taxIdUs")));
  }
  if (draft.linkedCustomer?.quickbooksCustomerId) {
    setMode("existing");
    chosenCustomer = draft.linkedCustomer;
    $("customer-search").value = chosenCustomer.displayName;
    $("chosen-customer").textContent = t("form.chosen", { name: chosenCustomer.displayName });
  }
  if (draft.suggestedCustomers?.length) {
    $("suggestions").replaceChildren(el("span", {}, t("form.suggested")),
      ...draft.suggestedCustomers.map((customer) => el("button", { type: "button", class: "chip", onclick: () => { setMode("existing"); chooseCustomer(customer); } }, customer.displayName)));
    $("suggestions").hidden = false;
  }
  $("lines").replaceChildren(...invoice.lines.map(lineRow));
  if (!invoice.lines.length) $("lines").append(lineRow());
  renumber();
  fillTemplates(invoice);
  showWarnings(draft.warnings);
  showDueDates();
  recompute();
}

function showWarnings(warnings = []) {
  $("warning-list").replaceChildren(...warnings.map((w) => el("li", { "data-code": w.code }, tCode(w), ...fixes(w))));
  $("warnings").hidden = !warnings.length;
}

const close = async () => { if (ctx.id) await closeModal(); else history.back(); };

function wire() {
  for (const radio of form().elements.customerMode) radio.addEventListener("change", () => setMode(radio.value));
  form().elements.currency.addEventListener("change", recompute);
  for (const name of ["salesTaxCode", "issueDate"]) {
    form().elements[name].addEventListener("change", () => { rows().forEach(taxedByCode); recompute(); });
  }
  let term = form().elements.terms.value;
  form().elements.terms.addEventListener("change", () => { termChanged(term); term = form().elements.terms.value; });
  for (const name of ["issueDate", "dueDate"]) form().elements[name].addEventListener("input", showDueDates);
  form().elements.exchangeRate.addEventListener("input", recompute);
  form().elements.deposit.addEventListener("input", recompute);
  form().elements.shipElsewhere.addEventListener("change", (event) => {
    $("ship-to").hidden = !event.target.checked;
    recompute();
    resize();
  });
  $("ship-to").addEventListener("input", recompute);  // the tax is for it once it is filled in
  wireShare({
    dealName: () => dealName,
    currency,
    issueDate: () => form().elements.issueDate.value || draft.invoice.issueDate,
    clearErrors,
    failed: (error) => {
      if (error instanceof ApiError && error.fieldErrors.length) showFieldErrors(error);
      else showError($("error"), error);
    },
    replaceLines: (shared) => {
      draft.invoicedOnDeal = shared.invoicedOnDeal;
      draft.dealValue = shared.dealValue;
      showWarnings(shared.warnings);  // those of the share's lines (over the deal's value ...)
      $("lines").replaceChildren(...shared.invoice.lines.map(lineRow));
      renumber();
      recompute();
    },
    scheduled: async (installments) => {
      await snackbar(t("share.scheduled", { count: installments.length }));
      if (ctx.id) {
        await closeModal();
        return;
      }
      form().hidden = true;
      $("done").replaceChildren(el("p", {}, t("share.scheduled", { count: installments.length })),
        el("ol", { class: "installments" }, ...installments.map((i) => installmentItem(i))));
      $("done").hidden = false;
      resize();
    },
  });
  form().elements.template.addEventListener("change", (event) => applyTemplate(event.target.value));
  for (const name of ["allowCard", "allowAch"]) form().elements[name].addEventListener("change", () => { paymentsChosen = true; });
  $("add-line").addEventListener("click", () => { $("lines").append(lineRow()); renumber(); recompute(); resize(); });
  $("cancel").addEventListener("click", close);
  form().addEventListener("submit", submit);
  wireSearch();
}

async function start() {
  try {
    await boot({ height: 700 });
    dealName = `companies/${session.companyId}/deals/${dealId()}`;
    [{ draft }, options] = await Promise.all([
      rpc("InvoiceService", "PrepareInvoice", { parent: dealName }),
      rpc("SettingsService", "ListInvoiceOptions", { parent: `companies/${session.companyId}` }),
    ]);
    fill();
  } catch (error) {
    // Not connected, refused, not allowed or failed: said, with the way out, and Close.
    showState(stateOf(error), { error, retry: start, actions: [{ label: t("common.close"), run: close }] });
    return;
  } finally {
    loaded();
  }
  showState(STATE.READY);
  form().hidden = false;
  wire(); // once: a failed load never showed the form
  resize();
}

start();
