// hookbox inbox: plain script, no dependencies, the public API only.
"use strict";

const TOKEN_KEY = "hookbox-read-token";
const PAGE = 50;
const THREAD_PAGE = 30;
const $ = (id) => document.getElementById(id);

const state = {
  view: { kind: "all" },   // or { kind: "thread", from, name }
  cursor: null,            // the next (older) page of the list, or null
  pages: [],               // cursors of the pages before this one
  live: null,              // AbortController of the open stream
  lastEventId: null,       // resume point of the stream
  statsTimer: null,        // pending refresh of the stats after live messages
  conversations: [],       // as GET /conversations answers, latest first
  conversationCursor: null,
  records: new Map(),      // message_id -> full record, once fetched
};

class Unauthorized extends Error {}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function headers(extra = {}) {
  const h = { Accept: "application/json", ...extra };
  const t = token();
  if (t) h.Authorization = "Bearer " + t;
  return h;
}

async function getJson(path) {
  const response = await fetch(path, { headers: headers() });
  if (response.status === 401) throw new Unauthorized();
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const body = await response.json();
      detail = typeof body.detail === "string" ? body.detail
        : body.detail.map((d) => d.loc.join(".") + ": " + d.msg).join("; ");
    } catch (_) { /* keep the status text */ }
    const error = new Error(detail);
    error.status = response.status;
    throw error;
  }
  return { body: await response.json(), headers: response.headers };
}

function askForToken(rejected) {
  stopLive();
  $("app").hidden = true;
  $("token-form").hidden = false;
  $("token-error").hidden = !rejected;
  $("forget").hidden = true;
  $("token").focus();
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function shortTime(ts) {
  return ts.replace("T", " ").replace(/(\.\d+)?Z$/, "");
}

// ---- one message --------------------------------------------------------

function badge(text, kind) {
  const b = el("span", "badge " + (kind ?? ""), text);
  return b;
}

// What a full record says beyond its text: kind, media, location, the
// reaction, the message it answers.
function badges(m) {
  const out = [];
  if (m.kind && m.kind !== "text") out.push(badge(m.kind, "kind"));
  if (m.media) {
    const parts = [m.media.voice ? "voice note" : "media", m.media.mime_type, m.media.filename]
      .filter(Boolean);
    out.push(badge(parts.join(" · "), "media"));
  }
  const raw = m.raw ?? {};
  if (m.kind === "location" && raw.location) {
    const { latitude, longitude } = raw.location;
    out.push(badge(`${latitude}, ${longitude}`, "location"));
  }
  if (m.kind === "reaction") {
    const to = raw.reaction?.message_id;
    out.push(badge(`${m.text ?? "removed"}${to ? " on " + to : ""}`, "reaction"));
  }
  return out;
}

function quoteOf(m) {
  if (!m.reply_to) return null;
  const quote = el("blockquote", "quote");
  quote.append(el("span", "quote-label", "In reply to"), " ");
  const text = el("span", "quote-text", m.reply_to);
  quote.append(text);
  recordOf(m.reply_to).then((r) => {
    if (r) text.textContent = r.text ?? `(${r.kind})`;
  });
  return quote;
}

async function recordOf(id) {
  if (state.records.has(id)) return state.records.get(id);
  try {
    const { body } = await getJson("/messages/" + encodeURIComponent(id));
    state.records.set(id, body);
    return body;
  } catch (_) {
    state.records.set(id, null);
    return null;
  }
}

function messageItem(m, isNew) {
  const li = el("li", isNew ? "new" : "");
  li.dataset.id = m.message_id;
  li.tabIndex = 0;
  const meta = el("div", "meta");
  const who = m.sender_name ? `${m.sender_name} (${m.from})` : m.from;
  meta.append(el("span", "from", who), el("span", "", "→ " + m.to));
  const ts = el("time", "", shortTime(m.ts));
  ts.dateTime = m.ts;
  meta.append(ts, el("span", "id", m.message_id));
  const text = el("div", "text");
  if (m.text === null || m.text === undefined) {
    text.textContent = "(no text)";
    text.classList.add("empty-text");
  } else {
    text.textContent = m.text;
  }
  const extras = el("div", "badges");
  li.append(meta, extras, text);
  decorate(li, m);
  li.title = "Show the full text";
  const toggle = () => li.classList.toggle("open");
  li.addEventListener("click", toggle);
  li.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); }
  });
  return li;
}

// Adds what a full record holds (a listing has the five fields only).
function decorate(li, m) {
  if (!("kind" in m)) return;
  const extras = li.querySelector(".badges");
  extras.replaceChildren(...badges(m));
  const old = li.querySelector(".quote");
  if (old) old.remove();
  const quote = quoteOf(m);
  if (quote) li.insertBefore(quote, li.querySelector(".text"));
  if (m.sender_name) li.querySelector(".from").textContent = `${m.sender_name} (${m.from})`;
}

// ---- the list: all messages (newest first) or one thread (in order) ------

function listParams() {
  const params = new URLSearchParams();
  const q = $("q").value.trim();
  if (q) params.set("q", q);
  if (state.view.kind === "thread") {
    params.set("from", state.view.from);
    return params;
  }
  for (const name of ["from", "since"]) {
    const value = $(name).value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

async function loadList(cursor) {
  const thread = state.view.kind === "thread";
  const params = listParams();
  params.set("order", "desc");
  params.set("limit", String(thread ? THREAD_PAGE : PAGE));
  if (cursor) params.set("cursor", cursor);
  $("list-error").hidden = true;
  try {
    const { body, headers: h } = await getJson("/messages?" + params);
    const list = $("messages");
    const items = body.data.map((m) => messageItem(m, false));
    if (thread) {
      // A thread reads top to bottom: oldest first; earlier pages go above.
      items.reverse();
      if (cursor) list.prepend(...items); else list.replaceChildren(...items);
      for (const m of body.data) enrich(m.message_id);
    } else {
      list.replaceChildren(...items);
    }
    state.cursor = h.get("x-next-cursor");
    $("earlier").hidden = !(thread && state.cursor);
    $("next-page").disabled = !state.cursor;
    $("first-page").disabled = !cursor;
    $("summary").textContent = body.total === 0 ? "No messages match."
      : `${body.total} message${body.total === 1 ? "" : "s"}${params.has("q") ? " match" : ""}.`;
  } catch (e) {
    if (e instanceof Unauthorized) return askForToken(token() !== null);
    $("list-error").textContent = e.message;
    $("list-error").hidden = false;
  }
}

async function enrich(id) {
  const record = await recordOf(id);
  if (!record) return;
  for (const li of $("messages").querySelectorAll("li")) {
    if (li.dataset.id === id) decorate(li, record);
  }
}

function showAll() {
  state.view = { kind: "all" };
  $("view-title").textContent = $("q").value.trim() ? "Search results" : "All messages";
  $("show-all").hidden = true;
  $("filters").hidden = false;
  document.querySelector(".pager").hidden = false;
  markSelected(null);
  loadList(null);
}

function openThread(from, name) {
  state.view = { kind: "thread", from, name };
  $("view-title").textContent = name ? `${name} (${from})` : from;
  $("show-all").hidden = false;
  $("filters").hidden = true;
  document.querySelector(".pager").hidden = true;
  markSelected(from);
  loadList(null);
}

// ---- conversations -------------------------------------------------------

function conversationItem(c) {
  const li = el("li", "conversation");
  li.setAttribute("role", "option");
  li.tabIndex = -1;
  li.dataset.from = c.from;
  const top = el("div", "conv-top");
  top.append(el("span", "conv-name", c.sender_name ?? c.from),
    el("span", "conv-count", String(c.message_count)));
  const sub = el("div", "conv-sub");
  if (c.sender_name) sub.append(el("span", "conv-number", c.from));
  sub.append(el("time", "conv-time", shortTime(c.last_message.ts)));
  const m = c.last_message;
  const preview = el("div", "conv-preview", m.text ?? `(${m.kind})`);
  li.append(top, sub, preview);
  li.addEventListener("click", () => openThread(c.from, c.sender_name));
  return li;
}

function renderConversations() {
  const list = $("conversations");
  const focused = document.activeElement?.dataset?.from;
  list.replaceChildren(...state.conversations.map(conversationItem));
  const items = [...list.children];
  items.forEach((li, i) => { li.tabIndex = i === 0 ? 0 : -1; });
  markSelected(state.view.kind === "thread" ? state.view.from : null);
  if (focused) items.find((li) => li.dataset.from === focused)?.focus();
}

function markSelected(from) {
  for (const li of $("conversations").children) {
    const on = li.dataset.from === from;
    li.setAttribute("aria-selected", String(on));
    if (on) li.tabIndex = 0;
  }
}

async function loadConversations(more) {
  try {
    const params = new URLSearchParams({ limit: "50" });
    if (more && state.conversationCursor) params.set("cursor", state.conversationCursor);
    const { body } = await getJson("/conversations?" + params);
    state.conversations = more ? state.conversations.concat(body.data) : body.data;
    state.conversationCursor = body.next_cursor;
    $("more-conversations").hidden = !body.next_cursor;
    renderConversations();
  } catch (e) {
    if (e instanceof Unauthorized) return askForToken(token() !== null);
  }
}

// A live message moves its conversation to the top.
function bump(m) {
  const at = state.conversations.findIndex((c) => c.from === m.from);
  const known = at >= 0 ? state.conversations.splice(at, 1)[0] : null;
  state.conversations.unshift({
    from: m.from,
    sender_name: m.sender_name ?? known?.sender_name ?? null,
    message_count: (known?.message_count ?? 0) + 1,
    last_message: m,
  });
  renderConversations();
}

// ---- stats and the chart -------------------------------------------------

function drawChart(days) {
  const svg = $("chart");
  const ns = "http://www.w3.org/2000/svg";
  const max = Math.max(1, ...days.map((d) => d.count));
  const width = 300 / days.length;
  svg.replaceChildren(...days.map((d, i) => {
    const rect = document.createElementNS(ns, "rect");
    const height = (d.count / max) * 96;
    rect.setAttribute("x", String(i * width + width * 0.1));
    rect.setAttribute("width", String(width * 0.8));
    rect.setAttribute("y", String(100 - height));
    rect.setAttribute("height", String(height));
    const title = document.createElementNS(ns, "title");
    title.textContent = `${d.day}: ${d.count}`;
    rect.append(title);
    return rect;
  }));
  $("chart-start").textContent = days.length ? days[0].day : "";
  $("chart-end").textContent = days.length ? days[days.length - 1].day : "";
}

async function loadStats() {
  try {
    const [{ body: stats }, { body: daily }] = await Promise.all([
      getJson("/stats"), getJson("/stats/daily?days=30"),
    ]);
    $("total").textContent = stats.total_messages;
    $("senders").textContent = stats.senders_count;
    $("first").textContent = stats.first_message_ts ?? "–";
    $("last").textContent = stats.last_message_ts ?? "–";
    $("top-senders").replaceChildren(...stats.messages_per_sender.map((s) => {
      return el("li", "", `${s.from} (${s.count})`);
    }));
    let days = daily.days;
    let caption = "Messages per day, last 30 days";
    if (days.every((d) => d.count === 0) && stats.last_message_ts) {
      // Nothing lately: the 30 days up to the newest message instead.
      const until = stats.last_message_ts.slice(0, 10);
      ({ body: { days } } = await getJson("/stats/daily?days=30&until=" + until));
      caption = `No messages in the last 30 days: the 30 days up to the newest message (${until})`;
    }
    $("chart-caption").textContent = caption;
    drawChart(days);
  } catch (e) {
    if (e instanceof Unauthorized) return askForToken(token() !== null);
  }
}

// ---- live ----------------------------------------------------------------

// Server-Sent Events over fetch, so the read token can go in a header
// (EventSource cannot send one). The whole feed: each message lands in
// its conversation, and in the list when it belongs there.
async function startLive() {
  stopLive();
  const controller = new AbortController();
  state.live = controller;
  const extra = { Accept: "text/event-stream" };
  if (state.lastEventId !== null) extra["Last-Event-ID"] = state.lastEventId;
  try {
    const response = await fetch("/messages/stream",
      { headers: headers(extra), signal: controller.signal });
    if (response.status === 401) return askForToken(true);
    if (!response.ok || !response.body) throw new Error("stream refused");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        handleEvent(block);
      }
    }
  } catch (e) {
    if (controller.signal.aborted) return;
  }
  // Ended by the server (shutdown, or this tab fell behind): come back.
  if (state.live === controller && $("live").checked) {
    setTimeout(() => { if ($("live").checked) startLive(); }, 1000);
  }
}

function belongsInList(m) {
  const q = $("q").value.trim().toLowerCase();
  if (q && !(m.text ?? "").toLowerCase().includes(q)) return false;
  if (state.view.kind === "thread") return m.from === state.view.from;
  const from = $("from").value.trim();
  const since = $("since").value.trim();
  return (!from || m.from === from) && (!since || m.ts >= since) && state.pages.length === 0
    && $("first-page").disabled;
}

function handleEvent(block) {
  let id = null, data = "", event = "message";
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") id = value;
    else if (field === "data") data += (data ? "\n" : "") + value;
    else if (field === "event") event = value;
  }
  if (event !== "message" || !data) return;
  if (id !== null) state.lastEventId = id;
  const message = JSON.parse(data);
  state.records.set(message.message_id, message);
  bump(message);
  if (belongsInList(message)) {
    const item = messageItem(message, true);
    // A thread reads down to the newest; the list reads newest first.
    if (state.view.kind === "thread") $("messages").append(item);
    else $("messages").prepend(item);
  }
  clearTimeout(state.statsTimer);
  state.statsTimer = setTimeout(loadStats, 1000);
}

function stopLive() {
  if (state.live) state.live.abort();
  state.live = null;
}

// ---- keyboard ------------------------------------------------------------

function conversationKeys(e) {
  const items = [...$("conversations").children];
  const at = items.indexOf(document.activeElement);
  if (at < 0) return;
  let next = null;
  if (e.key === "ArrowDown") next = items[Math.min(at + 1, items.length - 1)];
  else if (e.key === "ArrowUp") next = items[Math.max(at - 1, 0)];
  else if (e.key === "Home") next = items[0];
  else if (e.key === "End") next = items[items.length - 1];
  else if (e.key === "Enter" || e.key === " ") {
    e.preventDefault();
    items[at].click();
    return;
  }
  if (next) {
    e.preventDefault();
    items.forEach((li) => { li.tabIndex = -1; });
    next.tabIndex = 0;
    next.focus();
  }
}

function globalKeys(e) {
  const typing = ["INPUT", "TEXTAREA"].includes(document.activeElement?.tagName);
  if (e.key === "/" && !typing) {
    e.preventDefault();
    $("q").focus();
  } else if (e.key === "Escape" && state.view.kind === "thread") {
    showAll();
  }
}

// ---- subscriptions (admin tokens only; read-only) -------------------------

function subscriptionRow(sub) {
  const tr = el("tr");
  tr.dataset.id = sub.id;
  let target = sub.url;
  try { const u = new URL(sub.url); target = u.origin + u.pathname; } catch (_) { /* keep it */ }
  const filter = [sub.from && "from " + sub.from, sub.q && "q " + sub.q,
    sub.kinds.length && "kinds " + sub.kinds.join(", ")].filter(Boolean).join("; ") || "everything";
  const state = sub.state === "paused" ? "paused" + (sub.paused_reason === "gone" ? " (410 Gone)" : "")
    : sub.retrying ? "retrying" : "active";
  const cells = [target, filter, state, (sub.lag_capped ? "≥ " : "") + sub.lag, String(sub.delivered),
    String(sub.dead_letters), sub.last_error ?? ""];
  cells.forEach((text, i) => {
    const td = el("td", ["target", "filter", "state", "lag", "delivered", "dead", "error"][i], text);
    if (i === 2) td.dataset.state = sub.state;
    tr.append(td);
  });
  return tr;
}

// Asked for only on request: a read token gets 403 here, and the page
// should not fetch what it may not see.
async function loadSubscriptions() {
  const error = $("subscriptions-error");
  try {
    const { body } = await getJson("/subscriptions");
    $("subscriptions").replaceChildren(...body.data.map(subscriptionRow));
    error.hidden = body.data.length > 0;
    error.textContent = "No subscriptions.";
  } catch (e) {
    $("subscriptions").replaceChildren();
    error.hidden = false;
    error.textContent = e instanceof Unauthorized || e.status === 403
      ? "Subscriptions need an admin token (ADMIN_TOKENS)." : "Cannot list subscriptions: " + e.message;
  }
}

function toggleSubscriptions() {
  const pane = $("subscriptions-pane");
  pane.hidden = !pane.hidden;
  $("show-subscriptions").setAttribute("aria-expanded", String(!pane.hidden));
  if (!pane.hidden) loadSubscriptions();
}

// ---- wiring --------------------------------------------------------------

function refresh() {
  loadStats();
  loadConversations(false);
  if (!$("subscriptions-pane").hidden) loadSubscriptions();
  showAll();
}

document.addEventListener("DOMContentLoaded", () => {
  $("search").addEventListener("submit", (e) => {
    e.preventDefault();
    state.pages = [];
    showAll();
  });
  $("filters").addEventListener("submit", (e) => {
    e.preventDefault();
    state.pages = [];
    loadList(null);
  });
  $("clear").addEventListener("click", () => {
    for (const name of ["from", "since", "q"]) $(name).value = "";
    state.pages = [];
    showAll();
  });
  $("next-page").addEventListener("click", () => {
    state.pages.push(state.cursor);
    loadList(state.cursor);
  });
  $("first-page").addEventListener("click", () => { state.pages = []; loadList(null); });
  $("earlier").addEventListener("click", () => loadList(state.cursor));
  $("show-all").addEventListener("click", showAll);
  $("more-conversations").addEventListener("click", () => loadConversations(true));
  $("conversations").addEventListener("keydown", conversationKeys);
  document.addEventListener("keydown", globalKeys);
  $("live").addEventListener("change", () => {
    state.lastEventId = null;
    if ($("live").checked) startLive(); else stopLive();
  });
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value);
    $("token").value = "";
    $("token-form").hidden = true;
    $("app").hidden = false;
    $("forget").hidden = false;
    refresh();
  });
  $("show-subscriptions").addEventListener("click", toggleSubscriptions);
  $("forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    askForToken(false);
  });
  $("forget").hidden = token() === null;
  refresh();
  setInterval(() => { if (!$("subscriptions-pane").hidden) loadSubscriptions(); }, 5000);
});
