// The settings' invoicing rules (issue 17): "when a deal is won" or "when it enters a stage",
// in a pipeline or any, with a template; listed with an on/off switch and Delete, added below.
// Pipeline and stage are picked by name from Pipedrive (ids typed in when it cannot be read).
import { confirmAction, el, resize, rpc, showError, snackbar, t, tCode } from "./core.js";

const $ = (id) => document.getElementById(id);
const ruleForm = () => $("rule-form");
let company = () => "";
let templates = () => [];

/** Where a stage id is: its stage and pipeline, or nothing (deleted, or not read). */
function findStage(pipelines, stageId) {
  for (const pipeline of pipelines || []) {
    const stage = (pipeline.stages || []).find((candidate) => candidate.id === stageId);
    if (stage) return { stage, pipeline };
  }
  return null;
}

/** What the rule does, in words: "When a deal enters “Proposal made”, in “Sales pipeline”,
 * the default template". With ``pipelines`` null (Pipedrive unread) the ids are said; an id
 * Pipedrive no longer has is said with "(deleted)". */
export function describeRule(rule, templateList, pipelines = null) {
  const stage = rule.trigger === "INVOICE_RULE_TRIGGER_STAGE";
  let when = t("settings.ruleDescribeWon");
  if (stage && pipelines === null) when = t("settings.ruleDescribeStage", { stage: rule.stageId });
  else if (stage) {
    const found = findStage(pipelines, rule.stageId);
    when = found
      ? t("settings.ruleDescribeStageNamed", { stage: found.stage.displayName })
      : t("settings.ruleDescribeStageGone", { stage: rule.stageId });
  }
  let where = t("settings.ruleAnyPipeline");
  if (rule.pipelineId && pipelines === null) where = t("settings.ruleInPipeline", { pipeline: rule.pipelineId });
  else if (rule.pipelineId) {
    const pipeline = pipelines.find((candidate) => candidate.id === rule.pipelineId);
    where = pipeline
      ? t("settings.ruleInPipelineNamed", { pipeline: pipeline.displayName })
      : t("settings.ruleInPipelineGone", { pipeline: rule.pipelineId });
  }
  const parts = [when, where];
  const template = templateList.find((candidate) => candidate.name === rule.template);
  parts.push(template ? t("settings.ruleWithTemplate", { name: template.displayName }) : t("settings.ruleWithDefault"));
  return parts.join(", ");
}

// The company's pipelines with their stages, read once per page (10 Pipedrive tokens); null
// when Pipedrive could not be read, and the form then takes ids.
let pipelinesRead = null;
function loadPipelines() {
  pipelinesRead ??= rpc("SettingsService", "ListPipelines", { parent: company() })
    .then(({ pipelines = [] }) => pipelines)
    .catch(() => null);
  return pipelinesRead;
}

const stageOption = (stage, chosen) => el("option", { value: stage.id, selected: stage.id === chosen }, stage.displayName);

/** The stages of the chosen pipeline; for "any pipeline", every stage, grouped by pipeline. */
export function stageOptions(pipelines, pipelineId, chosen = "") {
  const options = [el("option", { value: "" }, t("settings.ruleChooseStage"))];
  const pipeline = pipelines.find((candidate) => candidate.id === pipelineId);
  if (pipeline) return [...options, ...(pipeline.stages || []).map((stage) => stageOption(stage, chosen))];
  return [...options, ...pipelines.map((each) => el("optgroup", { label: each.displayName },
    ...(each.stages || []).map((stage) => stageOption(stage, chosen))))];
}

function fillPickers(pipelines) {
  const f = ruleForm().elements;
  if (f.pipelineId.tagName !== "SELECT") return;
  const pipelineId = f.pipelineId.value;
  f.pipelineId.replaceChildren(
    el("option", { value: "" }, t("settings.ruleAnyPipelineOption")),
    ...pipelines.map((pipeline) => el("option", { value: pipeline.id, selected: pipeline.id === pipelineId }, pipeline.displayName)),
  );
  fillStages(pipelines);
}

function fillStages(pipelines) {
  const f = ruleForm().elements;
  if (f.stageId.tagName !== "SELECT") return;
  f.stageId.replaceChildren(...stageOptions(pipelines, f.pipelineId.value, f.stageId.value));
}

/** Pipedrive unread: the pickers become the id inputs they replaced, with a note. */
function useIdInputs() {
  const note = $("rule-pipedrive-note");
  if (!note.hidden) return;
  for (const [name, key, field] of [["pipelineId", "settings.rulePipelineId", "rule.pipeline_id"], ["stageId", "settings.ruleStageId", "rule.stage_id"]]) {
    const select = ruleForm().elements[name];
    const label = select.closest("label");
    const span = label.querySelector("span");
    span.dataset.i18n = key;
    span.textContent = t(key);
    select.replaceWith(el("input", { name, inputmode: "numeric", maxlength: "18", autocomplete: "off", "data-field": field }));
  }
  note.hidden = false;
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
  const [{ rules = [] }, pipelines] = await Promise.all([
    rpc("SettingsService", "ListInvoiceRules", { parent: company() }),
    loadPipelines(),
  ]);
  if (pipelines === null) useIdInputs();
  else fillPickers(pipelines);
  const list = templates();
  $("rule-list").replaceChildren(...(rules.length ? rules.map((rule) => {
    const words = describeRule(rule, list, pipelines);
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
    const pipelines = await loadPipelines();
    if (pipelines) fillStages(pipelines);
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
  ruleForm().addEventListener("change", async (event) => {
    if (event.target.name !== "pipelineId" || event.target.tagName !== "SELECT") return;
    const pipelines = await loadPipelines();
    if (pipelines) fillStages(pipelines);
  });
  ruleForm().addEventListener("submit", addRule);
}
