// The sandbox page: a small Slack drawn from what the bot sent the fake Web API.
// Every click, keystroke and submission goes to /api/*, which sends it to the bot as Slack does.
"use strict";

// --- page state -----------------------------------------------------------------------------

const ui = {
  user: localStorage.getItem("licensebot.user") || "U0ANN",
  place: localStorage.getItem("licensebot.place") || "C0GENERAL", // a channel id, "dm" or "home"
  data: null, // the last GET /api/state
  pending: new Set(), // surfaces waiting for the bot: "modal", "home", "msg:<ts>", "composer"
  errors: {}, // view id -> {hash, errors}: the last submission's errors (Slack's or the bot's)
  seen: JSON.parse(localStorage.getItem("licensebot.seen") || "{}"), // "user:channel" -> last ts
  // workspace id -> the user last chosen there: switching back to a workspace returns to them.
  lastUser: JSON.parse(localStorage.getItem("licensebot.lastUser") || "{}"),
  notice: null, // Slackbot's answer to a command where licensebot is not installed
};

const $ = (selector) => document.querySelector(selector);

// --- talking to the server ------------------------------------------------------------------

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `${path}: HTTP ${response.status}`);
  return data;
}

let refreshing = null;
let refreshAgain = false;

// Reads the whole state; calls during a read are folded into one more read after it.
function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      refreshAgain = false;
      try {
        const data = await api(`/api/state?user=${encodeURIComponent(ui.user)}`);
        if (data.me !== ui.user) {
          refreshAgain = true; // the user was switched while this was read
          continue;
        }
        ui.data = data;
        render();
      } catch (error) {
        if (error.message.startsWith("unknown user") && ui.user !== "U0ANN") {
          ui.user = "U0ANN"; // a remembered user this workspace does not have
          refreshAgain = true;
        } else {
          toast(error.message);
        }
      }
    } while (refreshAgain);
  })().finally(() => { refreshing = null; });
  return refreshing;
}

// A request on behalf of a surface: its buttons stay disabled until the bot has answered.
async function send(surfaceKey, path, body) {
  ui.pending.add(surfaceKey);
  render();
  try {
    const result = await api(path, body);
    if (result.status && result.status !== 200) toast(`The bot answered HTTP ${result.status}.`);
    return result;
  } catch (error) {
    toast(error.message);
    return null;
  } finally {
    ui.pending.delete(surfaceKey);
    await refresh();
  }
}

const typing = { running: false, next: null };

// Keystrokes in a dispatching input, one at a time: each waits for the bot's update of the view.
async function typeInto(request) {
  if (typing.running) {
    typing.next = request;
    return;
  }
  typing.running = true;
  try {
    const result = await api("/api/type", request);
    if (result.status !== 200) toast(`The bot answered HTTP ${result.status}.`);
  } catch (error) {
    toast(error.message);
  } finally {
    typing.running = false;
  }
  const next = typing.next;
  typing.next = null;
  if (next) await typeInto(next);
  else await refresh();
}

function listen() {
  const live = $("#live");
  const events = new EventSource("/api/events");
  events.addEventListener("open", () => {
    live.textContent = "● live";
    live.classList.add("on");
    refresh();
  });
  events.addEventListener("error", () => {
    live.textContent = "reconnecting…";
    live.classList.remove("on");
  });
  events.addEventListener("changed", () => refresh());
}

// --- small helpers --------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "html") node.innerHTML = value; // only ever escaped markup from below
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

// Slack escapes &, < and > in message text; undo that before escaping for HTML.
function decodeEntities(text) {
  return String(text).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function nameOf(userId) {
  return (ui.data && ui.data.names[userId]) || userId || "someone";
}

function channelName(channelId) {
  const found = ui.data && ui.data.conversations.find((c) => c.id === channelId);
  return found ? found.name : channelId;
}

function toast(message) {
  const box = $("#toast");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

function clock(ts) {
  const when = new Date(Number(ts) * 1000);
  return when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// --- mrkdwn -----------------------------------------------------------------------------------

// Slack draws emoji as images, never with the system's emoji font (which many machines lack,
// and then show empty boxes): so does this page, with one SVG a name in /static/emoji/,
// drawn for the sandbox. Each name's character is drawn with the same image. A shortcode
// with no image stays as it was typed, as in Slack.
const EMOJI = {
  white_check_mark: "✅", x: "❌", warning: "⚠️", hourglass_flowing_sand: "⏳", bell: "🔔",
  information_source: "ℹ️", inbox_tray: "📥", outbox_tray: "📤", no_entry: "⛔", tada: "🎉",
  wave: "👋", bulb: "💡", lock: "🔒", memo: "📝", moneybag: "💰", calendar: "📅", key: "🔑",
  link: "🔗", rotating_light: "🚨",
};
const EMOJI_BY_CHAR = new Map(
  Object.entries(EMOJI).map(([name, char]) => [char.replace(/\uFE0F/g, ""), name]));
const EMOJI_CHARS = new RegExp(`(?:${[...EMOJI_BY_CHAR.keys()].join("|")})\uFE0F?`, "gu");

function emojiImage(name) {
  return `<img class="emoji" src="/static/emoji/${name}.svg" alt=":${name}:" title=":${name}:" ` +
    `aria-label="${name.replace(/_/g, " ")} emoji" data-emoji="${name}" draggable="false">`;
}

// Emoji in escaped text as images; `wrap` may set each image aside (see inline).
function emoji(html, wrap = (image) => image) {
  return html
    .replace(/:([a-z0-9_+-]+):/g, (whole, name) =>
      (Object.hasOwn(EMOJI, name) ? wrap(emojiImage(name)) : whole))
    .replace(EMOJI_CHARS, (char) => wrap(emojiImage(EMOJI_BY_CHAR.get(char.replace(/\uFE0F/g, "")))));
}

// One `<…>` of Slack's markup: a mention, a channel, a special mention or a link.
function special(inner) {
  const bar = inner.indexOf("|");
  const target = bar < 0 ? inner : inner.slice(0, bar);
  const label = bar < 0 ? "" : decodeEntities(inner.slice(bar + 1));
  if (target.startsWith("@")) {
    return `<span class="mention">@${escapeHtml(label || nameOf(target.slice(1)))}</span>`;
  }
  if (target.startsWith("#")) {
    return `<span class="mention">#${escapeHtml(label || channelName(target.slice(1)))}</span>`;
  }
  if (target.startsWith("!")) {
    return `<span class="mention">@${escapeHtml(label || target.slice(1).split("^")[0])}</span>`;
  }
  const url = decodeEntities(target);
  if (!/^(https?:|mailto:)/i.test(url)) return escapeHtml(`<${decodeEntities(inner)}>`);
  const text = escapeHtml(label || url);
  return `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${text}</a>`;
}

// One line: code spans and <…> are set aside, the rest escaped, then *bold* _italic_ ~strike~.
function inline(text) {
  const kept = [];
  const keep = (html) => `\u0000${kept.push(html) - 1}\u0000`;
  let html = String(text)
    .replace(/`([^`\n]+)`/g, (_, code) => keep(`<code>${escapeHtml(decodeEntities(code))}</code>`))
    .replace(/<([^<>\s][^<>]*)>/g, (_, inner) => keep(special(inner)));
  // Emoji images are set aside too: their names must not be read as _italic_.
  html = emoji(escapeHtml(decodeEntities(html)), keep)
    .replace(/(^|[^\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])/g, "$1<b>$2</b>")
    .replace(/(^|[^\w_])_(?!\s)([^_\n]+?)_(?![\w_])/g, "$1<i>$2</i>")
    .replace(/(^|[^\w~])~(?!\s)([^~\n]+?)~(?![\w~])/g, "$1<s>$2</s>");
  return html.replace(/\u0000(\d+)\u0000/g, (_, index) => kept[Number(index)]);
}

// Slack's mrkdwn as safe HTML: lines, "> " quotes, and the inline marks above.
function mrkdwn(text) {
  const parts = [];
  for (const line of String(text ?? "").split("\n")) {
    const quoted = /^(?:>|&gt;) ?(.*)$/.exec(line);
    const last = parts[parts.length - 1];
    if (quoted && last && last.quote) last.lines.push(quoted[1]);
    else parts.push({ quote: Boolean(quoted), lines: [quoted ? quoted[1] : line] });
  }
  let html = "";
  parts.forEach((part, index) => {
    const body = part.lines.map(inline).join("<br>");
    if (part.quote) html += `<blockquote>${body}</blockquote>`;
    else html += (index > 0 && !parts[index - 1].quote ? "<br>" : "") + body;
  });
  return html;
}

function plainHtml(textObject) {
  if (!textObject) return "";
  const text = typeof textObject === "string" ? textObject : textObject.text;
  const html = escapeHtml(text);
  return textObject.emoji === false ? html : emoji(html);
}

function textHtml(textObject) {
  if (!textObject) return "";
  return textObject.type === "mrkdwn" ? mrkdwn(textObject.text) : plainHtml(textObject);
}

// --- Block Kit --------------------------------------------------------------------------------

// ctx: {surface: "modal"|"home"|"message", surfaceKey, viewId, channel, ts, state}
function renderBlocks(blocks, ctx) {
  return (blocks || []).map((block) => renderBlock(block, ctx));
}

function renderBlock(block, ctx) {
  const draw = BLOCKS[block.type] || unsupported;
  const node = draw(block, ctx);
  node.classList.add("bk-block", `bk-${block.type}`);
  node.dataset.blockId = block.block_id || "";
  node.dataset.key = `${ctx.viewId || ""}:${JSON.stringify(block)}`;
  return node;
}

const BLOCKS = {
  header: (block) => el("h2", { html: plainHtml(block.text) }),
  divider: () => el("hr"),
  section: sectionBlock,
  context: (block) => el("div", {}, (block.elements || []).map(contextElement)),
  actions: (block, ctx) => el("div", {}, block.elements.map((e) => renderElement(e, block, ctx))),
  input: inputBlock,
  image: (block) => el("div", {}, `[image: ${block.alt_text || ""}]`),
};

function unsupported(block) {
  return el("div", { class: "bk-unsupported" }, `(a ${block.type} block: not drawn here)`);
}

function sectionBlock(block, ctx) {
  const fields = block.fields && el("div", { class: "bk-fields" },
    block.fields.map((field) => el("div", { class: "bk-field", html: textHtml(field) })));
  const body = el("div", { class: "bk-section-body" },
    block.text && el("div", { class: "bk-text", html: textHtml(block.text) }),
    fields);
  const accessory = block.accessory &&
    el("div", { class: "bk-accessory" }, renderElement(block.accessory, block, ctx));
  return el("div", {}, body, accessory);
}

function contextElement(element) {
  if (element.type === "image") return el("span", {}, `[${element.alt_text || "image"}]`);
  return el("span", { html: textHtml(element) });
}

function renderElement(element, block, ctx) {
  if (element.type === "button") return buttonElement(element, ctx);
  return el("span", { class: "bk-unsupported" }, `(${element.type})`);
}

function buttonElement(element, ctx) {
  return el("button", {
    type: "button",
    class: `bk-button ${element.style || ""}`,
    dataset: { actionId: element.action_id || "" },
    disabled: ui.pending.has(ctx.surfaceKey),
    onclick: () => pressButton(element, ctx),
  }, el("span", { html: plainHtml(element.text) }));
}

async function pressButton(element, ctx) {
  if (element.confirm && !(await confirmDialog(element.confirm))) return;
  if (element.url) window.open(element.url, "_blank", "noopener");
  await send(ctx.surfaceKey, "/api/click", {
    user: ui.user,
    surface: ctx.surface,
    view_id: ctx.viewId || undefined,
    channel: ctx.channel,
    ts: ctx.ts,
    action_id: element.action_id,
  });
}

function confirmDialog(confirm) {
  return new Promise((resolve) => {
    const layer = $("#confirm-layer");
    const done = (answer) => {
      layer.hidden = true;
      layer.replaceChildren();
      resolve(answer);
    };
    const style = confirm.style === "danger" ? "danger" : "primary";
    layer.replaceChildren(el("div", { class: "modal confirm", role: "dialog", "data-testid": "confirm" },
      el("header", {}, el("h2", { html: plainHtml(confirm.title) || "Are you sure?" })),
      el("div", { class: "modal-body", html: textHtml(confirm.text) }),
      el("footer", {},
        el("button", { type: "button", class: "bk-button", onclick: () => done(false) },
          (confirm.deny && confirm.deny.text) || "Cancel"),
        el("button", { type: "button", class: `bk-button ${style}`, onclick: () => done(true) },
          (confirm.confirm && confirm.confirm.text) || "Yes"))));
    layer.hidden = false;
  });
}

// --- inputs -------------------------------------------------------------------------------------

function inputBlock(block, ctx) {
  const id = `in-${ctx.viewId}-${block.block_id}`;
  const optional = block.optional ? ' <span class="optional">(optional)</span>' : "";
  return el("div", {},
    el("label", { class: "bk-label", for: id, id: `${id}-label`, html: plainHtml(block.label) + optional }),
    inputElement(block.element, block, ctx, id),
    block.hint && el("div", { class: "bk-hint", html: plainHtml(block.hint) }),
    el("div", { class: "bk-error", "data-testid": `error-${block.block_id}`, role: "alert" }));
}

function inputElement(element, block, ctx, id) {
  const make = INPUTS[element.type];
  if (!make) return el("div", { class: "bk-unsupported" }, `(${element.type}: not drawn here)`);
  const saved = ((ctx.state || {}).values || {})[block.block_id] || {};
  const node = make(element, saved[element.action_id] || {}, id);
  Object.assign(node.dataset, {
    actionId: element.action_id, blockId: block.block_id, type: element.type,
  });
  const dispatching = ["number_input", "plain_text_input"].includes(element.type);
  if (block.dispatch_action && dispatching) wireDispatch(node, element, block, ctx);
  return node;
}

const INPUTS = {
  number_input: (element, saved, id) => withValue(el("input", {
    id,
    type: "number",
    class: "bk-control",
    step: element.is_decimal_allowed ? "any" : "1",
    inputmode: element.is_decimal_allowed ? "decimal" : "numeric",
    min: element.min_value,
    max: element.max_value,
    placeholder: element.placeholder && element.placeholder.text,
  }), saved.value ?? element.initial_value),
  plain_text_input: (element, saved, id) => withValue(el(element.multiline ? "textarea" : "input", {
    id,
    type: element.multiline ? null : "text",
    rows: element.multiline ? 3 : null,
    class: "bk-control",
    maxlength: element.max_length,
    placeholder: element.placeholder && element.placeholder.text,
  }), saved.value ?? element.initial_value),
  datepicker: (element, saved, id) => withValue(el("input", {
    id, type: "date", class: "bk-control",
  }), saved.selected_date ?? element.initial_date),
  radio_buttons: radioButtons,
  static_select: staticSelect,
};

function withValue(node, value) {
  if (value !== undefined && value !== null) node.value = value;
  return node;
}

function radioButtons(element, saved, id) {
  const picked = (saved.selected_option || element.initial_option || {}).value;
  return el("div", { class: "bk-radios", role: "radiogroup", id, "aria-labelledby": `${id}-label` },
    element.options.map((option) => el("label", { class: "bk-radio" },
      el("input", {
        type: "radio",
        name: id,
        value: option.value,
        checked: option.value === picked,
        dataset: { option: JSON.stringify(option) },
      }),
      el("span", { html: textHtml(option.text) }),
      option.description && el("small", { html: textHtml(option.description) }))));
}

function staticSelect(element, saved, id) {
  const picked = (saved.selected_option || element.initial_option || {}).value;
  const options = (element.options || []).map((option) => el("option", {
    value: option.value,
    selected: option.value === picked,
    dataset: { option: JSON.stringify(option) },
  }, option.text.text));
  const placeholder = el("option", { value: "" }, (element.placeholder || {}).text || "Choose…");
  return el("select", { id, class: "bk-control" }, placeholder, options);
}

function wireDispatch(node, element, block, ctx) {
  const config = element.dispatch_action_config || {};
  const on = config.trigger_actions_on || ["on_enter_pressed"];
  const fire = () => typeInto({
    user: ui.user,
    view_id: ctx.viewId,
    block_id: block.block_id,
    action_id: element.action_id,
    value: node.value,
  });
  if (on.includes("on_character_entered")) node.addEventListener("input", fire);
  if (on.includes("on_enter_pressed")) {
    node.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && node.tagName !== "TEXTAREA") {
        event.preventDefault();
        fire();
      }
    });
  }
}

// The modal's inputs in Slack's state shape: {block_id: {action_id: {type, value…}}}.
function collectValues(container) {
  const values = {};
  for (const node of container.querySelectorAll(".bk-input [data-action-id][data-type]")) {
    const { blockId, actionId, type } = node.dataset;
    values[blockId] = values[blockId] || {};
    values[blockId][actionId] = readValue(node, type);
  }
  return values;
}

function readValue(node, type) {
  if (type === "radio_buttons" || type === "static_select") {
    const picked = type === "radio_buttons" ? node.querySelector("input:checked") : node.selectedOptions[0];
    const option = picked && picked.dataset.option ? JSON.parse(picked.dataset.option) : null;
    return { type, selected_option: option };
  }
  if (type === "datepicker") return { type, selected_date: node.value || null };
  return { type, value: node.value === "" ? null : node.value };
}

// What Slack itself checks before it sends a view_submission.
function checkInputs(view, values) {
  const errors = {};
  for (const block of view.blocks) {
    if (block.type !== "input" || !block.element) continue;
    const element = block.element;
    const value = (values[block.block_id] || {})[element.action_id] || {};
    const given = value.value ?? value.selected_date ?? value.selected_option;
    if (given === null || given === undefined || given === "") {
      if (!block.optional) errors[block.block_id] = "Please complete this required field.";
      continue;
    }
    const problem = element.type === "number_input" ? numberProblem(element, value.value)
      : element.type === "plain_text_input" ? lengthProblem(element, value.value) : null;
    if (problem) errors[block.block_id] = problem;
  }
  return errors;
}

function numberProblem(element, raw) {
  const number = Number(raw);
  if (!Number.isFinite(number)) return "Enter a number.";
  if (!element.is_decimal_allowed && !Number.isInteger(number)) return "Enter a whole number.";
  if (element.min_value !== undefined && number < Number(element.min_value)) {
    return `Enter a number of at least ${element.min_value}.`;
  }
  if (element.max_value !== undefined && number > Number(element.max_value)) {
    return `Enter a number of at most ${element.max_value}.`;
  }
  return null;
}

function lengthProblem(element, text) {
  if (element.min_length && text.length < element.min_length) {
    return `Enter at least ${element.min_length} characters.`;
  }
  if (element.max_length && text.length > element.max_length) {
    return `Enter at most ${element.max_length} characters.`;
  }
  return null;
}

// --- modals ---------------------------------------------------------------------------------------

function topModal() {
  const stack = (ui.data && ui.data.modals) || [];
  return stack[stack.length - 1] || null;
}

function renderModal() {
  const layer = $("#modal-layer");
  const view = topModal();
  if (!view) {
    layer.hidden = true;
    layer.replaceChildren();
    return;
  }
  let dialog = layer.querySelector(".modal");
  const fresh = !dialog || dialog.dataset.viewId !== view.id;
  if (fresh) {
    dialog = modalShell(view);
    layer.replaceChildren(dialog);
  }
  layer.hidden = false;
  fillModal(dialog, view);
  if (fresh) {
    const first = dialog.querySelector(".bk-control");
    if (first) first.focus();
  }
}

function modalShell(view) {
  const depth = ui.data.modals.length;
  return el("div", {
    class: "modal", role: "dialog", "aria-modal": "true", "data-testid": "modal",
    dataset: { viewId: view.id },
  },
    el("header", {},
      depth > 1 && el("button", {
        type: "button", class: "icon", title: "Back", "data-testid": "modal-back",
        onclick: () => send("modal", "/api/back", { user: ui.user }),
      }, "‹"),
      el("h2", { "data-testid": "modal-title" }),
      el("button", {
        type: "button", class: "icon", title: "Close", "aria-label": "Close all",
        onclick: () => send("modal", "/api/close", { user: ui.user }),
      }, "×")),
    el("div", {
      class: "modal-body", "data-testid": "modal-body", oninput: clearError, onchange: clearError,
    }),
    el("footer", {},
      el("button", {
        type: "button", class: "bk-button", "data-testid": "modal-close",
        onclick: () => send("modal", depth > 1 ? "/api/back" : "/api/close", { user: ui.user }),
      }),
      el("button", {
        type: "button", class: "bk-button primary", "data-testid": "modal-submit",
        onclick: () => submitModal(topModal()),
      })));
}

function fillModal(dialog, view) {
  const busy = ui.pending.has("modal");
  dialog.querySelector("[data-testid=modal-title]").innerHTML = plainHtml(view.title);
  const close = dialog.querySelector("[data-testid=modal-close]");
  close.innerHTML = plainHtml(view.close || { text: view.submit ? "Cancel" : "Close" });
  const submit = dialog.querySelector("[data-testid=modal-submit]");
  submit.hidden = !view.submit;
  submit.innerHTML = plainHtml(view.submit);
  const body = dialog.querySelector(".modal-body");
  const ctx = { surface: "modal", surfaceKey: "modal", viewId: view.id, state: view.state };
  reconcile(body, renderBlocks(view.blocks, ctx));
  showErrors(body, errorsOf(view));
  for (const button of dialog.querySelectorAll("button")) button.disabled = busy;
  dialog.classList.toggle("pending", busy);
}

function errorsOf(view) {
  const local = ui.errors[view.id];
  if (local && local.hash === view.hash) return local.errors;
  return view.errors || {};
}

// Editing an input takes its error away, as in Slack.
function clearError(event) {
  const block = event.target.closest(".bk-input");
  const view = topModal();
  if (!block || !view) return;
  const shown = { ...errorsOf(view) };
  delete shown[block.dataset.blockId];
  ui.errors[view.id] = { hash: view.hash, errors: shown };
  showErrors(block.parentElement, shown);
}

function showErrors(body, errors) {
  for (const block of body.querySelectorAll(".bk-input")) {
    const message = errors[block.dataset.blockId] || "";
    block.querySelector(".bk-error").textContent = message;
    block.classList.toggle("has-error", Boolean(message));
  }
}

// Puts `fresh` blocks in `container`, keeping the nodes of unchanged blocks where they are,
// so an input keeps its focus and what was typed while the bot updates the view around it.
function reconcile(container, fresh) {
  const old = new Map();
  for (const node of container.children) old.set(node.dataset.key, node);
  const wanted = fresh.map((node) => {
    const kept = old.get(node.dataset.key);
    if (!kept) return node;
    old.delete(node.dataset.key);
    return kept;
  });
  for (const node of [...container.children]) if (!wanted.includes(node)) node.remove();
  wanted.forEach((node, index) => {
    const here = container.children[index] || null;
    if (here !== node) container.insertBefore(node, here);
  });
}

async function submitModal(view) {
  if (!view) return;
  const body = $("#modal-layer .modal-body");
  const values = collectValues(body);
  const problems = checkInputs(view, values);
  if (Object.keys(problems).length) {
    ui.errors[view.id] = { hash: view.hash, errors: problems };
    render();
    return;
  }
  delete ui.errors[view.id];
  const result = await send("modal", "/api/submit", { user: ui.user, view_id: view.id, values });
  const reply = result && result.response;
  if (reply && reply.response_action === "errors") {
    ui.errors[view.id] = { hash: view.hash, errors: reply.errors || {} };
    render();
  }
}

// --- conversations ----------------------------------------------------------------------------------

function dmId() {
  const dm = ui.data.conversations.find((c) => c.kind === "dm");
  return dm ? dm.id : null;
}

function currentChannel() {
  if (ui.place === "home") return null;
  if (ui.place === "dm") return dmId();
  return ui.data.conversations.some((c) => c.id === ui.place) ? ui.place : null;
}

function renderConversation(channel) {
  const list = ui.data.messages[channel] || [];
  const byTs = new Set(list.map((m) => m.ts));
  const parents = list.filter((m) => !m.thread_ts || !byTs.has(m.thread_ts));
  const replies = (ts) => list.filter((m) => m.thread_ts === ts);
  const box = $("#messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  const nodes = parents.map((message) => messageNode(message, channel, replies(message.ts)));
  const notice = ui.notice;
  if (notice && notice.user === ui.user && notice.channel === channel) nodes.push(slackbotNode(notice));
  if (!nodes.length) nodes.push(el("p", { class: "empty" }, emptyText(channel)));
  box.replaceChildren(...nodes);
  if (atBottom) box.scrollTop = box.scrollHeight;
  if (list.length) markSeen(channel, list[list.length - 1].ts);
}

function emptyText(channel) {
  if (channel === dmId()) return "No messages from licensebot yet. Receipts and updates arrive here.";
  return "No messages yet. Type /licenses below to talk to the bot.";
}

function messageNode(message, channel, replies) {
  const isBot = message.user === ui.data.bot_user_id;
  const ctx = {
    surface: "message", surfaceKey: `msg:${message.ts}`, channel, ts: message.ts, viewId: "",
  };
  const content = message.blocks.length
    ? renderBlocks(message.blocks, ctx)
    : el("div", { class: "bk-text", html: mrkdwn(message.text) });
  return el("article", {
    class: `message${message.ephemeral ? " ephemeral" : ""}`,
    "data-testid": message.ephemeral ? "ephemeral" : "message",
    dataset: { ts: message.ts },
  },
    el("div", { class: `avatar${isBot ? " bot" : ""}` }, nameOf(message.user).slice(0, 1).toUpperCase()),
    el("div", { class: "message-main" },
      el("div", { class: "message-meta" },
        el("b", {}, nameOf(message.user)),
        isBot && el("span", { class: "app-badge" }, "APP"),
        el("time", {}, clock(message.ts)),
        message.edited && el("span", { class: "edited" }, "(edited)")),
      message.ephemeral && el("div", { class: "only-you" }, "Only visible to you"),
      el("div", { class: "message-body" }, content),
      replies.length > 0 && el("div", { class: "thread", "data-testid": "thread" },
        el("div", { class: "thread-count" }, `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`),
        replies.map((reply) => messageNode(reply, channel, [])))));
}

// What Slack itself answers a command no app in this workspace has: only you see it.
function slackbotNode(notice) {
  const install = el("a", { class: "add-to-slack", target: "_blank", rel: "noopener" });
  addToSlack(install);
  return el("article", { class: "message ephemeral", "data-testid": "slackbot-notice" },
    el("div", { class: "avatar slackbot" }, "S"),
    el("div", { class: "message-main" },
      el("div", { class: "message-meta" }, el("b", {}, "Slackbot")),
      el("div", { class: "only-you" }, "Only visible to you"),
      el("div", { class: "message-body" }, el("div", { class: "bk-text" }, notice.text), install)));
}

function renderHome() {
  const box = $("#home");
  const home = ui.data.home;
  if (!home) {
    box.replaceChildren(el("p", { class: "empty" }, "Opening App Home…"));
    return;
  }
  const ctx = { surface: "home", surfaceKey: "home", viewId: home.id, state: home.state };
  box.replaceChildren(el("div", { class: "home-view" }, renderBlocks(home.blocks, ctx)));
}

// --- sidebar and layout --------------------------------------------------------------------------------

function unread(channel) {
  const seen = ui.seen[`${ui.user}:${channel}`] || "0";
  return (ui.data.messages[channel] || []).filter((m) => Number(m.ts) > Number(seen)).length;
}

function markSeen(channel, ts) {
  const key = `${ui.user}:${channel}`;
  if (ui.seen[key] === ts) return;
  ui.seen[key] = ts;
  localStorage.setItem("licensebot.seen", JSON.stringify(ui.seen));
}

function navItem(place, label, testId, channel) {
  const count = channel && place !== ui.place ? unread(channel) : 0;
  return el("li", {}, el("button", {
    type: "button",
    class: `nav-item${place === ui.place ? " active" : ""}${count ? " unread" : ""}`,
    "data-testid": testId,
    onclick: () => go(place),
  }, label, count > 0 && el("span", { class: "badge" }, count)));
}

// Slack's own Add to Slack button: its logo, then "Add to Slack"; it installs licensebot in
// the current workspace through the bot's OAuth routes, in a new tab.
function addToSlack(link) {
  link.href = `/add-to-slack?user=${encodeURIComponent(ui.user)}`;
  if (link.childElementCount) return;
  const svg = "http://www.w3.org/2000/svg";
  const logo = document.createElementNS(svg, "svg");
  logo.setAttribute("viewBox", "0 0 24 24");
  logo.setAttribute("aria-hidden", "true");
  // A hash of four colours, each a bar and a square, turning around the centre.
  const parts = [
    ["#36c5f0", 0, 6, 11, 5], ["#36c5f0", 6, 0, 5, 5],
    ["#2eb67d", 13, 0, 5, 11], ["#2eb67d", 19, 6, 5, 5],
    ["#ecb22e", 13, 13, 11, 5], ["#ecb22e", 13, 19, 5, 5],
    ["#e01e5a", 6, 13, 5, 11], ["#e01e5a", 0, 13, 5, 5],
  ];
  for (const [fill, x, y, width, height] of parts) {
    const rect = document.createElementNS(svg, "rect");
    for (const [name, value] of Object.entries({ fill, x, y, width, height, rx: 2.5 })) {
      rect.setAttribute(name, String(value));
    }
    logo.append(rect);
  }
  link.append(logo, el("span", {}, "Add to ", el("b", {}, "Slack")));
}

function currentWorkspace() {
  return ui.data.workspace;
}

function renderWorkspaces() {
  const here = currentWorkspace();
  $("#workspace-rail").replaceChildren(...ui.data.workspaces.map((workspace) => el("button", {
    type: "button",
    class: `workspace-tile${workspace.id === here.id ? " active" : ""}`,
    title: workspace.name,
    "aria-label": workspace.name,
    "aria-pressed": String(workspace.id === here.id),
    "data-testid": `workspace-${workspace.name.toLowerCase()}`,
    onclick: () => switchWorkspace(workspace),
  }, el("span", { class: "tile-initial" }, workspace.name.slice(0, 1)),
    el("span", { class: "tile-name" }, workspace.name))));
}

function renderSidebar() {
  const here = currentWorkspace();
  $("#workspace-name").textContent = here.name;
  const switcher = $("#user-switcher");
  // The people of this workspace only, as Slack shows one workspace at a time; their roles
  // as the server read them now (plan and licenses change with what people do).
  const people = ui.data.users.filter((user) => user.team === here.id);
  const drawn = JSON.stringify(people.map((user) => [user.id, user.role, user.about]));
  if (switcher.dataset.drawn !== drawn) {
    switcher.replaceChildren(...people.map((user) =>
      el("option", { value: user.id, title: user.about }, `${user.name} — ${user.role}`)));
    switcher.dataset.drawn = drawn;
  }
  switcher.value = ui.user;
  const me = ui.data.users.find((u) => u.id === ui.user);
  switcher.title = me ? `${me.name} — ${me.about}` : "";
  $("#user-role").textContent = me ? me.about : "";
  const channels = ui.data.conversations.filter((c) => c.kind === "channel");
  $("#channel-list").replaceChildren(...channels.map((c) =>
    navItem(c.id, `# ${c.name}`, `channel-${c.name}`, c.id)));
  $("#dm-list").replaceChildren(...(dmId() ? [navItem("dm", "licensebot", "nav-dm", dmId())] : []));
  $("#dm-heading").hidden = !dmId();
  $("#app-list").hidden = !here.installed;
  $("#sidebar-install").hidden = here.installed;
  if (!here.installed) addToSlack($("[data-testid=sidebar-add-to-slack]"));
  $("#nav-home").classList.toggle("active", ui.place === "home");
}

function renderMain() {
  const channel = currentChannel();
  const inApp = ui.place === "home" || ui.place === "dm";
  $("#app-tabs").hidden = !inApp;
  $("#tab-home").classList.toggle("active", ui.place === "home");
  $("#tab-messages").classList.toggle("active", ui.place === "dm");
  $("#conversation-title").textContent = inApp ? "licensebot" : `# ${channelName(channel)}`;
  $("#home").hidden = ui.place !== "home";
  $("#messages").hidden = ui.place === "home";
  $("#composer").hidden = ui.place === "home";
  $("#composer-input").placeholder = inApp
    ? "Message licensebot — type /licenses …"
    : `Message #${channelName(channel)} — type /licenses …`;
  const here = currentWorkspace();
  $("#composer-hint").hidden = !here.installed;
  $("#composer-not-installed").hidden = here.installed;
  if (!here.installed) {
    $("#not-installed-team").textContent = here.name;
    addToSlack($("[data-testid=add-to-slack]"));
  }
  if (ui.place === "home") renderHome();
  else if (channel) renderConversation(channel);
}

function render() {
  if (!ui.data || ui.data.me !== ui.user) return; // another user's state: wait for the next read
  const inApp = ui.place === "home" || ui.place === "dm";
  if (inApp ? !currentWorkspace().installed : !currentChannel()) {
    const first = ui.data.conversations.find((c) => c.kind === "channel");
    ui.place = first ? first.id : "dm";
  }
  if (currentWorkspace().installed) ui.notice = null; // /licenses is a command here now
  renderWorkspaces();
  renderSidebar();
  renderMain();
  renderModal();
}

function go(place) {
  ui.place = place;
  localStorage.setItem("licensebot.place", place);
  render();
  // Slack tells the app each time someone opens its Home tab.
  if (place === "home") send("home", "/api/home", { user: ui.user });
}

function switchUser(userId) {
  ui.user = userId;
  localStorage.setItem("licensebot.user", userId);
  ui.errors = {};
  ui.notice = null;
  $("#modal-layer").replaceChildren();
  refresh().then(() => { if (ui.place === "home") go("home"); });
}

// Into another workspace, as the person last chosen there (else its first).
function switchWorkspace(workspace) {
  if (workspace.id === currentWorkspace().id) return;
  ui.lastUser[currentWorkspace().id] = ui.user;
  localStorage.setItem("licensebot.lastUser", JSON.stringify(ui.lastUser));
  const remembered = ui.lastUser[workspace.id];
  switchUser(workspace.users.includes(remembered) ? remembered : workspace.users[0]);
}

async function sendCommand(event) {
  event.preventDefault();
  const input = $("#composer-input");
  const text = input.value.trim();
  if (!text || ui.pending.has("composer")) return;
  if (!text.startsWith("/")) {
    toast("Only slash commands reach the bot here: try /licenses or /licenses help.");
    return;
  }
  const channel = currentChannel();
  const result = await send("composer", "/api/command", { user: ui.user, text, channel });
  if (!result) return;
  input.value = "";
  if (result.not_installed) {
    ui.notice = { user: ui.user, channel, text: result.error };
    render();
  }
}

function start() {
  $("#user-switcher").addEventListener("change", (event) => switchUser(event.target.value));
  $("#composer").addEventListener("submit", sendCommand);
  for (const button of document.querySelectorAll("[data-place]")) {
    button.addEventListener("click", () => go(button.dataset.place));
  }
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && topModal() && $("#confirm-layer").hidden) {
      send("modal", "/api/close", { user: ui.user });
    }
  });
  listen();
  refresh().then(() => { if (ui.place === "home") go("home"); });
}

window.licensebotPage = { mrkdwn, plainHtml, refresh };
start();
