// hookbox inbox: plain script, no dependencies, the public API only.
"use strict";

const TOKEN_KEY = "hookbox-read-token";
const $ = (id) => document.getElementById(id);

const state = {
  cursor: null,        // next page's cursor (x-next-cursor), or null
  live: null,          // AbortController of the open stream
  lastEventId: null,   // resume point of the stream
  statsTimer: null,    // pending refresh of the stats after live messages
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
    throw new Error(detail);
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

function filters() {
  const params = new URLSearchParams();
  for (const name of ["from", "since", "q"]) {
    const value = $(name).value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

function messageItem(m, isNew) {
  const li = document.createElement("li");
  li.dataset.id = m.message_id;
  if (isNew) li.className = "new";
  const meta = document.createElement("div");
  meta.className = "meta";
  const from = document.createElement("span");
  from.className = "from";
  from.textContent = m.from;
  const to = document.createElement("span");
  to.textContent = "→ " + m.to;
  const ts = document.createElement("time");
  ts.textContent = m.ts;
  ts.dateTime = m.ts;
  const id = document.createElement("span");
  id.className = "id";
  id.textContent = m.message_id;
  meta.append(from, to, ts, id);
  const text = document.createElement("div");
  text.className = "text";
  if (m.text === null || m.text === undefined) {
    text.textContent = "(no text)";
    text.classList.add("empty-text");
  } else {
    text.textContent = m.text;
  }
  li.append(meta, text);
  li.title = "Show the full text";
  li.addEventListener("click", () => li.classList.toggle("open"));
  return li;
}

async function loadMessages(cursor) {
  const params = filters();
  params.set("limit", "50");
  if (cursor) params.set("cursor", cursor);
  $("list-error").hidden = true;
  try {
    const { body, headers: h } = await getJson("/messages?" + params);
    const list = $("messages");
    list.replaceChildren(...body.data.map((m) => messageItem(m, false)));
    state.cursor = h.get("x-next-cursor");
    $("next-page").disabled = !state.cursor;
    $("first-page").disabled = !cursor;
    $("summary").textContent = body.total === 0 ? "No messages match."
      : `${body.total} message${body.total === 1 ? "" : "s"} match.`;
  } catch (e) {
    if (e instanceof Unauthorized) return askForToken(token() !== null);
    $("list-error").textContent = e.message;
    $("list-error").hidden = false;
  }
}

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
      const li = document.createElement("li");
      li.textContent = `${s.from} (${s.count})`;
      return li;
    }));
    drawChart(daily.days);
  } catch (e) {
    if (e instanceof Unauthorized) return askForToken(token() !== null);
  }
}

// Server-Sent Events over fetch, so the read token can go in a header
// (EventSource cannot send one).
async function startLive() {
  stopLive();
  const controller = new AbortController();
  state.live = controller;
  const params = new URLSearchParams();
  for (const name of ["from", "q"]) {
    const value = $(name).value.trim();
    if (value) params.set(name, value);
  }
  const extra = { Accept: "text/event-stream" };
  if (state.lastEventId !== null) extra["Last-Event-ID"] = state.lastEventId;
  try {
    const response = await fetch("/messages/stream?" + params,
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
  const list = $("messages");
  list.prepend(messageItem(message, true));
  // The totals follow, once a burst has passed.
  clearTimeout(state.statsTimer);
  state.statsTimer = setTimeout(loadStats, 1000);
}

function stopLive() {
  if (state.live) state.live.abort();
  state.live = null;
}

function refresh() {
  loadStats();
  loadMessages(null);
}

document.addEventListener("DOMContentLoaded", () => {
  $("filters").addEventListener("submit", (e) => {
    e.preventDefault();
    state.lastEventId = null;
    loadMessages(null);
    if ($("live").checked) startLive();
  });
  $("clear").addEventListener("click", () => {
    for (const name of ["from", "since", "q"]) $(name).value = "";
    loadMessages(null);
    if ($("live").checked) startLive();
  });
  $("next-page").addEventListener("click", () => loadMessages(state.cursor));
  $("first-page").addEventListener("click", () => loadMessages(null));
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
  $("forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    askForToken(false);
  });
  $("forget").hidden = token() === null;
  refresh();
});
