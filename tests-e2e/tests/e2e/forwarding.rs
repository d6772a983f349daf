//! Forwarding through the real binary to real receiver processes on
//! loopback (`hookbox-receiver`), on the store this run uses: every message
//! once, in order, verifiable with the secret; retries that keep order;
//! dead letters, retry and replay; `410` and `429`; filters; erasure; the
//! admin tokens; and, on PostgreSQL, a replica killed under load.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use domain::{SigningKeys, StandardHeaders, WebhookSecret};
use serde_json::{Value, json};
use testkit::{Client, Receiver, Server};

use crate::body;

const ADMIN: &str = "forward-admin-token";
const READER: &str = "forward-read-token";

fn server(extra: &[(&str, &str)]) -> Server {
    let mut b = Server::builder()
        .env("ADMIN_TOKENS", ADMIN)
        .env("API_TOKENS", READER);
    for (k, v) in extra {
        b = b.env(k, v);
    }
    b.start()
}

fn call(
    c: Client,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> testkit::Response {
    let auth = format!("Bearer {token}");
    let bytes = body.map(|b| serde_json::to_vec(b).expect("json"));
    c.request(
        method,
        path,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        bytes.as_deref(),
    )
    .expect("request")
}

fn subscribe(c: Client, spec: &Value) -> Value {
    let r = call(c, "POST", "/subscriptions", ADMIN, Some(spec));
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

fn get_sub(c: Client, id: &str) -> Value {
    let r = call(c, "GET", &format!("/subscriptions/{id}"), ADMIN, None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn post(c: Client, id: &str, from: &str) {
    let r = c
        .signed_webhook(&body(id, from, "2025-01-15T10:00:00Z", Some(id)))
        .expect("post");
    assert_eq!(r.status, 200, "{id}: {}", r.text());
}

fn header<'a>(request: &'a Value, name: &str) -> &'a str {
    request["headers"][name].as_str().unwrap_or_default()
}

/// The delivered record's `message_id`.
fn delivered_id(request: &Value) -> String {
    let record: Value =
        serde_json::from_str(request["body"].as_str().expect("body")).expect("JSON body");
    record["message_id"]
        .as_str()
        .expect("message_id")
        .to_owned()
}

fn ids(requests: &[Value]) -> Vec<String> {
    requests.iter().map(delivered_id).collect()
}

fn wait_until(within: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Each request verifies under the subscription's secret as Standard
/// Webhooks, with `webhook-id` = `<subscription>:<seq>` matching the body.
fn assert_signed(request: &Value, sub: &Value) {
    let secret = sub["secret"].as_str().expect("secret");
    let keys = SigningKeys::new(WebhookSecret::new(secret).expect("secret"));
    let body = request["body"].as_str().expect("body");
    let headers = StandardHeaders {
        id: Some(header(request, "webhook-id").as_bytes()),
        timestamp: Some(header(request, "webhook-timestamp").as_bytes()),
        signature: Some(header(request, "webhook-signature").as_bytes()),
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    keys.verify_standard(headers, body.as_bytes(), now, 300)
        .unwrap_or_else(|e| panic!("signature: {e:?} on {request}"));
    let record: Value = serde_json::from_str(body).expect("JSON");
    let expected = format!("{}:{}", sub["id"].as_str().expect("id"), record["seq"]);
    assert_eq!(header(request, "webhook-id"), expected);
    assert_eq!(header(request, "content-type"), "application/json");
    assert_eq!(header(request, "content-length"), body.len().to_string());
}

#[test]
fn every_message_once_in_order_and_signed() {
    let s = server(&[]);
    let c = s.client();
    post(c, "before", "+111");
    let rx = Receiver::start(&[200], None);
    let sub = subscribe(c, &json!({"url": rx.url("/hooks")}));
    assert!(
        sub["secret"]
            .as_str()
            .is_some_and(|x| x.starts_with("whsec_"))
    );
    let sent: Vec<String> = (0..40).map(|i| format!("m{i:02}")).collect();
    for id in &sent {
        post(c, id, "+111");
    }
    let got = rx.wait_for(40, Duration::from_secs(15));
    assert_eq!(
        ids(&got),
        sent,
        "start=now skips what came before; order kept"
    );
    for r in &got {
        assert_signed(r, &sub);
        assert_eq!(r["request"], "POST /hooks HTTP/1.1");
    }
    // `hookbox sign` makes the same signature from the secret.
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("body.json");
    std::fs::write(&file, got[0]["body"].as_str().expect("body")).expect("write");
    let signed = std::process::Command::new(testkit::hookbox_binary())
        .args([
            "sign",
            "--scheme",
            "standard-webhooks",
            "--secret",
            sub["secret"].as_str().expect("secret"),
        ])
        .args([
            "--id",
            header(&got[0], "webhook-id"),
            "--timestamp",
            header(&got[0], "webhook-timestamp"),
        ])
        .arg(&file)
        .output()
        .expect("hookbox sign");
    let printed = String::from_utf8_lossy(&signed.stdout);
    assert!(
        printed.contains(header(&got[0], "webhook-signature")),
        "hookbox sign printed {printed}"
    );
    // The body is the full record, as GET /messages/{id} shows it.
    let record: Value = serde_json::from_str(got[0]["body"].as_str().expect("body")).expect("json");
    let shown = c
        .request(
            "GET",
            "/messages/m00",
            &[("authorization", &format!("Bearer {READER}"))],
            None,
        )
        .expect("get")
        .json();
    assert_eq!(record, shown);
    let id = sub["id"].as_str().expect("id");
    wait_until(
        Duration::from_secs(5),
        "the position to be recorded",
        || {
            let now = get_sub(c, id);
            now["delivered"] == 40 && now["lag"] == 0
        },
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rx.requests().len(), 40, "nothing delivered twice");
    // GET lists it without the secret; DELETE stops it.
    let listed = call(c, "GET", "/subscriptions", ADMIN, None).json();
    assert_eq!(listed["data"][0]["id"], sub["id"]);
    assert!(listed["data"][0].get("secret").is_none());
    assert_eq!(
        call(c, "DELETE", &format!("/subscriptions/{id}"), ADMIN, None).status,
        204
    );
    post(c, "after-delete", "+111");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        rx.requests().len(),
        40,
        "a deleted subscription delivers nothing"
    );
}

#[test]
fn a_receiver_failing_three_times_then_taking_it_keeps_order() {
    let s = server(&[]);
    let c = s.client();
    let rx = Receiver::start(&[500, 503, 500, 200], None);
    let sub = subscribe(c, &json!({"url": rx.url("/")}));
    let id = sub["id"].as_str().expect("id");
    for m in ["a", "b", "c"] {
        post(c, m, "+111");
    }
    let _ = rx.wait_for(2, Duration::from_secs(10));
    let held = get_sub(c, id);
    assert_eq!(held["retrying"], true, "{held}");
    assert_eq!(held["held_back"]["message_id"], "a");
    assert!(
        held["last_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("HTTP 5")),
        "{held}"
    );
    let got = rx.wait_for(6, Duration::from_secs(20));
    assert_eq!(
        ids(&got),
        ["a", "a", "a", "a", "b", "c"],
        "no gap, no reordering"
    );
    let statuses: Vec<_> = got
        .iter()
        .map(|r| r["status"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(statuses, [500, 503, 500, 200, 200, 200]);
    // The same webhook-id on every attempt of one message.
    assert!(
        got[..4]
            .iter()
            .all(|r| header(r, "webhook-id") == header(&got[0], "webhook-id"))
    );
    // Backoff: about 1 s, then 2 s, then 4 s (±20 %).
    let times: Vec<i64> = got[..4]
        .iter()
        .map(|r| header(r, "webhook-timestamp").parse().unwrap_or(0))
        .collect();
    assert!(times[3] - times[0] >= 5, "backoff doubles: {times:?}");
    wait_until(Duration::from_secs(5), "delivered count", || {
        get_sub(c, id)["delivered"] == 3
    });
    assert_eq!(get_sub(c, id)["retrying"], false);
}

#[test]
fn dead_letters_then_retry_and_replay() {
    let s = server(&[("FORWARD_MAX_ATTEMPTS", "2")]);
    let c = s.client();
    // a: 500, 500 (dead); b: 500, 500 (dead); then everything is taken.
    let rx = Receiver::start(&[500, 500, 500, 500, 200], None);
    let sub = subscribe(c, &json!({"url": rx.url("/")}));
    let id = sub["id"].as_str().expect("id");
    post(c, "a", "+111");
    post(c, "b", "+111");
    let _ = rx.wait_for(4, Duration::from_secs(15));
    let path = format!("/subscriptions/{id}/dead-letters");
    wait_until(Duration::from_secs(5), "two dead letters", || {
        call(c, "GET", &path, ADMIN, None).json()["data"]
            .as_array()
            .is_some_and(|d| d.len() == 2)
    });
    let dead = call(c, "GET", &path, ADMIN, None).json();
    assert_eq!(dead["data"][0]["message_id"], "a");
    assert_eq!(dead["data"][0]["attempts"], 2);
    assert_eq!(dead["data"][0]["last_error"], "HTTP 500");
    assert_eq!(get_sub(c, id)["dead_letters"], 2);
    // Delivery moved on: a new message is delivered at once.
    post(c, "c", "+111");
    let got = rx.wait_for(5, Duration::from_secs(10));
    assert_eq!(ids(&got), ["a", "a", "b", "b", "c"]);
    // Retry one dead letter.
    let seq_a = dead["data"][0]["seq"].as_u64().expect("seq");
    let retry = call(c, "POST", &format!("{path}/{seq_a}/retry"), ADMIN, None);
    assert_eq!(retry.status, 202, "{}", retry.text());
    let got = rx.wait_for(6, Duration::from_secs(10));
    assert_eq!(ids(&got)[5], "a");
    wait_until(Duration::from_secs(5), "one dead letter left", || {
        call(c, "GET", &path, ADMIN, None).json()["data"]
            .as_array()
            .is_some_and(|d| d.len() == 1)
    });
    assert_eq!(
        call(c, "POST", &format!("{path}/1/retry"), ADMIN, None).status,
        404
    );
    // Replay from a: a, b and c again, in order.
    let replay = call(
        c,
        "POST",
        &format!("/subscriptions/{id}/replay"),
        ADMIN,
        Some(&json!({"from_seq": seq_a})),
    );
    assert_eq!(replay.status, 200, "{}", replay.text());
    let got = rx.wait_for(9, Duration::from_secs(10));
    assert_eq!(ids(&got)[6..], ["a", "b", "c"]);
}

#[test]
fn gone_pauses_and_too_many_requests_waits() {
    let s = server(&[]);
    let c = s.client();
    let gone = Receiver::start(&[410], None);
    let sub = subscribe(c, &json!({"url": gone.url("/")}));
    let id = sub["id"].as_str().expect("id");
    post(c, "g1", "+111");
    wait_until(Duration::from_secs(10), "a 410 to pause it", || {
        get_sub(c, id)["state"] == "paused"
    });
    assert_eq!(get_sub(c, id)["paused_reason"], "gone");
    post(c, "g2", "+111");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(gone.requests().len(), 1, "paused: nothing more is sent");

    let slow = Receiver::start(&[429, 200], Some(3));
    let sub = subscribe(c, &json!({"url": slow.url("/")}));
    let started = Instant::now();
    post(c, "r1", "+111");
    let got = slow.wait_for(2, Duration::from_secs(15));
    assert_eq!(ids(&got), ["r1", "r1"]);
    assert!(
        started.elapsed() >= Duration::from_millis(2900),
        "Retry-After: 3 honoured"
    );
    // Resume the paused one at the new URL: g1 (the 410), g2 and r1.
    let r = call(
        c,
        "PATCH",
        &format!("/subscriptions/{id}"),
        ADMIN,
        Some(&json!({"url": slow.url("/"), "state": "active"})),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let got = slow.wait_for(5, Duration::from_secs(10));
    assert_eq!(ids(&got)[2..], ["g1", "g2", "r1"]);
    assert!(sub["id"].is_string());
}

#[test]
fn filters_by_sender_and_kind_and_skips_erased_messages() {
    let s = server(&[]);
    let c = s.client();
    let rx = Receiver::start(&[200], None);
    let sub = subscribe(
        c,
        &json!({"url": rx.url("/"), "from": "+111", "start": "beginning"}),
    );
    let id = sub["id"].as_str().expect("id");
    let paused = call(
        c,
        "PATCH",
        &format!("/subscriptions/{id}"),
        ADMIN,
        Some(&json!({"paused": true})),
    );
    assert_eq!(paused.json()["state"], "paused");
    for (m, from) in [
        ("x1", "+111"),
        ("y1", "+222"),
        ("x2", "+111"),
        ("x3", "+111"),
    ] {
        post(c, m, from);
    }
    let erased = call(c, "DELETE", "/messages/x2", ADMIN, None);
    assert_eq!(erased.status, 200, "{}", erased.text());
    call(
        c,
        "PATCH",
        &format!("/subscriptions/{id}"),
        ADMIN,
        Some(&json!({"paused": false})),
    );
    let got = rx.wait_for(2, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        ids(&rx.requests()),
        ["x1", "x3"],
        "from=+111 only, and x2 was erased"
    );
    let text_only = subscribe(
        c,
        &json!({"url": rx.url("/k"), "kinds": ["image"], "start": "beginning"}),
    );
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        rx.requests().len(),
        got.len(),
        "no image messages: nothing for {}",
        text_only["id"]
    );
}

#[test]
fn admin_tokens_are_required_before_the_body_is_read() {
    let s = server(&[("FORWARD_ALLOWED_HOSTS", "hooks.example.com")]);
    let c = s.client();
    let routes = [
        ("POST", "/subscriptions".to_owned()),
        ("GET", "/subscriptions".to_owned()),
        ("GET", format!("/subscriptions/sub_{}", "0".repeat(32))),
        ("PATCH", format!("/subscriptions/sub_{}", "0".repeat(32))),
        ("DELETE", format!("/subscriptions/sub_{}", "0".repeat(32))),
        (
            "GET",
            format!("/subscriptions/sub_{}/dead-letters", "0".repeat(32)),
        ),
        (
            "POST",
            format!("/subscriptions/sub_{}/dead-letters/1/retry", "0".repeat(32)),
        ),
        (
            "POST",
            format!("/subscriptions/sub_{}/replay", "0".repeat(32)),
        ),
    ];
    let junk = json!({"not": "valid"});
    for (method, path) in &routes {
        let none = c
            .request(method, path, &[], Some(b"{not json"))
            .expect("request");
        assert_eq!(none.status, 401, "{method} {path} without a token");
        assert_eq!(
            call(c, method, path, READER, Some(&junk)).status,
            403,
            "{method} {path} with a read token"
        );
        assert_eq!(
            call(c, method, path, "wrong", Some(&junk)).status,
            401,
            "{method} {path}"
        );
    }
    let bad = |spec: Value, field: &str| {
        let r = call(c, "POST", "/subscriptions", ADMIN, Some(&spec));
        assert_eq!(r.status, 422, "{spec}: {}", r.text());
        assert_eq!(r.json()["detail"][0]["loc"][1], field, "{}", r.text());
    };
    bad(json!({"url": "ftp://hooks.example.com/"}), "url");
    bad(json!({"url": "http://127.0.0.1:9/"}), "url");
    bad(
        json!({"url": "https://hooks.example.com/", "extra": 1}),
        "extra",
    );
    bad(
        json!({"url": "https://hooks.example.com/", "start": "yesterday"}),
        "start",
    );
    bad(
        json!({"url": "https://hooks.example.com/", "from": "nope"}),
        "from",
    );
    bad(json!({}), "url");
    let ok = call(
        c,
        "POST",
        "/subscriptions",
        ADMIN,
        Some(&json!({"url": "https://hooks.example.com/in"})),
    );
    assert_eq!(ok.status, 201, "{}", ok.text());

    let open = Server::start();
    let r = open
        .client()
        .request(
            "GET",
            "/subscriptions",
            &[("authorization", "Bearer x")],
            None,
        )
        .expect("get");
    assert_eq!(r.status, 403);
    assert!(r.text().contains("ADMIN_TOKENS"), "{}", r.text());
}

#[test]
fn a_killed_replica_hands_over_with_nothing_lost() {
    let Some(url) = testkit::postgres::fresh_database("forwarding takeover") else {
        return;
    };
    let env = [("DATABASE_URL", url.as_str()), ("ADMIN_TOKENS", ADMIN)];
    let start = || {
        let mut b = Server::builder();
        for (k, v) in env {
            b = b.env(k, v);
        }
        b.start()
    };
    let a = start();
    let b = start();
    let rx = Receiver::start(&[200], None);
    let sub = subscribe(a.client(), &json!({"url": rx.url("/")}));
    let id = sub["id"].as_str().expect("id").to_owned();
    wait_until(Duration::from_secs(15), "a lease", || {
        get_sub(b.client(), &id)["leased_by"].is_string()
    });
    let owner = get_sub(b.client(), &id)["leased_by"]
        .as_str()
        .expect("owner")
        .to_owned();
    let (mut victim, survivor) = if owner.starts_with(&format!("{}-", a.pid())) {
        (a, b)
    } else {
        (b, a)
    };
    let writer = survivor.client();
    let sent: Vec<String> = (0..400).map(|i| format!("k{i:03}")).collect();
    let to_send = sent.clone();
    let load = std::thread::spawn(move || {
        for m in &to_send {
            post(writer, m, "+111");
        }
    });
    let _ = rx.wait_for(100, Duration::from_secs(20));
    victim.kill();
    load.join().expect("load");
    let deadline = Instant::now() + Duration::from_secs(40);
    while ids(&rx.requests()).iter().collect::<HashSet<_>>().len() < 400
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let delivered = ids(&rx.requests());
    let unique: HashSet<&String> = delivered.iter().collect();
    assert_eq!(
        unique.len(),
        400,
        "every message delivered: {} of 400",
        unique.len()
    );
    let duplicates = delivered.len() - unique.len();
    eprintln!(
        "forwarding takeover: {} requests, {duplicates} duplicates",
        delivered.len()
    );
    assert!(
        duplicates <= 150,
        "duplicates only inside the at-least-once window: {duplicates}"
    );
    // First deliveries are in feed order.
    let mut seen = HashSet::new();
    let firsts: Vec<&String> = delivered.iter().filter(|m| seen.insert(*m)).collect();
    let expected: Vec<&String> = sent.iter().collect();
    assert_eq!(firsts, expected);
    let now = get_sub(survivor.client(), &id);
    assert!(
        now["leased_by"]
            .as_str()
            .is_some_and(|o| o.starts_with(&format!("{}-", survivor.pid()))),
        "{now}"
    );
}

#[test]
fn subscriptions_spread_over_replicas() {
    let Some(url) = testkit::postgres::fresh_database("forwarding spread") else {
        return;
    };
    let start = || {
        Server::builder()
            .env("DATABASE_URL", &url)
            .env("ADMIN_TOKENS", ADMIN)
            .start()
    };
    let (a, b) = (start(), start());
    let rx = Receiver::start(&[200], None);
    let ids: Vec<String> = (0..4)
        .map(|i| {
            subscribe(a.client(), &json!({"url": rx.url(&format!("/{i}"))}))["id"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect();
    wait_until(
        Duration::from_secs(30),
        "two subscriptions per replica",
        || {
            let owners: Vec<String> = ids
                .iter()
                .map(|id| {
                    get_sub(a.client(), id)["leased_by"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect();
            let on_a = owners
                .iter()
                .filter(|o| o.starts_with(&format!("{}-", a.pid())))
                .count();
            let on_b = owners
                .iter()
                .filter(|o| o.starts_with(&format!("{}-", b.pid())))
                .count();
            on_a == 2 && on_b == 2
        },
    );
    post(b.client(), "spread", "+111");
    let got = rx.wait_for(4, Duration::from_secs(10));
    assert_eq!(got.len(), 4, "each subscription delivers once");
}

/// `FORWARD_TIMEOUT`: an answer slower than it is a failed attempt
/// (retried); the settings' bad values stop start-up naming the variable.
#[test]
fn forward_timeout_fails_a_slow_attempt_and_bad_settings_stop_start_up() {
    let s = server(&[("FORWARD_TIMEOUT", "300ms")]);
    let c = s.client();
    let rx = Receiver::start_with(&[200], None, &[1500, 0]);
    let sub = subscribe(c, &json!({"url": rx.url("/")}));
    let id = sub["id"].as_str().expect("id");
    post(c, "t1", "+111");
    wait_until(Duration::from_secs(10), "a timed-out attempt", || {
        get_sub(c, id)["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("timed out"))
    });
    wait_until(Duration::from_secs(10), "the retry to deliver", || {
        get_sub(c, id)["delivered"] == 1
    });
    assert_eq!(ids(&rx.requests()), ["t1", "t1"]);
    for (name, value) in [
        ("FORWARD_TIMEOUT", "forever"),
        ("FORWARD_TIMEOUT", "0s"),
        ("FORWARD_MAX_ATTEMPTS", "0"),
        ("FORWARD_MAX_ATTEMPTS", "101"),
        ("FORWARD_ALLOWED_HOSTS", "https://example.com"),
        ("FORWARD_ALLOWED_HOSTS", "a.com,,b.com"),
    ] {
        let failed = Server::builder()
            .env(name, value)
            .try_start()
            .expect_err(name);
        let said = format!("{failed:?}");
        assert!(said.contains(name), "{name}={value}: {said}");
    }
}

/// A redirect is a failed attempt, named as such, and is not followed.
#[test]
fn redirects_are_not_followed() {
    let s = server(&[]);
    let c = s.client();
    let rx = Receiver::start(&[302, 200], None);
    let sub = subscribe(c, &json!({"url": rx.url("/moved")}));
    let id = sub["id"].as_str().expect("id");
    post(c, "r1", "+111");
    wait_until(Duration::from_secs(10), "a failed attempt", || {
        get_sub(c, id)["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("302") && e.contains("redirects are not followed"))
    });
    wait_until(Duration::from_secs(10), "the retry", || {
        get_sub(c, id)["delivered"] == 1
    });
    let got = rx.requests();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|r| r["request"] == "POST /moved HTTP/1.1"));
}
