// The host side of Pipedrive's app-extensions SDK protocol (reference §12.4): each iframe gets
// Pipedrive's URL parameters and a unique `id`; commands arrive as postMessage with a
// MessagePort and are answered once on it ({data} or {error}); listeners keep their port.
const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(location.search);
const settingsMode = location.pathname.startsWith("/settings/");
const listMode = location.pathname === "/deals/list";
const frames = new Map(); // SDK identifier -> {iframe, kind, initialized, listeners}
let state = null;
let userId = null;
let theme = query.get("theme") === "dark" ? "dark" : "light";
let modalDone = null;
// The app's custom modals, as registered in Developer Hub: action id -> iframe URL.
const MODALS = { "dealbooks-invoice": "/ui/invoice", "dealbooks-bulk": "/ui/bulk" };

async function json(path, init) {
  const response = await fetch(path, init);
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

async function signedToken() {
  const { token } = await json("/demo/token", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ userId }),
  });
  return token;
}

let seq = 0;
async function mount(iframe, path, extra = {}) {
  const id = `dealbooks-${iframe.dataset.kind}-${++seq}`;
  const params = new URLSearchParams({
    userId: String(userId), companyId: state.companyId, token: await signedToken(), id,
    resource: "deal", view: "details", theme, ...extra,
  });
  frames.set(id, { iframe, kind: iframe.dataset.kind, initialized: false, listeners: {} });
  iframe.dataset.sdkId = id;
  iframe.dataset.initialized = "false";
  iframe.hidden = false;
  iframe.src = `${path}?${params}`;
  // Pipedrive hides an extension that has not called INITIALIZE within 10 s.
  setTimeout(() => {
    const frame = frames.get(id);
    if (frame && !frame.initialized && iframe.dataset.kind === "panel") {
      iframe.hidden = true;
      $("panel-hidden").hidden = false;
    }
  }, 10_000);
  return id;
}

function emit(kind, event, data) {
  for (const frame of frames.values()) {
    if (kind && frame.kind !== kind) continue;
    const port = frame.listeners[event];
    if (port) port.postMessage({ data });
  }
}

function snackbar(message) {
  const bar = $("host-snackbar");
  bar.textContent = message;
  bar.hidden = false;
  clearTimeout(bar._timer);
  bar._timer = setTimeout(() => (bar.hidden = true), 5000);
}

function confirmDialog({ title, description, okText, cancelText, okColor }) {
  return new Promise((resolve) => {
    const dialog = $("confirm");
    $("confirm-title").textContent = title || "";
    $("confirm-text").textContent = description || "";
    $("confirm-ok").textContent = okText || "OK";
    $("confirm-cancel").textContent = cancelText || "Cancel";
    $("confirm-ok").className = okColor === "negative" ? "danger" : "primary";
    dialog.addEventListener("close", () => resolve({ confirmed: dialog.returnValue === "ok" }), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

function closeModal(status) {
  if ($("modal").hidden) return;
  const frame = $("modal-frame");
  frames.delete(frame.dataset.sdkId);
  frame.src = "about:blank";
  $("modal").hidden = true;
  emit("panel", "close_custom_modal", {});
  if (modalDone) modalDone({ status });
  modalDone = null;
}

async function command(frame, name, args) {
  switch (name) {
    case "initialize":
      frame.initialized = true;
      frame.iframe.dataset.initialized = "true";
      if (args?.size?.height) command(frame, "resize", args.size);
      return undefined;
    case "resize": {
      let height = Number(args?.height) || 0;
      if (frame.kind === "panel") height = Math.min(750, Math.max(100, height));
      // A custom modal is at most the browser's size; its content scrolls inside.
      if (frame.kind === "modal") height = Math.min(Math.round(innerHeight * 0.9), Math.max(120, height));
      if (height) frame.iframe.style.height = `${height}px`;
      frame.iframe.dataset.height = String(height);
      return undefined;
    }
    case "get_signed_token":
      return { token: await signedToken() };
    case "show_snackbar":
      snackbar(args?.message || "");
      return undefined;
    case "show_confirmation":
      return confirmDialog(args || {});
    case "open_modal": {
      if (args?.type !== "custom_modal") throw new Error(`The demo host only opens custom modals, not ${args?.type}`);
      const path = MODALS[args.action_id];
      if (!path) throw new Error(`No custom modal is registered as ${args.action_id}`);
      const extra = settingsMode || listMode || !state.deal ? {} : { selectedIds: String(state.deal.id) };
      if (args.data) extra.data = JSON.stringify(args.data);
      $("modal").hidden = false;
      await mount($("modal-frame"), path, extra);
      return new Promise((resolve) => (modalDone = resolve));
    }
    case "close_modal":
      if (frame.kind !== "modal") throw new Error("CLOSE_MODAL is for custom modals");
      setTimeout(() => closeModal("submitted"));
      return undefined;
    case "redirect_to":
      if (args?.view === "settings") location.href = settingsHref();
      else if (args?.view === "deals" && args.id) location.href = href({ deal: args.id });
      return undefined;
    case "get_metadata":
      return { windowHeight: innerHeight, windowWidth: innerWidth };
    default:
      return undefined; // floating window, notifications, focus mode: nothing to show here
  }
}

window.addEventListener("message", async (event) => {
  const message = event.data;
  if (!message || typeof message !== "object" || !message.payload || !message.id) return;
  const frame = frames.get(message.id);
  if (!frame || event.source !== frame.iframe.contentWindow) return;
  const { type, command: name, args, event: listened } = message.payload;
  const port = event.ports[0];
  if (type === "command" && port) {
    try {
      port.postMessage({ data: await command(frame, name, args) });
    } catch (error) {
      port.postMessage({ error: String(error?.message || error) });
    }
  } else if (type === "listener" && port) {
    frame.listeners[listened] = port;
  }
});

function href(changes) {
  const next = new URLSearchParams({ deal: String(state?.deal?.id || ""), user: String(userId), theme, ...changes });
  return `/?${next}`;
}

function settingsHref() {
  return `/settings/marketplace/app/${state.clientId}/app-settings?${new URLSearchParams({ user: String(userId), theme })}`;
}

// The deals list with the app's list action: the modal gets the selected deals' ids,
// comma-separated, in `selectedIds`, and `view=list` ([U]: the reference documents the
// parameter for a deal's details; a list's selection most likely comes the same way).
function renderList() {
  const boxes = () => [...$("deal-list").querySelectorAll("input[type=checkbox]")];
  const chosen = () => boxes().filter((box) => box.checked).map((box) => box.value);
  const update = () => {
    $("list-invoice").disabled = chosen().length === 0;
  };
  $("deal-list").tBodies[0].replaceChildren(...state.deals.map((deal) => {
    const tr = document.createElement("tr");
    const box = Object.assign(document.createElement("input"), { type: "checkbox", value: String(deal.id) });
    box.setAttribute("aria-label", `Select ${deal.title}`);
    box.addEventListener("change", update);
    const cells = [box, deal.title, deal.status];
    for (const value of cells) {
      const td = document.createElement("td");
      td.append(value);
      tr.append(td);
    }
    return tr;
  }));
  $("list-invoice").addEventListener("click", async () => {
    $("modal").hidden = false;
    await mount($("modal-frame"), MODALS["dealbooks-bulk"], { view: "list", selectedIds: chosen().join(",") });
  });
}

function renderDeal() {
  const deal = state.deal;
  $("deal-title").textContent = deal.title;
  const money = (value) => new Intl.NumberFormat("en-US", { style: "currency", currency: deal.currency }).format(value);
  $("deal-value").textContent = money(deal.value);
  const facts = [["Organization", deal.organization], ["Address", deal.address], ["Person", deal.person], ["Email", deal.email]];
  $("deal-facts").replaceChildren(...facts.flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v || "—";
    return [dt, dd];
  }));
  $("products").tBodies[0].replaceChildren(...deal.products.map((p) => {
    const tr = document.createElement("tr");
    for (const value of [p.name, p.quantity, money(p.price), p.discount, money(p.sum)]) {
      const td = document.createElement("td"); td.textContent = value; tr.append(td);
    }
    return tr;
  }));
}

async function loadQuickBooksInvoices() {
  const { invoices } = await json("/demo/quickbooks/invoices");
  const select = $("payment-invoice");
  const current = select.value;
  select.replaceChildren(...invoices.filter((i) => !i.voided && Number(i.balance) > 0).map((i) => {
    const option = document.createElement("option");
    option.value = i.id;
    option.textContent = `#${i.number} ${i.customer} — balance ${i.balance} ${i.currency}`;
    option.dataset.balance = i.balance;
    option.selected = i.id === current;
    return option;
  }));
  if (!$("payment-amount").value && select.selectedOptions[0]) $("payment-amount").value = select.selectedOptions[0].dataset.balance;
}

async function recordPayment(event) {
  event.preventDefault();
  const invoiceId = $("payment-invoice").value;
  const amount = $("payment-amount").value;
  try {
    const { balance } = await json("/demo/quickbooks/payments", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ invoiceId, amount }),
    });
    $("payment-result").textContent = `Payment of ${amount} recorded in QuickBooks; balance now ${balance}.`;
    $("payment-amount").value = "";
    await loadQuickBooksInvoices();
  } catch (error) {
    $("payment-result").textContent = String(error.message || error);
  }
}

async function main() {
  state = await json(`/demo/state?${new URLSearchParams({ deal: query.get("deal") || "" })}`);
  const admin = state.users.find((u) => u.isAdmin) || state.users[0];
  userId = Number(query.get("user")) || admin.id;
  document.documentElement.dataset.theme = theme;
  $("user-select").replaceChildren(...state.users.map((u) => {
    const option = document.createElement("option");
    option.value = u.id;
    option.textContent = `${u.name} (${u.locale}${u.isAdmin ? ", admin" : ""})`;
    option.selected = u.id === userId;
    return option;
  }));
  $("deal-select").replaceChildren(...state.deals.map((d) => {
    const option = document.createElement("option");
    option.value = d.id;
    option.textContent = d.title;
    option.selected = d.id === state.deal?.id;
    return option;
  }));
  $("theme-select").value = theme;
  $("user-select").addEventListener("change", (e) => {
    const here = new URLSearchParams({ user: e.target.value, theme });
    if (settingsMode) location.href = `/settings/marketplace/app/${state.clientId}/app-settings?${here}`;
    else if (listMode) location.href = `/deals/list?${here}`;
    else location.href = href({ user: e.target.value });
  });
  $("deal-select").addEventListener("change", (e) => (location.href = href({ deal: e.target.value })));
  $("theme-select").addEventListener("change", (e) => {
    theme = e.target.value;
    document.documentElement.dataset.theme = theme;
    emit(null, "user_settings_change", { theme });
  });
  $("settings-link").href = settingsHref();
  $("list-link").href = `/deals/list?${new URLSearchParams({ user: String(userId), theme })}`;
  $("modal-close").addEventListener("click", () => closeModal("closed"));
  if (settingsMode) {
    $("settings-view").hidden = false;
    await mount($("settings-frame"), "/ui/settings");
    return;
  }
  if (listMode) {
    $("list-view").hidden = false;
    renderList();
    return;
  }
  $("deal-view").hidden = false;
  renderDeal();
  $("panel-toggle").addEventListener("click", () => {
    const open = $("panel-toggle").getAttribute("aria-expanded") !== "true";
    $("panel-toggle").setAttribute("aria-expanded", String(open));
    $("panel-frame").hidden = !open;
    emit("panel", "visibility", { is_visible: open, context: { invoker: "user" } });
  });
  await mount($("panel-frame"), "/ui/panel", { selectedIds: String(state.deal.id) });
  $("payment-form").addEventListener("submit", recordPayment);
  $("payment-invoice").addEventListener("change", () => ($("payment-amount").value = $("payment-invoice").selectedOptions[0]?.dataset.balance || ""));
  await loadQuickBooksInvoices();
  setInterval(() => loadQuickBooksInvoices().catch(() => {}), 4000);
}

main().catch((error) => {
  document.body.prepend(Object.assign(document.createElement("p"), { role: "alert", textContent: String(error) }));
});
