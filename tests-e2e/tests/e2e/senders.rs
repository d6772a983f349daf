//! Real senders through the real binary: WhatsApp Cloud API notifications
//! (handshake, `X-Hub-Signature-256`, mapping, batches, skips) and Standard
//! Webhooks on `POST /webhook` (signatures, tolerance, `svix-` aliases,
//! rotation), and `hookbox sign`.

use std::time::{SystemTime, UNIX_EPOCH};

use domain::{SigningKeys, WebhookSecret};
use serde_json::Value;
use testkit::{Client, Server};

use crate::{ids, metric};

const APP_SECRET: &str = "meta-app-secret-5e1f";
const VERIFY_TOKEN: &str = "verify-me-42";

fn whatsapp_server() -> Server {
    Server::builder()
        .env("WHATSAPP_APP_SECRET", APP_SECRET)
        .env("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
        .start()
}

fn hub_signature(secret: &str, body: &[u8]) -> String {
    let key = WebhookSecret::new(secret).expect("non-empty");
    format!("sha256={}", key.sign(body))
}

fn notify(c: Client, body: &[u8], signature: Option<&str>) -> testkit::Response {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(s) = signature {
        headers.push(("X-Hub-Signature-256", s));
    }
    c.request("POST", "/webhook/whatsapp", &headers, Some(body))
        .expect("post")
}

/// A notification as Meta sends it: non-ASCII escaped as `\uXXXX`, several
/// messages (text, an image without caption, a reaction), a status.
const REAL_SHAPE: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Jo\u00e3o"},"wa_id":"5511987654321"}],"messages":[{"from":"5511987654321","id":"wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjBDMEE0","timestamp":"1504902988","text":{"body":"Ol\u00e1, tudo bem? \ud83d\ude00"},"type":"text"},{"from":"5511987654321","id":"wamid.IMAGE2","timestamp":"1504902990","type":"image","image":{"mime_type":"image/jpeg","sha256":"abc","id":"1003383421387256"}},{"from":"5511987654321","id":"wamid.REACT3","timestamp":"1504902995","type":"reaction","reaction":{"message_id":"wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjBDMEE0","emoji":"\ud83d\udc4d"}}],"statuses":[{"id":"wamid.OUT9","status":"delivered","timestamp":"1504902999","recipient_id":"5511987654321"}]},"field":"messages"}]}]}"#;

#[test]
fn whatsapp_handshake_answers_the_challenge_only_to_the_right_token() {
    let server = whatsapp_server();
    let c = server.client();
    let r = c
        .get(&format!(
            "/webhook/whatsapp?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"
        ))
        .expect("get");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "1158201444");
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("text/plain"))
    );
    for target in [
        "/webhook/whatsapp?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1158201444",
        "/webhook/whatsapp?hub.verify_token=verify-me-42&hub.challenge=1158201444",
        "/webhook/whatsapp?hub.mode=unsubscribe&hub.verify_token=verify-me-42&hub.challenge=1158201444",
    ] {
        let r = c.get(target).expect("get");
        assert_eq!(r.status, 403, "{target}");
        assert!(
            !r.text().contains("1158201444"),
            "challenge echoed: {target}"
        );
    }
    assert!(
        !server.stdout().join("\n").contains(VERIFY_TOKEN),
        "token logged"
    );
}

#[test]
fn whatsapp_routes_are_404_until_configured_and_store_nothing() {
    let server = Server::start();
    let c = server.client();
    let r = c
        .get("/webhook/whatsapp?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1")
        .expect("get");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("WHATSAPP_APP_SECRET"), "{}", r.text());
    let r = notify(
        c,
        REAL_SHAPE.as_bytes(),
        Some(&hub_signature(APP_SECRET, REAL_SHAPE.as_bytes())),
    );
    assert_eq!(r.status, 404);
    assert_eq!(c.get("/messages").expect("list").json()["total"], 0);
}

#[test]
fn a_real_shaped_notification_is_mapped_stored_once_and_replayed_safely() {
    let server = whatsapp_server();
    let c = server.client();
    let body = REAL_SHAPE.as_bytes();
    let sig = hub_signature(APP_SECRET, body);
    let r = notify(c, body, Some(&sig));
    assert_eq!(
        (r.status, r.json()),
        (200, serde_json::json!({"status": "ok"}))
    );
    let page = c.get("/messages").expect("list").json();
    assert_eq!(
        ids(&page),
        [
            "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjBDMEE0",
            "wamid.IMAGE2",
            "wamid.REACT3"
        ]
    );
    let first = &page["data"][0];
    assert_eq!(first["from"], "+5511987654321");
    assert_eq!(first["to"], "+15550783881");
    assert_eq!(first["ts"], "2017-09-08T20:36:28Z");
    assert_eq!(first["text"], "Olá, tudo bem? 😀");
    assert_eq!(
        page["data"][1]["text"],
        Value::Null,
        "an image without caption has no text"
    );
    assert_eq!(page["data"][2]["text"], "👍");
    // Meta's retry of the same notification changes nothing.
    assert_eq!(notify(c, body, Some(&sig)).status, 200);
    assert_eq!(c.get("/messages").expect("list").json()["total"], 3);
    let m = c.get("/metrics").expect("metrics").text();
    let value = |series: &str| metric(&m, series).unwrap_or(0.0);
    assert_eq!(
        value(r#"hookbox_messages_total{source="whatsapp",result="created"}"#),
        3.0,
        "{m}"
    );
    assert_eq!(
        value(r#"hookbox_messages_total{source="whatsapp",result="duplicate"}"#),
        3.0
    );
    // The status is kept (and counted each time it arrives), not ignored.
    assert_eq!(value("hookbox_whatsapp_statuses_total"), 2.0, "{m}");
    let status = c.get("/statuses/wamid.OUT9").expect("status").json();
    assert_eq!(status["status"], "delivered", "{status}");
    // The start-up lines (start, unauthenticated reads), then the requests.
    let logs = server.wait_for_lines(4);
    let lines: Vec<Value> = logs
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let posted: Vec<&Value> = lines
        .iter()
        .filter(|l| l["path"] == "/webhook/whatsapp")
        .collect();
    assert_eq!(posted.len(), 2, "{logs:?}");
    assert_eq!(
        (posted[0]["stored"].clone(), posted[0]["duplicates"].clone()),
        (3.into(), 0.into())
    );
    assert_eq!(
        (posted[1]["stored"].clone(), posted[1]["duplicates"].clone()),
        (0.into(), 3.into())
    );
    assert_eq!(posted[0]["source"], "whatsapp");
}

#[test]
fn whatsapp_signatures_forged_missing_or_short_are_401_and_store_nothing() {
    let server = whatsapp_server();
    let c = server.client();
    let body = REAL_SHAPE.as_bytes();
    let good = hub_signature(APP_SECRET, body);
    let forged = hub_signature("someone-else", body);
    let short = good[..good.len() - 2].to_owned();
    let bare = good.trim_start_matches("sha256=").to_owned();
    // Re-serialised JSON (the \u escapes decoded) is not what Meta signed.
    let reserialised =
        serde_json::to_vec(&serde_json::from_slice::<Value>(body).expect("json")).expect("json");
    for (name, b, sig) in [
        ("forged", body.to_vec(), Some(forged.as_str())),
        ("missing", body.to_vec(), None),
        ("too few digits", body.to_vec(), Some(short.as_str())),
        ("no sha256= prefix", body.to_vec(), Some(bare.as_str())),
        ("signed over other bytes", reserialised, Some(good.as_str())),
    ] {
        let r = notify(c, &b, sig);
        assert_eq!(r.status, 401, "{name}: {}", r.text());
    }
    assert_eq!(c.get("/messages").expect("list").json()["total"], 0);
    let m = c.get("/metrics").expect("metrics").text();
    assert_eq!(
        metric(&m, r#"hookbox_signature_failures_total{source="whatsapp"}"#),
        Some(5.0)
    );
}

fn many_messages(n: usize, pad: usize) -> Vec<u8> {
    let messages: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"from":"4915112345{:03}","id":"wamid.bulk{i}","timestamp":"{}","type":"text","text":{{"body":"message {i} {}"}}}}"#,
                i % 1000,
                1_700_000_000 + i,
                "x".repeat(pad)
            )
        })
        .collect();
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"+1 555 078 3881","phone_number_id":"1"}},"messages":[{}]}}}}]}}]}}"#,
        messages.join(",")
    )
    .into_bytes()
}

#[test]
fn a_thousand_message_notification_of_two_megabytes_is_stored_whole() {
    let server = whatsapp_server();
    let c = server.client();
    let body = many_messages(1000, 1900);
    assert!(body.len() > 2_000_000, "{} bytes", body.len());
    let r = notify(c, &body, Some(&hub_signature(APP_SECRET, &body)));
    assert_eq!(r.status, 200, "{}", r.text());
    let stats = c.get("/stats").expect("stats").json();
    assert_eq!(stats["total_messages"], 1000);
    assert_eq!(stats["senders_count"], 1000);
    let line = server
        .wait_for_lines(3)
        .into_iter()
        .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
        .find(|l| l["path"] == "/webhook/whatsapp")
        .expect("log line");
    assert_eq!(line["stored"], 1000);
    // WHATSAPP_MAX_BODY_BYTES takes effect: the same body over a small limit.
    let small = Server::builder()
        .env("WHATSAPP_APP_SECRET", APP_SECRET)
        .env("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
        .env("WHATSAPP_MAX_BODY_BYTES", "1000000")
        .start();
    let r = notify(
        small.client(),
        &body,
        Some(&hub_signature(APP_SECRET, &body)),
    );
    assert_eq!(r.status, 413);
    assert_eq!(
        small.client().get("/messages").expect("list").json()["total"],
        0
    );
}

#[test]
fn an_unmappable_entry_is_skipped_with_a_warning_and_the_rest_stored() {
    let server = whatsapp_server();
    let c = server.client();
    let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"display_phone_number":"15550783881"},"messages":[{"from":"4915112345678","id":"wamid.good","timestamp":"1504902988","type":"text","text":{"body":"fine"}},{"from":"1234567890123456","id":"wamid.sixteen","timestamp":"1504902988","type":"text","text":{"body":"16 digits"}}]}}]}]}"#;
    let r = notify(c, body, Some(&hub_signature(APP_SECRET, body)));
    assert_eq!(r.status, 200);
    assert_eq!(
        ids(&c.get("/messages").expect("list").json()),
        ["wamid.good"]
    );
    let lines: Vec<Value> = server
        .wait_for_lines(4)
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let warn = lines
        .iter()
        .find(|l| l["msg"] == "whatsapp message skipped")
        .expect("a WARN line for the skipped entry");
    assert_eq!(warn["level"], "WARN");
    assert_eq!(warn["message_id"], "wamid.sixteen");
    assert!(
        warn["reason"].as_str().is_some_and(|r| r.contains("from")),
        "{warn}"
    );
    let m = c.get("/metrics").expect("metrics").text();
    assert_eq!(
        metric(
            &m,
            r#"hookbox_messages_total{source="whatsapp",result="skipped"}"#
        ),
        Some(1.0)
    );
}

#[test]
fn whatsapp_app_secret_rotates() {
    let server = Server::builder()
        .env("WHATSAPP_APP_SECRET", "new-app-secret")
        .env("WHATSAPP_APP_SECRET_PREVIOUS", APP_SECRET)
        .env("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
        .start();
    let c = server.client();
    let body = REAL_SHAPE.as_bytes();
    assert_eq!(
        notify(c, body, Some(&hub_signature(APP_SECRET, body))).status,
        200,
        "old secret"
    );
    assert_eq!(
        notify(c, body, Some(&hub_signature("new-app-secret", body))).status,
        200,
        "new secret"
    );
    assert_eq!(
        notify(c, body, Some(&hub_signature("retired", body))).status,
        401
    );
}

// ---- Standard Webhooks on POST /webhook ----

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

fn keys(secret: &str) -> SigningKeys {
    SigningKeys::new(WebhookSecret::new(secret).expect("non-empty"))
}

fn standard(
    c: Client,
    prefix: &str,
    id: &str,
    ts: i64,
    sig: &str,
    body: &[u8],
) -> testkit::Response {
    let ts = ts.to_string();
    let (hid, hts, hsig) = (
        format!("{prefix}-id"),
        format!("{prefix}-timestamp"),
        format!("{prefix}-signature"),
    );
    c.request(
        "POST",
        "/webhook",
        &[
            ("Content-Type", "application/json"),
            (&hid, id),
            (&hts, &ts),
            (&hsig, sig),
        ],
        Some(body),
    )
    .expect("post")
}

fn msg(id: &str) -> Vec<u8> {
    crate::body(
        id,
        "+4915112345678",
        "2025-01-15T10:00:00Z",
        Some("standard"),
    )
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one table of signed requests and the answer each must get"
)]
fn standard_webhooks_signatures_timestamps_and_aliases() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let server = Server::builder().env("WEBHOOK_SECRET", secret).start();
    let c = server.client();
    let k = keys(secret);
    let t = now();
    let b = msg("sw1");
    let good = k.sign_standard("evt_1", t, &b);
    let r = standard(c, "webhook", "evt_1", t, &good, &b);
    assert_eq!(
        (r.status, r.json()),
        (200, serde_json::json!({"status": "ok"})),
        "valid"
    );
    let b2 = msg("sw2");
    let list = format!(
        "v1,bm9wZQ== {} v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q=",
        k.sign_standard("evt_2", t, &b2)
    );
    assert_eq!(
        standard(c, "webhook", "evt_2", t, &list, &b2).status,
        200,
        "one of a list"
    );
    let b3 = msg("sw3");
    assert_eq!(
        standard(
            c,
            "svix",
            "evt_3",
            t,
            &k.sign_standard("evt_3", t, &b3),
            &b3
        )
        .status,
        200,
        "svix aliases"
    );

    let b4 = msg("sw4");
    // Well past the tolerance either way, from the clock now (time passes
    // between requests on a busy machine).
    let stale = now() - 400;
    let r = standard(
        c,
        "webhook",
        "evt_4",
        stale,
        &k.sign_standard("evt_4", stale, &b4),
        &b4,
    );
    assert_eq!(r.status, 401, "stale");
    assert!(
        r.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("outside the tolerance")),
        "{}",
        r.text()
    );
    let future = now() + 400;
    let r = standard(
        c,
        "webhook",
        "evt_4",
        future,
        &k.sign_standard("evt_4", future, &b4),
        &b4,
    );
    assert_eq!(r.status, 401, "future");
    assert!(r.text().contains("outside the tolerance"));
    let tampered = msg("sw4-tampered");
    assert_eq!(
        standard(
            c,
            "webhook",
            "evt_4",
            t,
            &k.sign_standard("evt_4", t, &b4),
            &tampered
        )
        .status,
        401,
        "tampered"
    );
    assert_eq!(
        standard(
            c,
            "webhook",
            "evt_other",
            t,
            &k.sign_standard("evt_4", t, &b4),
            &b4
        )
        .status,
        401,
        "wrong id"
    );
    assert_eq!(
        standard(c, "webhook", "evt_4", t, "v1,", &b4).status,
        401,
        "empty v1"
    );
    let sig = k.sign_standard("evt_4", t, &b4);
    assert_eq!(
        standard(c, "webhook", "evt_4", t, &sig[..sig.len() - 6], &b4).status,
        401,
        "truncated"
    );
    assert_eq!(
        standard(
            c,
            "webhook",
            "evt_4",
            t,
            &sig.replacen("v1,", "v2,", 1),
            &b4
        )
        .status,
        401,
        "unknown version"
    );

    assert_eq!(
        ids(&c.get("/messages").expect("list").json()),
        ["sw1", "sw2", "sw3"]
    );
    let m = c.get("/metrics").expect("metrics").text();
    assert_eq!(
        metric(
            &m,
            r#"hookbox_messages_total{source="standard-webhooks",result="created"}"#
        ),
        Some(3.0)
    );
    assert_eq!(
        metric(
            &m,
            r#"hookbox_signature_failures_total{source="standard-webhooks"}"#
        ),
        Some(7.0)
    );
    // X-Signature still works beside it, with the same secret's bytes.
    assert_eq!(
        c.signed_webhook(&msg("xs1")).expect("post").status,
        401,
        "testkit signs with its own secret"
    );
    let xs = msg("xs1");
    let r = c
        .request(
            "POST",
            "/webhook",
            &[
                ("Content-Type", "application/json"),
                ("X-Signature", &k.primary().sign(&xs)),
            ],
            Some(&xs),
        )
        .expect("post");
    assert_eq!(r.status, 200);
}

#[test]
fn standard_webhooks_rotation_and_tolerance_setting() {
    let server = Server::builder()
        .env("WEBHOOK_SECRET", "new-secret")
        .env("WEBHOOK_SECRET_PREVIOUS", "old-secret")
        .env("WEBHOOK_TOLERANCE_SECONDS", "1000")
        .start();
    let c = server.client();
    let t = now();
    for (i, secret) in ["new-secret", "old-secret"].into_iter().enumerate() {
        let b = msg(&format!("rot{i}"));
        let id = format!("evt_rot{i}");
        assert_eq!(
            standard(
                c,
                "webhook",
                &id,
                t,
                &keys(secret).sign_standard(&id, t, &b),
                &b
            )
            .status,
            200,
            "{secret}"
        );
    }
    let b = msg("rot-bad");
    assert_eq!(
        standard(
            c,
            "webhook",
            "evt_bad",
            t,
            &keys("retired").sign_standard("evt_bad", t, &b),
            &b
        )
        .status,
        401
    );
    // 500 s old: inside WEBHOOK_TOLERANCE_SECONDS=1000 (the default 300 refuses it).
    let old = t - 500;
    let b = msg("rot-old");
    assert_eq!(
        standard(
            c,
            "webhook",
            "evt_old",
            old,
            &keys("new-secret").sign_standard("evt_old", old, &b),
            &b
        )
        .status,
        200
    );
    let old = t - 1100;
    assert_eq!(
        standard(
            c,
            "webhook",
            "evt_old2",
            old,
            &keys("new-secret").sign_standard("evt_old2", old, &b),
            &b
        )
        .status,
        401
    );
}

#[test]
fn hookbox_sign_prints_headers_the_server_accepts() {
    let server = whatsapp_server();
    let c = server.client();
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("body.json");
    let sign = |args: &[&str]| -> Vec<(String, String)> {
        let out = std::process::Command::new(testkit::hookbox_binary())
            .arg("sign")
            .args(args)
            .arg(&file)
            .output()
            .expect("run hookbox sign");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                l.split_once(": ")
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
            })
            .collect()
    };
    let post = |path: &str, headers: &[(String, String)], body: &[u8]| {
        let mut all: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
        all.extend(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c.request("POST", path, &all, Some(body))
            .expect("post")
            .status
    };
    let b = msg("cli1");
    std::fs::write(&file, &b).expect("write");
    assert_eq!(
        post("/webhook", &sign(&["--secret", testkit::SECRET]), &b),
        200
    );
    let b = msg("cli2");
    std::fs::write(&file, &b).expect("write");
    assert_eq!(
        post(
            "/webhook",
            &sign(&["--secret", testkit::SECRET, "--scheme", "standard-webhooks"]),
            &b
        ),
        200
    );
    std::fs::write(&file, REAL_SHAPE).expect("write");
    assert_eq!(
        post(
            "/webhook/whatsapp",
            &sign(&["--secret", APP_SECRET, "--scheme", "whatsapp"]),
            REAL_SHAPE.as_bytes()
        ),
        200
    );
    assert_eq!(c.get("/messages").expect("list").json()["total"], 5);
}
