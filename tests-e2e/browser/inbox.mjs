// The inbox page in a real headless Chromium. Run by tests-e2e's
// `browser` tests against a hookbox they started:
//   BASE_URL, WEBHOOK_SECRET, WHATSAPP_APP_SECRET, CHROMIUM,
//   MODE=open|token|archive [TOKEN], SCREENSHOT
// Posts its own messages (signed like any sender), then checks what a
// person sees. Exits non-zero with a message on the first failure.
import { createHmac } from "node:crypto";
import { chromium } from "playwright-core";

const base = process.env.BASE_URL;
const secret = process.env.WEBHOOK_SECRET;
const appSecret = process.env.WHATSAPP_APP_SECRET;
const mode = process.env.MODE ?? "open";
const token = process.env.TOKEN ?? "";

function check(condition, what) {
  if (!condition) throw new Error("FAILED: " + what);
  console.log("ok   " + what);
}

async function post(message) {
  const body = JSON.stringify(message);
  const signature = createHmac("sha256", secret).update(body).digest("hex");
  const response = await fetch(base + "/webhook", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Signature": signature },
    body,
  });
  check(response.status === 200, `POST ${message.message_id} = ${response.status}`);
}

// One WhatsApp Cloud API notification from Kerry Fisher, signed by Meta's rule.
async function postWhatsApp(messages) {
  const body = JSON.stringify({
    object: "whatsapp_business_account",
    entry: [{ id: "102290129340398", changes: [{ field: "messages", value: {
      messaging_product: "whatsapp",
      metadata: { display_phone_number: "15550783881", phone_number_id: "106540352242922" },
      contacts: [{ profile: { name: "Kerry Fisher" }, wa_id: "16315551181" }],
      messages,
    } }] }],
  });
  const signature = "sha256=" + createHmac("sha256", appSecret).update(body).digest("hex");
  const response = await fetch(base + "/webhook/whatsapp", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Hub-Signature-256": signature },
    body,
  });
  check(response.status === 200, `POST a WhatsApp notification = ${response.status}`);
}

const day = 24 * 3600 * 1000;
const hour = 3600 * 1000;
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const unix = (ms) => String(Math.floor(ms / 1000));
const now = Date.now();
const seeded = [
  { message_id: "ui-1", from: "+14155550001", to: "+14155550100", ts: iso(now - 3 * day), text: "Order #1 shipped" },
  { message_id: "ui-2", from: "+14155550002", to: "+14155550100", ts: iso(now - 2 * day), text: "Where is my parcel? " + "It was due last week. ".repeat(12) },
  { message_id: "ui-3", from: "+14155550001", to: "+14155550100", ts: iso(now - 1 * day), text: "Thanks, the parcel arrived" },
  { message_id: "ui-4", from: "+14155550003", to: "+14155550100", ts: iso(now - 1 * day + hour), text: "Invoice attached" },
];
const kerry = [
  { from: "16315551181", id: "wamid.doc", timestamp: unix(now - 4 * hour), type: "document",
    document: { caption: "The signed contract", filename: "contract.pdf", mime_type: "application/pdf", sha256: "c0ffee", id: "media-doc-1" } },
  { from: "16315551181", id: "wamid.loc", timestamp: unix(now - 3 * hour), type: "location",
    location: { latitude: 38.8977, longitude: -77.0365, name: "Office", address: "1600 Pennsylvania Ave" } },
  { from: "16315551181", id: "wamid.reply", timestamp: unix(now - 2 * hour), type: "text",
    text: { body: "Great to hear!" }, context: { from: "15550783881", id: "ui-3" } },
  { from: "16315551181", id: "wamid.react", timestamp: unix(now - 1 * hour), type: "reaction",
    reaction: { message_id: "ui-3", emoji: "👍" } },
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const problems = [];

async function openPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  // A 401 before the token is given is the protocol working; anything else
  // (a CSP violation, a missing asset, a script error) is a problem.
  page.on("console", (msg) => {
    if (msg.type() === "error" && !msg.text().includes("status of 401")) problems.push(msg.text());
  });
  page.on("pageerror", (e) => problems.push(String(e)));
  const response = await page.goto(base + "/ui");
  const csp = response.headers()["content-security-policy"] ?? "";
  check(csp.includes("default-src 'none'") && csp.includes("script-src 'self'"), "served under a strict Content-Security-Policy");
  return page;
}

const listIds = (page) => page.locator("#messages li").evaluateAll((lis) => lis.map((li) => li.dataset.id));
const waitCount = (page, selector, n) => page.waitForFunction(
  ([s, k]) => document.querySelectorAll(s).length === k, [selector, n], { timeout: 5000 });

async function archive() {
  // Only old messages: nothing in the last 30 days.
  await post({ message_id: "old-1", from: "+14155550001", to: "+14155550100", ts: "2023-05-10T10:00:00Z", text: "old" });
  await post({ message_id: "old-2", from: "+14155550001", to: "+14155550100", ts: "2023-05-20T10:00:00Z", text: "older news" });
  const page = await openPage();
  await page.waitForFunction(() => document.getElementById("chart-caption").textContent.includes("newest message"), null, { timeout: 5000 });
  const caption = await page.locator("#chart-caption").textContent();
  check(caption.includes("2023-05-20"), `the chart says it shows the 30 days up to the newest message (${caption})`);
  const bars = await page.locator("#chart rect").evaluateAll((rs) => rs.filter((r) => Number(r.getAttribute("height")) > 0).length);
  check(bars === 2, `the fallback chart shows the old days' bars (${bars})`);
  check(await page.locator("#chart-end").textContent() === "2023-05-20", "it ends on the newest message's day");
}

async function inbox() {
  for (const m of seeded) await post(m);
  await postWhatsApp(kerry);
  const page = await openPage();
  const foreign = [];
  page.on("request", (r) => { if (!r.url().startsWith(base)) foreign.push(r.url()); });

  if (mode === "token") {
    await page.locator("#token-form").waitFor({ state: "visible", timeout: 5000 });
    check(await page.locator("#app").isHidden(), "with API_TOKENS set, the page asks for a token first");
    await page.fill("#token", "not-the-token");
    await page.click("#token-form button[type=submit]");
    await page.locator("#token-error").waitFor({ state: "visible", timeout: 5000 });
    check(true, "a wrong token is refused and asked again");
    await page.fill("#token", token);
    await page.click("#token-form button[type=submit]");
  }

  // Opens on the newest messages.
  await waitCount(page, "#messages li", 8);
  const opened = await listIds(page);
  check(JSON.stringify(opened.slice(0, 5)) === JSON.stringify(["wamid.react", "wamid.reply", "wamid.loc", "wamid.doc", "ui-4"]),
    `the page opens on the newest messages first (${opened})`);
  await page.waitForFunction(() => document.getElementById("total").textContent === "8", null, { timeout: 5000 });
  check(true, "the stats show the total");
  check(await page.locator("#top-senders li").count() === 4, "the stats list the top senders");
  check(await page.locator("#chart rect").count() === 30, "the chart has a bar per day for 30 days");
  check((await page.locator("#chart-caption").textContent()).includes("last 30 days"), "the chart says it shows the last 30 days");

  // Conversations: by latest activity, with name, count and a preview.
  await waitCount(page, "#conversations li", 4);
  const conversations = await page.locator("#conversations li").evaluateAll((lis) => lis.map((li) => li.dataset.from));
  check(JSON.stringify(conversations) === JSON.stringify(["+16315551181", "+14155550003", "+14155550001", "+14155550002"]),
    `conversations are listed by latest activity (${conversations})`);
  const top = page.locator("#conversations li").first();
  check((await top.locator(".conv-name").textContent()) === "Kerry Fisher", "a conversation shows the sender's name");
  check((await top.locator(".conv-count").textContent()) === "4", "and how many messages");
  check((await top.locator(".conv-preview").textContent()) === "👍", "and a preview of the latest");

  // A thread: one sender's messages in order, with badges.
  await top.click();
  await page.waitForFunction(() => document.getElementById("view-title").textContent.includes("Kerry Fisher"), null, { timeout: 5000 });
  await waitCount(page, "#messages li", 4);
  const thread = await listIds(page);
  check(JSON.stringify(thread) === JSON.stringify(["wamid.doc", "wamid.loc", "wamid.reply", "wamid.react"]),
    `a thread shows the sender's messages in order (${thread})`);
  const item = (id) => page.locator(`#messages li[data-id="${id}"]`);
  await item("wamid.doc").locator(".badge.media").waitFor({ timeout: 5000 });
  const media = await item("wamid.doc").locator(".badge.media").textContent();
  check(media.includes("application/pdf") && media.includes("contract.pdf"), `media shows its mime type and file name (${media})`);
  check(await item("wamid.doc").locator(".badge.kind").textContent() === "document", "the kind is a badge");
  const location = await item("wamid.loc").locator(".badge.location").textContent();
  check(location.includes("38.8977"), `a location shows its coordinates (${location})`);
  const reaction = await item("wamid.react").locator(".badge.reaction").textContent();
  check(reaction.includes("👍") && reaction.includes("ui-3"), `a reaction shows its emoji and target (${reaction})`);
  await page.waitForFunction(() => document.querySelector('#messages li[data-id="wamid.reply"] .quote-text')?.textContent === "Thanks, the parcel arrived", null, { timeout: 5000 });
  check(true, "a reply quotes the message it answers");
  check((await item("wamid.reply").locator(".from").textContent()).startsWith("Kerry Fisher"), "messages show the sender's name");

  // The keyboard: / searches, arrows walk the conversations, Enter opens, Escape goes back.
  await page.keyboard.press("Escape");
  await page.waitForFunction(() => document.getElementById("view-title").textContent === "All messages", null, { timeout: 5000 });
  check(true, "Escape leaves a thread for all messages");
  await page.locator("#conversations li").first().focus();
  await page.keyboard.press("ArrowDown");
  check(await page.evaluate(() => document.activeElement.dataset.from) === "+14155550003", "ArrowDown moves to the next conversation");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.getElementById("view-title").textContent === "+14155550003", null, { timeout: 5000 });
  check(true, "Enter opens the focused conversation");
  await page.keyboard.press("Escape");
  await page.locator("body").click({ position: { x: 5, y: 400 } });
  await page.keyboard.press("/");
  check(await page.evaluate(() => document.activeElement.id) === "q", "/ focuses the search");

  // Search spans everything.
  await page.keyboard.type("PARCEL");
  await page.keyboard.press("Enter");
  await waitCount(page, "#messages li", 2);
  const found = await listIds(page);
  check(JSON.stringify(found) === JSON.stringify(["ui-3", "ui-2"]), `search spans every sender (${found})`);

  // Full text on click.
  const long = item("ui-2");
  await long.click();
  check(await long.evaluate((li) => li.classList.contains("open")), "a click shows a message's full text");
  await page.click("#clear");
  await waitCount(page, "#messages li", 8);

  // Live: a new message lands in its conversation, which moves to the top.
  await page.check("#live");
  await page.waitForTimeout(500);
  const posted = Date.now();
  await post({ message_id: "ui-live", from: "+14155550002", to: "+14155550100", ts: iso(Date.now()), text: "Posted while the page was open" });
  await item("ui-live").waitFor({ timeout: 2000 });
  const took = Date.now() - posted;
  check(took <= 2000, `the live toggle shows a new message within 2 s (${took} ms)`);
  check(await page.locator("#messages li").first().getAttribute("data-id") === "ui-live", "a live message lands on top of the newest-first list");
  const moved = page.locator("#conversations li").first();
  check(await moved.getAttribute("data-from") === "+14155550002", "its conversation moves to the top");
  check(await moved.locator(".conv-count").textContent() === "2", "with its count updated");
  await moved.click();
  await waitCount(page, "#messages li", 2);
  const last = await listIds(page);
  check(last[last.length - 1] === "ui-live", "and the message is in its thread, last");
  await page.click("#show-all");
  await waitCount(page, "#messages li", 9);

  if (mode === "token") {
    const stored = await page.evaluate(() => [sessionStorage.length, localStorage.length, document.cookie]);
    check(stored[0] === 1 && stored[1] === 0 && stored[2] === "", "the token is kept in sessionStorage only");
  }
  if (process.env.SCREENSHOT) {
    await page.uncheck("#live");
    await page.locator("#conversations li").first().click();
    await waitCount(page, "#messages li", 2);
    await page.locator("#conversations li").nth(1).click();
    await waitCount(page, "#messages li", 4);
    // The stats follow live messages a second later.
    await page.waitForFunction(() => document.getElementById("total").textContent === "9", null, { timeout: 5000 });
    await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
    console.log("screenshot " + process.env.SCREENSHOT);
  }

  // A phone: no sideways scrolling.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(200);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `readable on a phone: no horizontal overflow (${overflow} px)`);
  check(foreign.length === 0, `loads nothing from elsewhere (${foreign.join(", ")})`);
}

async function subscriptions() {
  const page = await openPage();
  await page.locator("#token-form").waitFor({ state: "visible", timeout: 5000 });
  await page.fill("#token", token);
  await page.click("#token-form button[type=submit]");
  check(await page.locator("#subscriptions-pane").isHidden(), "the subscriptions pane opens on request only");
  await page.click("#show-subscriptions");
  await page.locator("#subscriptions-pane").waitFor({ state: "visible", timeout: 5000 });
  await waitCount(page, "#subscriptions tr", 2);
  const states = await page.locator("#subscriptions td.state").allTextContents();
  check(states.includes("paused") && states.some((s) => s === "active" || s === "retrying"),
    `the pane shows each subscription's state (${states})`);
  const lags = await page.locator("#subscriptions td.lag").allTextContents();
  check(lags.every((l) => /^(≥ )?[0-9]+$/.test(l)), `and its lag (${lags})`);
  const paused = page.locator("#subscriptions tr", { has: page.locator("td[data-state=paused]") });
  check(await paused.locator("td.lag").textContent() === "2", "a paused one lags by what it has not delivered");
  check(await page.locator("#subscriptions-pane button, #subscriptions-pane input").count() === 0, "read-only");
}

try {
  if (mode === "archive") await archive();
  else if (mode === "subscriptions") await subscriptions();
  else await inbox();
  check(problems.length === 0, `no console errors or CSP violations (${problems.join(" | ")})`);
  console.log("browser: passed");
} catch (e) {
  console.error(e.message ?? e);
  if (problems.length) console.error("console: " + problems.join(" | "));
  process.exitCode = 1;
} finally {
  await browser.close();
}
