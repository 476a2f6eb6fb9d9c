// App settings (Pipedrive "custom UI for app settings"): the QuickBooks connection, the field
// mapping, the due-date rule with a live example, copy-to-QuickBooks, the defaults and the
// invoice templates (add, edit, delete, mark the default) and the invoicing rules (rules.js).
import {
  ApiError, STATE, boot, confirmAction, connectionStateOf, day, dayLong, el, inPipedrive, openModal,
  params, resize, rpc, session, showError, showState, snackbar, signedToken, stateOf, t, tCode,
  loaded,
} from "./core.js";
import { initRules, loadRules } from "./rules.js";

const $ = (id) => document.getElementById(id);
const form = () => $("settings-form");
const RULES = [
  "DUE_DATE_RULE_DAYS_AFTER_ISSUE", "DUE_DATE_RULE_END_OF_MONTH", "DUE_DATE_RULE_END_OF_NEXT_MONTH",
  "DUE_DATE_RULE_DAYS_AFTER_END_OF_MONTH", "DUE_DATE_RULE_DAY_OF_NEXT_MONTH", "DUE_DATE_RULE_QUICKBOOKS_TERM",
];
const MILESTONES = ["CREATED", "SENT", "PARTIALLY_PAID", "PAID", "OVERDUE", "VOIDED", "DELETED"];
const ACTIONS = ["CREATE", "SEND", "VOID", "DELETE"];
const LANGUAGES = ["", "en", "fr"];
const ENTRY_KINDS = ["NOTE", "ACTIVITY"];
const MAPPINGS = { to: "to", address: "address", email: "email", taxId: "taxId" };
let settings = null;
let company = "";
let options = { currencyCodes: [], taxCodes: [], terms: [], items: [], customFields: [] };
let optionsKnown = false; // QuickBooks answered the lists (connected)
let mappable = []; // the Pipedrive fields a template's custom field can be read from
let templates = [];
let editing = null; // the template being edited; {} for a new one

// ------------------------------------------------------------------ due-date example

const lastDay = (y, m) => new Date(Date.UTC(y, m + 1, 0)); // m: 0-11

/** The domain's DueDatePolicy, for the example only (the server computes the real dates). */
export function dueDate(rule, days, dayOfMonth, issued) {
  const y = issued.getUTCFullYear(), m = issued.getUTCMonth();
  const plus = (date, n) => new Date(date.getTime() + n * 86400000);
  switch (rule) {
    case "DUE_DATE_RULE_DAYS_AFTER_ISSUE": return plus(issued, days);
    case "DUE_DATE_RULE_END_OF_MONTH": return lastDay(y, m);
    case "DUE_DATE_RULE_END_OF_NEXT_MONTH": return lastDay(y, m + 1);
    case "DUE_DATE_RULE_DAYS_AFTER_END_OF_MONTH": return plus(lastDay(y, m), days);
    case "DUE_DATE_RULE_DAY_OF_NEXT_MONTH": {
      const last = lastDay(y, m + 1);
      return new Date(Date.UTC(last.getUTCFullYear(), last.getUTCMonth(), Math.min(dayOfMonth, last.getUTCDate())));
    }
    default: return null;
  }
}

function showExample() {
  const f = form().elements;
  const rule = f.rule.value;
  $("days-field").hidden = !["DUE_DATE_RULE_DAYS_AFTER_ISSUE", "DUE_DATE_RULE_DAYS_AFTER_END_OF_MONTH"].includes(rule);
  $("day-field").hidden = rule !== "DUE_DATE_RULE_DAY_OF_NEXT_MONTH";
  const issued = new Date(Date.UTC(new Date().getFullYear(), 2, 13)); // 13 March, as in the docs
  const due = dueDate(rule, Number(f.days.value || 0), Number(f.dayOfMonth.value || 1), issued);
  $("due-example").textContent = due
    ? t("settings.example", { issued: dayLong(issued), due: dayLong(due) })
    : t("settings.exampleTerms");
}

// ------------------------------------------------------------------ connection

async function loadConnection() {
  const { connection } = await rpc("ConnectionService", "GetConnection", { name: `${company}/connection` });
  const qbo = connection.quickbooks || {};
  const kind = connectionStateOf(qbo);
  const text = {
    [STATE.READY]: t("settings.connected", { company: qbo.companyName || qbo.externalId }),
    [STATE.NEEDS_RECONNECT]: t("settings.needsReconnect"),
  }[kind] || t("settings.notConnected");
  $("connection-state").textContent = text;
  $("connection-state").dataset.state = (qbo.state || "CONNECTION_STATE_NOT_CONNECTED").replace("CONNECTION_STATE_", "");
  $("reads-rationed").hidden = !qbo.readsRationed;
  // QUICKBOOKS_RECONNECT_SOON: Intuit's five-year limit is near; its date in the user's format.
  const soon = (qbo.warnings || []).find((w) => w.code === "QUICKBOOKS_RECONNECT_SOON");
  $("reconnect-soon").hidden = !soon || kind !== STATE.READY;
  if (soon) {
    const shown = { ...soon, params: { ...soon.params, date: day(soon.params?.date) } };
    $("reconnect-soon-text").textContent = tCode(shown);
  }
  // Intuit's rule: the Connect to QuickBooks button only while not connected; once connected,
  // "Disconnect from QuickBooks" instead. A refused connection is connected again the same way.
  $("connect").hidden = kind === STATE.READY;
  $("disconnect").hidden = kind === STATE.NOT_CONNECTED;
  $("connection").hidden = false;
  showState(kind);
  return kind;
}

async function connect() {
  // Intuit's sign-in cannot be framed: it opens in its own window and comes back here.
  const token = await signedToken();
  const url = `/oauth/quickbooks/start?${new URLSearchParams({ token, company_id: session.companyId })}`;
  const popup = window.open(url, "dealbooks-quickbooks", "width=720,height=760");
  if (!popup) { window.top.location.href = url; return; }
  const timer = setInterval(async () => {
    if (!popup.closed) return;
    clearInterval(timer);
    await loadConnection().catch((error) => showError($("error"), error));
    await loadOptions().catch(() => {});
  }, 700);
}

async function disconnect() {
  const ok = await confirmAction({ title: t("settings.disconnectTitle"), description: t("settings.disconnectText"), okText: t("settings.disconnect"), danger: true });
  if (!ok) return;
  try {
    await rpc("ConnectionService", "DisconnectQuickBooks", { name: `${company}/connection` });
    await loadConnection();
    await snackbar(t("settings.disconnected"));
  } catch (error) {
    showError($("error"), error);
  }
}

// ------------------------------------------------------------------ settings

function sourceValue(source) {
  return source && source.entity && source.entity !== "SOURCE_ENTITY_UNSPECIFIED" && source.fieldKey
    ? `${source.entity}|${source.fieldKey}` : "";
}

function fillMappings(fields) {
  const f = form().elements;
  const groups = {};
  for (const field of fields) (groups[field.entity] ||= []).push(field);
  for (const [name, key] of Object.entries(MAPPINGS)) {
    const current = sourceValue(settings.fieldMapping?.[key]);
    const select = f[name];
    select.replaceChildren(el("option", { value: "" }, t("settings.notMapped")),
      ...Object.entries(groups).map(([entity, list]) => el("optgroup", { label: t(`settings.entity.${entity}`) },
        ...list.map((field) => {
          const value = `${field.entity}|${field.fieldKey}`;
          return el("option", { value, selected: value === current },
            `${t(`settings.entity.${entity}`)} · ${field.displayName}${field.custom ? ` (${t("settings.custom")})` : ""}`);
        }))));
    if (current && select.value !== current) {
      // A mapped field that Pipedrive no longer lists stays visible rather than silently lost.
      select.append(el("option", { value: current, selected: true }, current.split("|")[1]));
    }
  }
}

// A saved value QuickBooks no longer offers (a class made inactive) stays selected, said so
// once QuickBooks' lists are known (not connected: they are not, and it shows as it is), by
// its name when QuickBooks still lists it among the inactive ones (`inactive`). Both lists are
// of QuickBooks' options ({id, displayName}).
function fillSelect(select, current, first, list, inactive) {
  select.replaceChildren(el("option", { value: "" }, first),
    ...(list || []).map((o) => el("option", { value: o.id, selected: o.id === current }, o.displayName)));
  const name = (inactive || []).find((o) => o.id === current)?.displayName ?? current;
  const gone = optionsKnown ? t("settings.notOffered", { value: name }) : current;
  if (current && select.value !== current) select.append(el("option", { value: current, selected: true }, gone));
}

async function loadOptions() {
  const f = form().elements;
  options = { currencyCodes: [], taxCodes: [], terms: [], items: [], customFields: [], classes: [], locations: [] };
  optionsKnown = false;
  try {
    options = await rpc("SettingsService", "ListInvoiceOptions", { parent: company });
    optionsKnown = true;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status >= 500) throw error; // not connected: no lists
  }
  fillSelect(f.currency, settings.defaultCurrency, t("settings.dealCurrency"), options.currencyCodes.map((c) => ({ id: c, displayName: c })));
  // A US company without automated sales tax: the default is its sales tax rate.
  const taxCodes = options.salesTaxCodes?.length ? options.salesTaxCodes : options.taxCodes;
  fillSelect(f.taxCode, settings.defaultTaxCode, t("settings.none"), taxCodes);
  fillSelect(f.terms, settings.defaultTerms, t("settings.none"), options.terms);
  fillSelect(f.defaultItem, settings.defaultItem, t("settings.none"), options.items);
}

async function loadSettings() {
  ({ settings } = await rpc("SettingsService", "GetSettings", { name: `${company}/settings` }));
  const f = form().elements;
  f.rule.replaceChildren(...RULES.map((rule) => el("option", { value: rule, selected: rule === settings.dueDatePolicy?.rule }, t(`settings.rule.${rule}`))));
  f.days.value = settings.dueDatePolicy?.days ?? 0;
  f.dayOfMonth.value = settings.dueDatePolicy?.dayOfMonth || 1;
  f.copy.checked = Boolean(settings.copyCustomerDetails);
  const timeline = settings.dealTimeline ?? {};
  const chosen = new Set(timeline.milestones ?? []);
  $("timeline-milestones").replaceChildren(...MILESTONES.map((m) => el("label", { class: "check" },
    el("input", { type: "checkbox", name: "milestone", value: `INVOICE_MILESTONE_${m}`, checked: chosen.has(`INVOICE_MILESTONE_${m}`), "data-field": "settings.deal_timeline.milestones" }),
    " ", el("span", {}, t(`settings.milestone.${m}`)))));
  f.timelineLanguage.replaceChildren(...LANGUAGES.map((code) => el("option", { value: code, selected: code === (timeline.languageCode ?? "") }, t(`settings.timelineLanguage.${code || "auto"}`))));
  const kind = (timeline.entryKind ?? "").replace("TIMELINE_ENTRY_KIND_", "") || "NOTE";
  f.timelineKind.replaceChildren(...ENTRY_KINDS.map((k) => el("option", { value: `TIMELINE_ENTRY_KIND_${k}`, selected: k === kind || (k === "NOTE" && kind === "UNSPECIFIED") }, t(`settings.timelineKind.${k}`))));
  await fillPermissions();
  const { fields } = await rpc("SettingsService", "ListMappableFields", { parent: company })
    .catch(() => ({ fields: [] }));
  mappable = fields;
  fillMappings(fields);
  await loadOptions();
  showExample();
}

/** Per action: "only admins" and, once ticked, the Pipedrive permission sets whose members may
 * also take it (the sets come from Pipedrive; without them only the box is offered). */
async function fillPermissions() {
  const { permissionSets = [] } = await rpc("SettingsService", "ListPermissionSets", { parent: company })
    .catch(() => ({ permissionSets: [] }));
  const permissions = settings.invoicePermissions ?? {};
  const granted = new Map((permissions.permissionSetGrants ?? []).map((g) => [g.action, new Set(g.permissionSetIds ?? [])]));
  const restricted = new Set([...(permissions.adminsOnly ?? []), ...granted.keys()]);
  $("admins-only").replaceChildren(...ACTIONS.map((a) => {
    const action = `INVOICE_ACTION_${a}`;
    const chosen = granted.get(action) ?? new Set();
    const box = el("input", { type: "checkbox", name: "adminsOnly", value: action, checked: restricted.has(action), "data-field": "settings.invoice_permissions" });
    const sets = el("select", { multiple: true, name: "permissionSets", "data-action": action, size: Math.min(4, Math.max(2, permissionSets.length)), disabled: !restricted.has(action), "data-field": `settings.invoice_permissions.permission_sets.${a.toLowerCase()}` },
      ...permissionSets.map((s) => el("option", { value: s.id, selected: chosen.has(s.id) }, `${s.displayName} (${s.app})`)));
    box.addEventListener("change", () => { sets.disabled = !box.checked; });
    const row = el("div", { class: "permission" },
      el("label", { class: "check" }, box, " ", el("span", {}, t(`settings.adminsOnly.${a}`))));
    if (permissionSets.length) {
      row.append(el("label", { class: "field" }, el("span", {}, t(`settings.permissionSets.${a}`)), sets));
    }
    return row;
  }));
}

function permissionGrants() {
  if (!document.querySelector('select[name="permissionSets"]')) {
    // Pipedrive did not list the sets: keep those saved for the actions still ticked.
    const ticked = new Set([...document.querySelectorAll('input[name="adminsOnly"]:checked')].map((box) => box.value));
    return (settings.invoicePermissions?.permissionSetGrants ?? []).filter((grant) => ticked.has(grant.action));
  }
  return [...document.querySelectorAll('select[name="permissionSets"]:not(:disabled)')]
    .map((select) => ({ action: select.dataset.action, permissionSetIds: [...select.selectedOptions].map((o) => o.value) }))
    .filter((grant) => grant.permissionSetIds.length);
}

function source(value) {
  if (!value) return null; // not mapped
  const [entity, fieldKey] = value.split("|");
  return { entity, fieldKey };
}

async function save(event) {
  event.preventDefault();
  const f = form().elements;
  for (const node of document.querySelectorAll(".field-error")) node.remove();
  $("error").hidden = true;
  const button = $("save");
  button.disabled = true;
  const body = {
    settings: {
      name: `${company}/settings`,
      etag: settings.etag,
      fieldMapping: Object.fromEntries(Object.entries(MAPPINGS).map(([name, key]) => [key, source(f[name].value)]).filter(([, value]) => value)),
      dueDatePolicy: { rule: f.rule.value, days: Number(f.days.value || 0), dayOfMonth: Number(f.dayOfMonth.value || 0) },
      copyCustomerDetails: f.copy.checked,
      defaultCurrency: f.currency.value,
      defaultTaxCode: f.taxCode.value,
      defaultTerms: f.terms.value,
      defaultItem: f.defaultItem.value,
      dealTimeline: {
        milestones: [...document.querySelectorAll('input[name="milestone"]:checked')].map((box) => box.value),
        languageCode: f.timelineLanguage.value,
        entryKind: f.timelineKind.value,
      },
      invoicePermissions: {
        adminsOnly: [...document.querySelectorAll('input[name="adminsOnly"]:checked')].map((box) => box.value),
        permissionSetGrants: permissionGrants(),
      },
    },
    updateMask: "fieldMapping,dueDatePolicy,copyCustomerDetails,defaultCurrency,defaultTaxCode,defaultTerms,defaultItem,dealTimeline,invoicePermissions",
  };
  try {
    ({ settings } = await rpc("SettingsService", "UpdateSettings", body));
    await snackbar(t("settings.saved"));
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      await loadSettings();
      showError($("error"), new Error(t("settings.conflict")));
    } else if (error instanceof ApiError && error.fieldErrors.length) {
      for (const violation of error.fieldErrors) {
        const target = document.querySelector(`[data-field^="${CSS.escape(violation.field)}"]`);
        if (target) target.closest("label").append(el("span", { class: "field-error" }, tCode(violation)));
      }
      showError($("error"), new Error(t("form.fixErrors")));
    } else {
      showError($("error"), error);
    }
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ deal fields

/** Whether the deal fields exist; the button creates them (a job: the state is asked again
 * until they do, for about half a minute). */
function showDealFields(created, creating = false) {
  $("deal-fields-state").textContent = t(created ? "settings.dealFieldsReady" : creating ? "settings.dealFieldsCreating" : "settings.dealFieldsMissing");
  $("deal-fields-state").dataset.created = String(created);
  $("deal-fields-create").hidden = created;
  $("deal-fields-create").disabled = creating;
  $("deal-fields").hidden = false;
}

async function dealFieldsExist() {
  const { dealFields } = await rpc("SettingsService", "GetDealFields", { parent: company });
  return dealFields.created;
}

async function loadDealFields() {
  showDealFields(await dealFieldsExist());
}

async function createDealFields() {
  try {
    const { dealFields } = await rpc("SettingsService", "CreateDealFields", { parent: company });
    let created = dealFields.created;
    showDealFields(created, !created);
    for (let i = 0; i < 30 && !created; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      created = await dealFieldsExist();
    }
    showDealFields(created);
  } catch (error) {
    showDealFields(false);
    showError($("error"), error);
  }
}

// ------------------------------------------------------------------ invoice templates

const templateForm = () => $("template-form");

async function loadTemplates() {
  ({ templates = [] } = await rpc("SettingsService", "ListInvoiceTemplates", { parent: company }));
  $("template-list").replaceChildren(...(templates.length ? templates.map((template) =>
    el("li", { class: "template", "data-name": template.displayName },
      el("span", { class: "template-name" }, template.displayName),
      template.default ? el("span", { class: "badge" }, t("settings.templateIsDefault")) : null,
      el("button", { type: "button", class: "button", "aria-label": t("settings.templateEditNamed", { name: template.displayName }), onclick: () => editTemplate(template) }, t("settings.templateEdit")),
      el("button", { type: "button", class: "button danger", "aria-label": t("settings.templateDeleteNamed", { name: template.displayName }), onclick: () => deleteTemplate(template) }, t("settings.templateDelete")),
    )) : [el("li", { class: "muted" }, t("settings.templatesEmpty"))]));
  $("templates").hidden = false;
}

// Each sales custom field QuickBooks has turned on: not filled, a fixed value or a deal field.
function customFieldRows(values) {
  const given = Object.fromEntries((values || []).map((cf) => [cf.definitionId, cf]));
  const groups = {};
  for (const field of mappable) (groups[field.entity] ||= []).push(field);
  const rowsOf = (options.customFields || []).map((def, i) => {
    const current = given[def.id];
    const from = current?.source && sourceValue(current.source);
    const choice = from || (current?.value ? "=" : "");
    const select = el("select", { name: `cfSource${def.id}`, "data-definition": def.id, "data-field": `template.custom_fields[${i}].source` },
      el("option", { value: "", selected: choice === "" }, t("settings.templateCustomNone")),
      el("option", { value: "=", selected: choice === "=" }, t("settings.templateCustomFixed")),
      ...Object.entries(groups).map(([entity, list]) => el("optgroup", { label: t(`settings.entity.${entity}`) },
        ...list.map((field) => {
          const value = `${field.entity}|${field.fieldKey}`;
          return el("option", { value, selected: value === from }, `${t(`settings.entity.${entity}`)} · ${field.displayName}`);
        }))));
    const input = el("input", { name: `cfValue${def.id}`, maxlength: 31, value: from ? "" : current?.value || "", "data-field": `template.custom_fields[${i}].value` });
    const valueLabel = el("label", { class: "field" }, el("span", {}, t("settings.templateCustomValue", { name: def.displayName })), input);
    const show = () => { valueLabel.hidden = select.value !== "="; resize(); };
    select.addEventListener("change", show);
    const row = el("div", { class: "grid" },
      el("label", { class: "field" }, el("span", {}, t("settings.templateCustomField", { name: def.displayName })), select),
      valueLabel);
    show();
    return row;
  });
  $("template-custom-fields").replaceChildren(...(rowsOf.length ? rowsOf : [el("p", { class: "muted" }, t("settings.templateNoCustomFields"))]));
}

function editTemplate(template) {
  editing = template || {};
  const f = templateForm().elements;
  for (const node of templateForm().querySelectorAll(".field-error")) node.remove();
  $("template-form-heading").textContent = template ? t("settings.templateEditing", { name: template.displayName }) : t("settings.templateNew");
  f.displayName.value = editing.displayName || "";
  f.isDefault.checked = template ? Boolean(template.default) : !templates.length;
  const taxCodes = options.salesTaxCodes?.length ? options.salesTaxCodes : options.taxCodes;
  fillSelect(f.terms, editing.termsId, t("settings.templateCompanyDefault"), options.terms);
  fillSelect(f.taxCode, editing.taxCodeId, t("settings.templateCompanyDefault"), taxCodes);
  fillSelect(f.itemId, editing.itemId, t("settings.templateCompanyDefault"), options.items);
  // Class and location: only for a company that tracks them in QuickBooks (or a template that has one).
  fillSelect(f.classId, editing.classId, t("form.noClass"), options.classes, options.inactiveClasses);
  fillSelect(f.locationId, editing.locationId, t("form.noLocation"), options.locations);
  $("template-class-field").hidden = f.classId.options.length < 2;
  $("template-location-field").hidden = f.locationId.options.length < 2;
  f.memo.value = editing.customerMemo || "";
  f.privateNote.value = editing.privateNote || "";
  f.billEmailCc.value = editing.billEmailCc || "";
  f.billEmailBcc.value = editing.billEmailBcc || "";
  f.allowCard.checked = Boolean(editing.allowOnlineCreditCardPayment);
  f.allowAch.checked = Boolean(editing.allowOnlineAchPayment);
  customFieldRows(editing.customFields);
  templateForm().hidden = false;
  $("template-add").hidden = true;
  f.displayName.focus();
  resize();
}

function closeTemplate() {
  editing = null;
  templateForm().hidden = true;
  $("template-add").hidden = false;
  resize();
}

function collectTemplate() {
  const f = templateForm().elements;
  const customFields = [];
  for (const select of templateForm().querySelectorAll("select[data-definition]")) {
    const id = select.dataset.definition;
    if (select.value === "=") customFields.push({ definitionId: id, value: f[`cfValue${id}`].value.trim() });
    else if (select.value) customFields.push({ definitionId: id, source: source(select.value) });
  }
  return {
    ...(editing?.name ? { name: editing.name, etag: editing.etag } : {}),
    displayName: f.displayName.value.trim(),
    default: f.isDefault.checked,
    termsId: f.terms.value,
    taxCodeId: f.taxCode.value,
    itemId: f.itemId.value,
    classId: f.classId.value,
    locationId: f.locationId.value,
    customerMemo: f.memo.value,
    privateNote: f.privateNote.value,
    billEmailCc: f.billEmailCc.value.trim(),
    billEmailBcc: f.billEmailBcc.value.trim(),
    customFields,
    allowOnlineCreditCardPayment: f.allowCard.checked,
    allowOnlineAchPayment: f.allowAch.checked,
  };
}

async function saveTemplate(event) {
  event.preventDefault();
  for (const node of templateForm().querySelectorAll(".field-error")) node.remove();
  $("error").hidden = true;
  const button = $("template-save");
  button.disabled = true;
  const template = collectTemplate();
  try {
    if (editing?.name) await rpc("SettingsService", "UpdateInvoiceTemplate", { template });
    else await rpc("SettingsService", "CreateInvoiceTemplate", { parent: company, template });
    closeTemplate();
    await loadTemplates();
    await snackbar(t("settings.templateSaved", { name: template.displayName }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      closeTemplate();
      await loadTemplates();
      showError($("error"), new Error(t("settings.templateConflict")));
    } else if (error instanceof ApiError && error.fieldErrors.length) {
      for (const violation of error.fieldErrors) {
        const target = templateForm().querySelector(`[data-field="${CSS.escape(violation.field)}"]`) ||
          templateForm().querySelector(`[data-field^="${CSS.escape(violation.field.replace(/\.(value|source|definition_id)$/, ""))}"]`);
        const place = target?.closest("label") || templateForm().querySelector(".actions");
        place.append(el("span", { class: "field-error" }, tCode(violation)));
      }
      showError($("error"), new Error(t("form.fixErrors")));
    } else {
      showError($("error"), error);
    }
    resize();
  } finally {
    button.disabled = false;
  }
}

async function deleteTemplate(template) {
  const ok = await confirmAction({
    title: t("settings.templateDeleteTitle", { name: template.displayName }),
    description: t("settings.templateDeleteText"),
    okText: t("settings.templateDelete"),
    danger: true,
  });
  if (!ok) return;
  try {
    await rpc("SettingsService", "DeleteInvoiceTemplate", { name: template.name });
    if (editing?.name === template.name) closeTemplate();
    await loadTemplates();
    await snackbar(t("settings.templateDeleted", { name: template.displayName }));
  } catch (error) {
    showError($("error"), error);
  }
}

/** Bulk invoicing: a custom modal inside Pipedrive; outside it, the same page in this frame. */
async function openBulk() {
  if (inPipedrive()) await openModal({}, "dealbooks-bulk");
  else window.location.href = `/ui/bulk${window.location.search}`;
}

async function start() {
  try {
    await boot({ height: 900 });
    company = `companies/${session.companyId}`;
    if (!session.isAdmin) {
      showState(STATE.PERMISSION_DENIED);
      return;
    }
    await loadConnection();
    await loadSettings();
    form().hidden = false;
    await loadDealFields();
    await loadTemplates();
    await loadRules();
    $("bulk").hidden = false;
  } catch (error) {
    showState(stateOf(error), { error, retry: start });
  } finally {
    loaded();
  }
}

async function main() {
  // Back from Intuit in the sign-in window: nothing to show but that it worked.
  if (params.get("quickbooks") && !params.get("token") && window.opener) {
    document.body.replaceChildren(el("p", { role: "status", class: "done" }, t("settings.connectedDone")));
    setTimeout(() => window.close(), 800);
    return;
  }
  // Wired before anything loads: a click never lands on a button without its handler.
  for (const name of ["rule", "days", "dayOfMonth"]) form().elements[name].addEventListener("input", showExample);
  $("connect").addEventListener("click", () => connect().catch((error) => showError($("error"), error)));
  $("reconnect-now").addEventListener("click", () => connect().catch((error) => showError($("error"), error)));
  $("disconnect").addEventListener("click", disconnect);
  form().addEventListener("submit", save);
  $("deal-fields-create").addEventListener("click", createDealFields);
  $("template-add").addEventListener("click", () => editTemplate(null));
  $("template-cancel").addEventListener("click", closeTemplate);
  templateForm().addEventListener("submit", saveTemplate);
  $("bulk-open").addEventListener("click", () => openBulk().catch((error) => showError($("error"), error)));
  initRules(() => company, () => templates);
  await start();
}

main();
