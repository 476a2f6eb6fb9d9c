// The settings' invoicing rules (issue 17): "when a deal is won" or "when it enters a stage",
// in a pipeline or any, with a template; listed with an on/off switch and Delete, added below.
import { confirmAction, el, resize, rpc, showError, snackbar, t, tCode } from "./core.js";

const $ = (id) => document.getElementById(id);
const ruleForm = () => $("rule-form");
let company = () => "";
let templates = () => [];

/** What the rule does, in words ("When a deal is won, in any pipeline, template “Retainer”"). */
export function describeRule(rule, templateList) {
  const stage = rule.trigger === "INVOICE_RULE_TRIGGER_STAGE";
  const parts = [
    stage ? t("settings.ruleDescribeStage", { stage: rule.stageId }) : t("settings.ruleDescribeWon"),
    rule.pipelineId ? t("settings.ruleInPipeline", { pipeline: rule.pipelineId }) : t("settings.ruleAnyPipeline"),
  ];
  const template = templateList.find((candidate) => candidate.name === rule.template);
  parts.push(template ? t("settings.ruleWithTemplate", { name: template.displayName }) : t("settings.ruleWithDefault"));
  return parts.join(", ");
}

function fillTemplates() {
  const select = ruleForm().elements.template;
  const chosen = select.value;
  select.replaceChildren(
    el("option", { value: "" }, t("settings.ruleDefaultTemplate")),
    ...templates().map((template) => el("option", { value: template.name, selected: template.name === chosen }, template.displayName)),
  );
}

export async function loadRules() {
  const { rules = [] } = await rpc("SettingsService", "ListInvoiceRules", { parent: company() });
  const list = templates();
  $("rule-list").replaceChildren(...(rules.length ? rules.map((rule) => {
    const words = describeRule(rule, list);
    const toggle = el("input", { type: "checkbox", checked: rule.enabled, "aria-label": t("settings.ruleEnabledNamed", { name: words }) });
    toggle.addEventListener("change", () => saveRule({ ...rule, enabled: toggle.checked }, toggle));
    return el("li", { class: "template rule", "data-rule": rule.name },
      el("span", { class: "template-name" }, words),
      el("label", { class: "check" }, toggle, " ", el("span", {}, t("settings.ruleEnabled"))),
      el("button", { type: "button", class: "button danger", "aria-label": t("settings.ruleDeleteNamed", { name: words }), onclick: () => deleteRule(rule, words) }, t("settings.ruleDelete")),
    );
  }) : [el("li", { class: "muted" }, t("settings.rulesEmpty"))]));
  fillTemplates();
  $("rules").hidden = false;
  resize();
}

async function saveRule(rule, control) {
  const { name, createTime, ...fields } = rule; // output-only fields are not sent
  control.disabled = true;
  try {
    await rpc("SettingsService", "UpdateInvoiceRule", { rule: { name, ...fields } });
    await snackbar(t("settings.ruleSaved"));
  } catch (error) {
    showError($("error"), error);
  } finally {
    await loadRules();
  }
}

async function deleteRule(rule, words) {
  const ok = await confirmAction({ title: t("settings.ruleDeleteNamed", { name: words }), okText: t("settings.ruleDelete"), danger: true });
  if (!ok) return;
  try {
    await rpc("SettingsService", "DeleteInvoiceRule", { name: rule.name });
    await loadRules();
    await snackbar(t("settings.ruleDeleted"));
  } catch (error) {
    showError($("error"), error);
  }
}

function showStage() {
  const f = ruleForm().elements;
  $("rule-stage-field").hidden = f.trigger.value !== "INVOICE_RULE_TRIGGER_STAGE";
  resize();
}

async function addRule(event) {
  event.preventDefault();
  const f = ruleForm().elements;
  for (const node of ruleForm().querySelectorAll(".field-error")) node.remove();
  const stage = f.trigger.value === "INVOICE_RULE_TRIGGER_STAGE";
  const rule = {
    trigger: f.trigger.value,
    stageId: stage ? f.stageId.value.trim() : "",
    pipelineId: f.pipelineId.value.trim(),
    template: f.template.value,
    enabled: true,
  };
  const button = $("rule-add");
  button.disabled = true;
  try {
    await rpc("SettingsService", "CreateInvoiceRule", { parent: company(), rule });
    ruleForm().reset();
    showStage();
    await loadRules();
    await snackbar(t("settings.ruleSaved"));
  } catch (error) {
    const errors = error.fieldErrors || [];
    if (!errors.length) showError($("error"), error);
    for (const violation of errors) {
      const target = ruleForm().querySelector(`[data-field="${CSS.escape(violation.field)}"]`);
      const place = target?.closest("label") || ruleForm().querySelector(".actions");
      place.append(el("span", { class: "field-error", role: "alert" }, tCode(violation)));
    }
    resize();
  } finally {
    button.disabled = false;
  }
}

/** Wire the section once, before anything loads; the getters give the company and the
 * templates as loaded. */
export function initRules(companyOf, templatesOf) {
  company = companyOf;
  templates = templatesOf;
  ruleForm().elements.trigger.addEventListener("change", showStage);
  ruleForm().addEventListener("submit", addRule);
}
