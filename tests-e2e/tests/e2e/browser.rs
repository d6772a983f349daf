//! The inbox page (`/ui`) in a real headless Chromium, driven by
//! `playwright-core` (`tests-e2e/browser/inbox.mjs`). Needs Node.js,
//! Debian's `chromium` and `npm ci` in `tests-e2e/browser`; without them
//! each test skips with one line, unless `HOOKBOX_REQUIRE_BROWSER=1` (as
//! `.ci/run` sets), which makes them mandatory.

use std::path::PathBuf;
use std::process::Command;

use testkit::{SECRET, Server};

/// The WhatsApp app secret the page checks sign their notifications with.
const APP_SECRET: &str = "inbox-app-secret";

/// A server that takes WhatsApp notifications too (the page shows their
/// kinds, media, names and replies).
fn inbox_server(extra: &[(&str, &str)]) -> Server {
    let mut builder = Server::builder()
        .env("WHATSAPP_APP_SECRET", APP_SECRET)
        .env("WHATSAPP_VERIFY_TOKEN", "inbox-verify");
    for (k, v) in extra {
        builder = builder.env(k, v);
    }
    builder.start()
}

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser")
}

fn chromium() -> PathBuf {
    std::env::var_os("HOOKBOX_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Whether the browser tests can run here; one line when they cannot.
fn available(test: &str) -> bool {
    let missing = if !chromium().exists() {
        Some(format!(
            "{} not found (apt-get install chromium)",
            chromium().display()
        ))
    } else if Command::new("node").arg("--version").output().is_err() {
        Some("node not found".to_owned())
    } else if !browser_dir().join("node_modules/playwright-core").exists() {
        Some("playwright-core not installed (npm ci in tests-e2e/browser)".to_owned())
    } else {
        None
    };
    match missing {
        None => true,
        Some(why) if std::env::var("HOOKBOX_REQUIRE_BROWSER").is_ok_and(|v| v == "1") => {
            panic!("{test}: the browser tests are required, but {why}")
        }
        Some(why) => {
            eprintln!("SKIPPED {test}: {why}");
            false
        }
    }
}

/// Runs `inbox.mjs` against `server`; panics with its output on failure.
fn run_page_checks(server: &Server, mode: &str, token: Option<&str>, screenshot: Option<PathBuf>) {
    let mut cmd = Command::new("node");
    cmd.arg(browser_dir().join("inbox.mjs"))
        .current_dir(browser_dir())
        .env("BASE_URL", format!("http://127.0.0.1:{}", server.port()))
        .env("WEBHOOK_SECRET", SECRET)
        .env("WHATSAPP_APP_SECRET", APP_SECRET)
        .env("CHROMIUM", chromium())
        .env("MODE", mode);
    if let Some(token) = token {
        cmd.env("TOKEN", token);
    }
    if let Some(path) = &screenshot {
        cmd.env("SCREENSHOT", path);
    }
    let out = cmd.output().expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("browser: passed"),
        "the page checks failed ({mode}):\n{stdout}\n{stderr}"
    );
    eprintln!("{stdout}");
}

/// The page opens on the newest messages; the conversations pane lists
/// senders by latest activity with name, count and preview; a thread shows
/// one sender's messages in order with badges for kinds, media, location,
/// reactions, the quoted message a reply answers and the sender's name;
/// it is usable with the keyboard; search spans everything; a click shows
/// the full text; the stats and the 30-day chart render; a live message
/// lands in its conversation, moves it to the top and shows within 2 s;
/// nothing is loaded from elsewhere, no CSP violation. The screenshot in
/// the README comes from here (`target/inbox.png`).
#[test]
fn the_inbox_page_lists_filters_and_goes_live() {
    if !available("the inbox page in Chromium") {
        return;
    }
    let server = inbox_server(&[]);
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target")
        .join("inbox.png");
    run_page_checks(&server, "open", None, Some(target.clone()));
    assert!(target.exists(), "the screenshot was written");
}

/// With `API_TOKENS` set the page asks for a token, refuses a wrong one,
/// then works with the right one, keeping it in `sessionStorage` only.
#[test]
fn the_inbox_page_asks_for_a_token_when_reads_are_protected() {
    if !available("the inbox page with read tokens") {
        return;
    }
    let server = inbox_server(&[("API_TOKENS", "page-token-1,page-token-2")]);
    run_page_checks(&server, "token", Some("page-token-2"), None);
}

/// With nothing in the last 30 days, the chart shows the 30 days up to the
/// newest message, and says so.
#[test]
fn the_inbox_chart_falls_back_to_the_newest_message() {
    if !available("the inbox chart on old data") {
        return;
    }
    let server = inbox_server(&[]);
    run_page_checks(&server, "archive", None, None);
}

/// With an admin token the page shows the subscriptions, read-only, with
/// their state and lag; with a read token it shows none (the token test).
#[test]
fn the_inbox_page_shows_subscriptions_to_admin_tokens() {
    if !available("the inbox page's subscriptions") {
        return;
    }
    let server = inbox_server(&[("API_TOKENS", "page-read"), ("ADMIN_TOKENS", "page-admin")]);
    let c = server.client();
    let auth = [
        ("authorization", "Bearer page-admin"),
        ("content-type", "application/json"),
    ];
    let created = |spec: &str| {
        let r = c
            .request("POST", "/subscriptions", &auth, Some(spec.as_bytes()))
            .expect("post");
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["id"].as_str().expect("id").to_owned()
    };
    let paused = created(r#"{"url":"http://127.0.0.1:9/paused","start":"beginning"}"#);
    let r = c
        .request(
            "PATCH",
            &format!("/subscriptions/{paused}"),
            &auth,
            Some(br#"{"paused":true}"#),
        )
        .expect("patch");
    assert_eq!(r.status, 200, "{}", r.text());
    created(r#"{"url":"http://127.0.0.1:9/active","from":"+14155550001"}"#);
    for id in ["sub-ui-1", "sub-ui-2"] {
        let body = crate::body(id, "+14155550002", "2025-01-15T10:00:00Z", Some("hi"));
        assert_eq!(c.signed_webhook(&body).expect("post").status, 200);
    }
    run_page_checks(&server, "subscriptions", Some("page-admin"), None);
}
