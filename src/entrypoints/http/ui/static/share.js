// The invoice form's "Part of the deal": a share of the deal (its lines scaled by the server,
// exactly) or a schedule of installments, each invoice created by dealbooks on its date.
import { day, el, moneyOf, resize, rpc, t, tProblem, uuid } from "./core.js";

const $ = (id) => document.getElementById(id);

/** One installment of the panel's list: "2 of 3 · 40 % · $823.91 · 13 Apr 2026 · Scheduled",
 * with Retry on a refused one when `onRetry` is given. */
export function installmentItem(installment, invoices = [], onRetry = null) {
  const invoice = invoices.find((i) => i.name === installment.invoice);
  const reason = installment.failureReason;
  const state = {
    INSTALLMENT_STATE_SCHEDULED: () => t("installments.scheduled"),
    INSTALLMENT_STATE_CREATED: () => invoice?.docNumber
      ? t("installments.created", { number: invoice.docNumber })
      : t("installments.createdPending"),
    INSTALLMENT_STATE_FAILED: () => t("installments.failed", { reason: tProblem({ reason, detail: reason }) }),
    INSTALLMENT_STATE_CANCELLED: () => t("installments.cancelled"),
  }[installment.state]?.() || "";
  const item = el("li", { "data-state": installment.state },
    t("installments.line", {
      n: installment.position, count: installment.count, percent: installment.percentage,
      amount: moneyOf(installment.amount), date: day(installment.dueDate),
    }), " · ", el("strong", {}, state));
  if (onRetry && installment.state === "INSTALLMENT_STATE_FAILED") {
    const retry = el("button", { type: "button", class: "button link", "data-action": "retry-installment" }, t("installments.retry"));
    retry.addEventListener("click", () => {
      retry.disabled = true;
      onRetry(installment);
    });
    item.append(" ", retry);
  }
  return item;
}

/** ``iso`` plus ``months`` calendar months (the last day of a shorter month). */
function addMonths(iso, months) {
  const [y, m, d] = iso.split("-").map(Number);
  const last = new Date(Date.UTC(y, m - 1 + months + 1, 0)).getUTCDate();
  return new Date(Date.UTC(y, m - 1 + months, Math.min(d, last))).toISOString().slice(0, 10);
}

function installmentRow(percentage, dueDate) {
  const row = el("div", { class: "installment grid", role: "group" },
    el("label", { class: "field" }, el("span", { class: "percent-label" }),
      el("input", { name: "installmentPercent", inputmode: "decimal", value: percentage })),
    el("label", { class: "field" }, el("span", { class: "date-label" }),
      el("input", { name: "installmentDate", type: "date", value: dueDate })),
    el("button", { type: "button", class: "button icon remove", onclick: () => { row.remove(); renumber(); resize(); } }, "×"));
  return row;
}

function renumber() {
  [...$("installments").querySelectorAll(".installment")].forEach((row, i) => {
    row.setAttribute("aria-label", t("share.installment", { n: i + 1 }));
    row.querySelector(".percent-label").textContent = `${t("share.installment", { n: i + 1 })} · ${t("share.installmentPercent")}`;
    row.querySelector(".date-label").textContent = t("share.installmentDate");
    row.querySelector(".remove").setAttribute("aria-label", t("share.removeInstallment", { n: i + 1 }));
    row.querySelector("[name=installmentPercent]").dataset.field = `installments[${i}].percentage`;
    row.querySelector("[name=installmentDate]").dataset.field = `installments[${i}].due_date`;
  });
}

/**
 * Wires the share controls. ``form`` gives the form's state and callbacks: ``dealName()``,
 * ``currency()``, ``issueDate()``, ``replaceLines(draft)`` (the lines of a new draft),
 * ``clearErrors()``, ``failed(error)`` (field errors beside their fields), ``scheduled(list)``.
 */
export function wireShare(form) {
  const f = document.getElementById("invoice-form").elements;
  const kind = () => f.shareKind.value;
  let scheduleRequest = uuid();

  function showKind() {
    const scheduling = kind() === "schedule";
    const valued = kind() === "KIND_PERCENTAGE" || kind() === "KIND_AMOUNT";
    $("share-value-field").hidden = !valued;
    $("share-value-label").textContent = kind() === "KIND_AMOUNT"
      ? t("share.amountBeforeTax", { currency: form.currency() })
      : t("share.percent");
    $("apply-share").hidden = scheduling;
    $("schedule").hidden = !scheduling;
    $("create").hidden = scheduling;
    if (scheduling && !$("installments").children.length) {
      const start = form.issueDate();
      $("installments").replaceChildren(
        installmentRow("30", start), installmentRow("40", addMonths(start, 1)), installmentRow("30", addMonths(start, 2)));
      renumber();
    }
    resize();
  }

  async function apply() {
    form.clearErrors();
    const share = kind() ? { kind: kind(), value: f.shareValue.value.trim() } : null;
    try {
      const { draft } = await rpc("InvoiceService", "PrepareInvoice", { parent: form.dealName(), ...(share ? { share } : {}) });
      form.replaceLines(draft);
      const summary = $("share-summary");
      summary.hidden = !draft.shareAmount;
      summary.textContent = draft.shareAmount
        ? t("share.summary", { amount: moneyOf(draft.shareAmount), whole: moneyOf(draft.dealAmount) })
        : "";
      resize();
    } catch (error) {
      form.failed(error);
    }
  }

  async function schedule() {
    form.clearErrors();
    const button = $("schedule-installments");
    button.disabled = true;
    button.textContent = t("share.scheduling");
    try {
      const installments = [...$("installments").querySelectorAll(".installment")].map((row) => ({
        percentage: row.querySelector("[name=installmentPercent]").value.trim(),
        dueDate: row.querySelector("[name=installmentDate]").value,
      }));
      const reply = await rpc("InstallmentService", "ScheduleInstallments", {
        parent: form.dealName(), installments, requestId: scheduleRequest,
      });
      await form.scheduled(reply.installments);
    } catch (error) {
      scheduleRequest = uuid(); // a refused request is final: the corrected one is new
      form.failed(error);
    } finally {
      button.disabled = false;
      button.textContent = t("share.scheduleButton");
    }
  }

  f.shareKind.addEventListener("change", showKind);
  $("apply-share").addEventListener("click", apply);
  $("schedule-installments").addEventListener("click", schedule);
  $("add-installment").addEventListener("click", () => {
    const last = [...$("installments").querySelectorAll("[name=installmentDate]")].at(-1)?.value || form.issueDate();
    $("installments").append(installmentRow("", addMonths(last, 1)));
    renumber();
    resize();
  });
  showKind();
}
