// The inbox page in a real headless Chromium. Run by tests-e2e's
// `browser` tests against a hookbox they started:
//   BASE_URL, WEBHOOK_SECRET, CHROMIUM, MODE=open|token [TOKEN], SCREENSHOT
// Posts its own messages (signed like any sender), then checks what a
// person sees. Exits non-zero with a message on the first failure.
import { createHmac } from "node:crypto";
import { chromium } from "playwright-core";

const base = process.env.BASE_URL;
const secret = process.env.WEBHOOK_SECRET;
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

const day = 24 * 3600 * 1000;
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const now = Date.now();
const seeded = [
  { message_id: "ui-1", from: "+14155550001", to: "+14155550100", ts: iso(now - 3 * day), text: "Order #1 shipped" },
  { message_id: "ui-2", from: "+14155550002", to: "+14155550100", ts: iso(now - 2 * day), text: "Where is my parcel? " + "It was due last week. ".repeat(12) },
  { message_id: "ui-3", from: "+14155550001", to: "+14155550100", ts: iso(now - 1 * day), text: "Thanks, the parcel arrived" },
  { message_id: "ui-4", from: "+14155550003", to: "+14155550100", ts: iso(now - 1 * day + 3600e3), text: "Invoice attached" },
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const problems = [];
try {
  for (const m of seeded) await post(m);
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  // A 401 before the token is given is the protocol working; anything else
  // (a CSP violation, a missing asset, a script error) is a problem.
  page.on("console", (msg) => {
    if (msg.type() === "error" && !msg.text().includes("status of 401")) problems.push(msg.text());
  });
  page.on("pageerror", (e) => problems.push(String(e)));
  // Anything fetched from elsewhere would show here.
  const foreign = [];
  page.on("request", (r) => { if (!r.url().startsWith(base)) foreign.push(r.url()); });

  const response = await page.goto(base + "/ui");
  const csp = response.headers()["content-security-policy"] ?? "";
  check(csp.includes("default-src 'none'") && csp.includes("script-src 'self'"), "served under a strict Content-Security-Policy");

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

  const items = page.locator("#messages li");
  await page.waitForFunction(() => document.querySelectorAll("#messages li").length === 4, null, { timeout: 5000 });
  check(await items.count() === 4, "the list renders the 4 messages posted through the API");
  check((await items.first().textContent()).includes("+14155550001"), "each item shows its sender");
  await page.waitForFunction(() => document.getElementById("total").textContent === "4", null, { timeout: 5000 });
  check(true, "the stats show the total");
  check(await page.locator("#top-senders li").count() === 3, "the stats list the top senders");
  check(await page.locator("#chart rect").count() === 30, "the chart has a bar per day for 30 days");

  // Full text on click.
  const long = page.locator('#messages li[data-id="ui-2"]');
  await long.click();
  check(await long.evaluate((li) => li.classList.contains("open")), "a click shows a message's full text");

  // q narrows the list.
  await page.fill("#q", "PARCEL");
  await page.click("#filters button[type=submit]");
  await page.waitForFunction(() => document.querySelectorAll("#messages li").length === 2, null, { timeout: 5000 });
  const ids = await items.evaluateAll((lis) => lis.map((li) => li.dataset.id));
  check(JSON.stringify(ids) === JSON.stringify(["ui-2", "ui-3"]), `q=PARCEL narrows the list to ${ids}`);
  await page.click("#clear");
  await page.waitForFunction(() => document.querySelectorAll("#messages li").length === 4, null, { timeout: 5000 });

  // Live: a message posted after the page opened shows within 2 s.
  await page.check("#live");
  await page.waitForTimeout(500);
  const posted = Date.now();
  await post({ message_id: "ui-live", from: "+14155550009", to: "+14155550100", ts: iso(Date.now()), text: "Posted while the page was open" });
  await page.locator('#messages li[data-id="ui-live"]').waitFor({ timeout: 2000 });
  const took = Date.now() - posted;
  check(took <= 2000, `the live toggle shows a new message within 2 s (${took} ms)`);
  check(await page.locator("#messages li").first().getAttribute("data-id") === "ui-live", "a live message is prepended");

  if (mode === "token") {
    const stored = await page.evaluate(() => [sessionStorage.length, localStorage.length, document.cookie]);
    check(stored[0] === 1 && stored[1] === 0 && stored[2] === "", "the token is kept in sessionStorage only");
  }
  if (process.env.SCREENSHOT) {
    await page.uncheck("#live");
    await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
    console.log("screenshot " + process.env.SCREENSHOT);
  }

  // A phone: no sideways scrolling.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(200);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `readable on a phone: no horizontal overflow (${overflow} px)`);

  check(foreign.length === 0, `loads nothing from elsewhere (${foreign.join(", ")})`);
  check(problems.length === 0, `no console errors or CSP violations (${problems.join(" | ")})`);
  console.log("browser: passed");
} catch (e) {
  console.error(e.message ?? e);
  if (problems.length) console.error("console: " + problems.join(" | "));
  process.exitCode = 1;
} finally {
  await browser.close();
}
