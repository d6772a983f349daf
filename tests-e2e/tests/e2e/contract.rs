//! The HTTP contract, starting with the assignment's evaluation script.

use serde_json::{Value, json};
use testkit::{Server, sign};

use crate::{body, ids, metric};

const EVAL_BODY: &str = r#"{"message_id":"m1","from":"+919876543210","to":"+14155550100","ts":"2025-01-15T10:00:00Z","text":"Hello"}"#;

/// The assignment's seed: m1 plus more messages from other senders and times.
pub(crate) fn evaluation_sequence(server: &Server) {
    evaluation_sequence_on(server.client());
}

/// [`evaluation_sequence`] against any address.
pub(crate) fn evaluation_sequence_on(c: testkit::Client) {
    assert_eq!(
        c.webhook(EVAL_BODY.as_bytes(), Some("123"))
            .expect("post")
            .status,
        401
    );
    assert_eq!(
        c.signed_webhook(EVAL_BODY.as_bytes()).expect("post").status,
        200
    );
    assert_eq!(
        c.signed_webhook(EVAL_BODY.as_bytes()).expect("post").status,
        200
    );
    for (id, from, ts, text) in [
        ("m2", "+919876543210", "2025-01-15T09:00:00Z", "Earlier"),
        ("m3", "+911234567890", "2025-01-15T11:00:00Z", "hello again"),
        ("m4", "+14155550123", "2025-01-10T09:00:00Z", "First of all"),
    ] {
        let r = c
            .signed_webhook(&body(id, from, ts, Some(text)))
            .expect("post");
        assert_eq!(r.status, 200, "{id}: {}", r.text());
    }
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "the assignment's evaluation outline, verbatim and in its order"
)]
fn assignment_evaluation_script() {
    let server = Server::start();
    let c = server.client();

    // 2. Health.
    assert_eq!(c.get("/health/live").expect("live").status, 200);
    let ready = c.get("/health/ready").expect("ready");
    assert_eq!(ready.status, 200, "{}", ready.text());

    // 3. Signature: 401 with the exact body, then 200 twice.
    let r = c.webhook(EVAL_BODY.as_bytes(), Some("123")).expect("post");
    assert_eq!(r.status, 401);
    assert_eq!(r.json(), json!({"detail": "invalid signature"}));
    assert_eq!(
        c.get("/messages").expect("list").json()["total"],
        0,
        "401 stored nothing"
    );
    for _ in 0..2 {
        let r = c.signed_webhook(EVAL_BODY.as_bytes()).expect("post");
        assert_eq!((r.status, r.json()), (200, json!({"status": "ok"})));
    }

    // 4. Seed more.
    for (id, from, ts, text) in [
        ("m2", "+919876543210", "2025-01-15T09:00:00Z", "Earlier"),
        ("m3", "+911234567890", "2025-01-15T11:00:00Z", "hello again"),
        ("m4", "+14155550123", "2025-01-10T09:00:00Z", "First of all"),
    ] {
        assert_eq!(
            c.signed_webhook(&body(id, from, ts, Some(text)))
                .expect("post")
                .status,
            200
        );
    }

    // 5. Listing, ordered by ts then id, with exact total.
    let all = c.get("/messages").expect("list").json();
    assert_eq!(ids(&all), ["m4", "m2", "m1", "m3"]);
    assert_eq!(
        (
            all["total"].clone(),
            all["limit"].clone(),
            all["offset"].clone()
        ),
        (json!(4), json!(50), json!(0))
    );
    assert_eq!(
        all["data"][2],
        json!({"message_id": "m1", "from": "+919876543210", "to": "+14155550100", "ts": "2025-01-15T10:00:00Z", "text": "Hello"})
    );

    let page = c.get("/messages?limit=2&offset=0").expect("page").json();
    assert_eq!(ids(&page), ["m4", "m2"]);
    assert_eq!(
        (
            page["total"].clone(),
            page["limit"].clone(),
            page["offset"].clone()
        ),
        (json!(4), json!(2), json!(0))
    );
    let page = c.get("/messages?limit=2&offset=2").expect("page").json();
    assert_eq!(ids(&page), ["m1", "m3"]);

    // The raw `+` of the evaluation's curl decodes to a space.
    for target in [
        "/messages?from=+919876543210",
        "/messages?from=%2B919876543210",
    ] {
        let from = c.get(target).expect("from").json();
        assert_eq!(ids(&from), ["m2", "m1"], "{target}");
        assert_eq!(from["total"], 2);
    }
    let since = c
        .get("/messages?since=2025-01-15T09:30:00Z")
        .expect("since")
        .json();
    assert_eq!(
        (ids(&since), since["total"].clone()),
        (vec!["m1".to_owned(), "m3".to_owned()], json!(2))
    );
    let q = c.get("/messages?q=Hello").expect("q").json();
    assert_eq!(
        (ids(&q), q["total"].clone()),
        (vec!["m1".to_owned(), "m3".to_owned()], json!(2))
    );

    // 6. Stats.
    let stats = c.get("/stats").expect("stats").json();
    assert_eq!(stats["total_messages"], 4);
    assert_eq!(stats["senders_count"], 3);
    assert_eq!(
        stats["messages_per_sender"],
        json!([
            {"from": "+919876543210", "count": 2},
            {"from": "+14155550123", "count": 1},
            {"from": "+911234567890", "count": 1},
        ])
    );
    let sum: u64 = stats["messages_per_sender"]
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(sum, 4);
    assert_eq!(stats["first_message_ts"], "2025-01-10T09:00:00Z");
    assert_eq!(stats["last_message_ts"], "2025-01-15T11:00:00Z");

    // 7. Metrics.
    let metrics = c.get("/metrics").expect("metrics");
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    assert!(text.lines().any(|l| l.starts_with("http_requests_total")));
    assert!(
        text.lines()
            .any(|l| l.starts_with("webhook_requests_total"))
    );
}

#[test]
fn empty_stats_and_messages() {
    let server = Server::start();
    let c = server.client();
    assert_eq!(
        c.get("/stats").expect("stats").json(),
        json!({"total_messages": 0, "senders_count": 0, "messages_per_sender": [], "first_message_ts": null, "last_message_ts": null})
    );
    assert_eq!(
        c.get("/messages").expect("list").json(),
        json!({"data": [], "total": 0, "limit": 50, "offset": 0})
    );
}

#[test]
fn signature_forms() {
    let server = Server::start();
    let c = server.client();
    let b = body("sig", "+1", "2025-01-15T10:00:00Z", None);
    let good = sign(&b);
    let cases: Vec<(Option<String>, u16)> = vec![
        (None, 401),
        (Some(String::new()), 401),
        (Some("123".into()), 401),
        (Some(good[..63].to_owned()), 401),
        (Some(flip_last(&good)), 401),
        (Some(good.to_uppercase()), 200),
        (Some(format!("sha256={good}")), 200),
        (Some(good.clone()), 200),
    ];
    for (sig, status) in cases {
        let r = c.webhook(&b, sig.as_deref()).expect("post");
        assert_eq!(r.status, status, "{sig:?}");
        if status == 401 {
            assert_eq!(r.json(), json!({"detail": "invalid signature"}));
        }
    }
    // A signature over other bytes (one space added) fails.
    let mut spaced = b.clone();
    spaced.push(b' ');
    assert_eq!(c.webhook(&spaced, Some(&good)).expect("post").status, 401);
    assert_eq!(c.get("/messages").expect("list").json()["total"], 1);
}

#[test]
fn signature_is_checked_before_the_body() {
    let server = Server::start();
    let c = server.client();
    for bad in [&b"not json"[..], b"", b"[]", br#"{"message_id":""}"#] {
        assert_eq!(
            c.webhook(bad, Some("0".repeat(64).as_str()))
                .expect("post")
                .status,
            401
        );
        assert_eq!(c.webhook(bad, None).expect("post").status, 401);
    }
}

fn flip_last(hex: &str) -> String {
    let (head, last) = hex.split_at(hex.len() - 1);
    format!("{head}{}", if last == "0" { "1" } else { "0" })
}

fn locs(r: &testkit::Response) -> Vec<String> {
    r.json()["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("422 detail list: {}", r.text()))
        .iter()
        .map(|d| {
            assert!(d["msg"].is_string() && d["type"].is_string(), "{d}");
            d["loc"]
                .as_array()
                .expect("loc")
                .iter()
                .map(|p| p.as_str().expect("str"))
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect()
}

#[test]
fn validation_errors_are_422_in_fastapi_shape_and_store_nothing() {
    let server = Server::start();
    let c = server.client();
    let ok = json!({"message_id": "v", "from": "+919876543210", "to": "+14155550100", "ts": "2025-01-15T10:00:00Z", "text": "hi"});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        serde_json::to_vec(&b).expect("json")
    };
    let without = |k: &str| {
        let mut b = ok.clone();
        b.as_object_mut().expect("object").remove(k);
        serde_json::to_vec(&b).expect("json")
    };
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("empty id", with("message_id", json!("")), vec!["body.message_id"]),
        ("numeric id", with("message_id", json!(7)), vec!["body.message_id"]),
        ("missing id", without("message_id"), vec!["body.message_id"]),
        ("from without +", with("from", json!("919876543210")), vec!["body.from"]),
        ("from with letters", with("from", json!("+91abc")), vec!["body.from"]),
        ("from too long", with("from", json!("+1234567890123456")), vec!["body.from"]),
        ("to empty", with("to", json!("")), vec!["body.to"]),
        ("missing to", without("to"), vec!["body.to"]),
        ("ts offset", with("ts", json!("2025-01-15T10:00:00+05:30")), vec!["body.ts"]),
        ("ts no zone", with("ts", json!("2025-01-15T10:00:00")), vec!["body.ts"]),
        ("ts not a date", with("ts", json!("2025-02-30T10:00:00Z")), vec!["body.ts"]),
        ("ts lower z", with("ts", json!("2025-01-15T10:00:00z")), vec!["body.ts"]),
        ("ts number", with("ts", json!(1736935200)), vec!["body.ts"]),
        ("text too long", with("text", json!("x".repeat(4097))), vec!["body.text"]),
        ("id too long", with("message_id", json!("i".repeat(513))), vec!["body.message_id"]),
        ("NUL in id", with("message_id", json!("a\u{0}b")), vec!["body.message_id"]),
        ("NUL in text", with("text", json!("a\u{0}b")), vec!["body.text"]),
        ("text number", with("text", json!(5)), vec!["body.text"]),
        ("everything", br#"{"text": []}"#.to_vec(), vec!["body.message_id", "body.from", "body.to", "body.ts", "body.text"]),
        ("not json", b"hello".to_vec(), vec!["body"]),
        ("empty body", Vec::new(), vec!["body"]),
        ("array", b"[1]".to_vec(), vec!["body"]),
        ("string", b"\"x\"".to_vec(), vec!["body"]),
        ("null", b"null".to_vec(), vec!["body"]),
        ("trailing garbage", [serde_json::to_vec(&ok).expect("json"), b"}".to_vec()].concat(), vec!["body"]),
        ("invalid utf-8", b"{\"message_id\":\"\xff\xfe\"}".to_vec(), vec!["body"]),
        ("duplicate key", br#"{"message_id":"a","message_id":"b","from":"+1","to":"+2","ts":"2025-01-15T10:00:00Z"}"#.to_vec(), vec!["body.message_id"]),
    ];
    for (name, b, expected) in cases {
        let r = c.signed_webhook(&b).expect("post");
        assert_eq!(r.status, 422, "{name}: {}", r.text());
        assert_eq!(locs(&r), expected, "{name}");
    }
    assert_eq!(c.get("/messages").expect("list").json()["total"], 0);
}

#[test]
fn accepted_edge_values() {
    let server = Server::start();
    let c = server.client();
    let cases = [
        json!({"message_id": "a", "from": "+1", "to": "+123456789012345", "ts": "2025-01-15T10:00:00.123456789Z"}),
        json!({"message_id": "b", "from": "+1", "to": "+2", "ts": "2024-02-29T00:00:00Z", "text": null}),
        json!({"message_id": "c", "from": "+1", "to": "+2", "ts": "2025-01-15T10:00:00Z", "text": "", "extra": {"ignored": [1, 2]}}),
        json!({"message_id": "d", "from": "+1", "to": "+2", "ts": "2025-01-15T10:00:00Z", "text": "😀".repeat(4096)}),
        json!({"message_id": "e\n\"é", "from": "+1", "to": "+2", "ts": "2025-01-15T10:00:00Z", "text": "x"}),
    ];
    for b in &cases {
        let r = c
            .signed_webhook(&serde_json::to_vec(b).expect("json"))
            .expect("post");
        assert_eq!(r.status, 200, "{b}: {}", r.text());
    }
    let all = c.get("/messages").expect("list").json();
    assert_eq!(all["total"], 5);
    let by_id = |id: &str| {
        all["data"]
            .as_array()
            .expect("data")
            .iter()
            .find(|m| m["message_id"] == id)
            .cloned()
            .expect("present")
    };
    assert_eq!(by_id("a")["text"], Value::Null);
    assert_eq!(by_id("a")["ts"], "2025-01-15T10:00:00.123456789Z");
    assert_eq!(by_id("b")["text"], Value::Null);
    assert_eq!(by_id("c")["text"], "");
    assert_eq!(
        by_id("c").as_object().expect("object").len(),
        5,
        "no extra fields echoed"
    );
    assert_eq!(
        by_id("d")["text"].as_str().expect("text").chars().count(),
        4096
    );
    assert_eq!(by_id("e\n\"é")["text"], "x");
}

#[test]
fn first_write_wins() {
    let server = Server::start();
    let c = server.client();
    assert_eq!(
        c.signed_webhook(&body("same", "+1", "2025-01-15T10:00:00Z", Some("first")))
            .expect("post")
            .status,
        200
    );
    let r = c
        .signed_webhook(&body("same", "+2", "2025-02-15T10:00:00Z", Some("second")))
        .expect("post");
    assert_eq!((r.status, r.json()), (200, json!({"status": "ok"})));
    let all = c.get("/messages").expect("list").json();
    assert_eq!(all["total"], 1);
    assert_eq!(all["data"][0]["text"], "first");
    assert_eq!(all["data"][0]["from"], "+1");
}

#[test]
fn ordering_and_since_compare_instants() {
    let server = Server::start();
    let c = server.client();
    for (id, ts) in [
        ("b", "2025-01-15T10:00:00.5Z"),
        ("a", "2025-01-15T10:00:00Z"),
        ("c", "2025-01-15T10:00:00.05Z"),
        ("z", "2025-01-15T09:59:59.999Z"),
        ("y", "2025-01-15T10:00:00.000Z"),
    ] {
        assert_eq!(
            c.signed_webhook(&body(id, "+1", ts, None))
                .expect("post")
                .status,
            200
        );
    }
    assert_eq!(
        ids(&c.get("/messages").expect("list").json()),
        ["z", "a", "y", "c", "b"]
    );
    let since = c
        .get("/messages?since=2025-01-15T10:00:00.1Z")
        .expect("since")
        .json();
    assert_eq!(
        (ids(&since), since["total"].clone()),
        (vec!["b".to_owned()], json!(1))
    );
    let stats = c.get("/stats").expect("stats").json();
    assert_eq!(
        (
            stats["first_message_ts"].clone(),
            stats["last_message_ts"].clone()
        ),
        (
            json!("2025-01-15T09:59:59.999Z"),
            json!("2025-01-15T10:00:00.5Z")
        )
    );
}

#[test]
fn query_parameters() {
    let server = Server::start();
    let c = server.client();
    // No stored text can hold U+0000: such a needle is a 422, on any store.
    for target in [
        "/messages?q=%00",
        "/messages?from=%2B0&q=a%00b&offset=9223372036854775807",
    ] {
        let r = c.get(target).expect("get");
        assert_eq!(r.status, 422, "{target}: {}", r.text());
        assert_eq!(
            r.json()["detail"][0]["loc"],
            serde_json::json!(["query", "q"])
        );
    }
    for (id, from, text) in [
        ("1", "+1", "100% sure"),
        ("2", "+1", "100 percent"),
        ("3", "+2", "snake_case"),
        ("4", "+2", "snakeXcase"),
        ("5", "+3", "ÉCOLE"),
    ] {
        assert_eq!(
            c.signed_webhook(&body(id, from, "2025-01-15T10:00:00Z", Some(text)))
                .expect("post")
                .status,
            200
        );
    }
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("/messages?q=100%25", vec!["1"]),
        ("/messages?q=_", vec!["3"]),
        ("/messages?q=%C3%A9cole", vec!["5"]),
        ("/messages?q=PERCENT", vec!["2"]),
        ("/messages?from=%2B2&q=case", vec!["3", "4"]),
        ("/messages?from=+3", vec!["5"]),
        ("/messages?from=%2B9", vec![]),
        ("/messages?from=", vec!["1", "2", "3", "4", "5"]),
    ];
    for (target, expected) in cases {
        let page = c.get(target).expect("get").json();
        assert_eq!(ids(&page), expected, "{target}");
        assert_eq!(page["total"], expected.len(), "{target}");
    }
    let bad: Vec<(&str, &str)> = vec![
        ("/messages?limit=0", "query.limit"),
        ("/messages?limit=101", "query.limit"),
        ("/messages?limit=abc", "query.limit"),
        ("/messages?offset=-1", "query.offset"),
        ("/messages?offset=1.5", "query.offset"),
        ("/messages?since=2025-01-15", "query.since"),
        ("/messages?cursor=garbage", "query.cursor"),
        ("/messages?unknown=1&limit=100", "query.unknown"),
        ("/messages?form=%2B1", "query.form"),
    ];
    for (target, loc) in bad {
        let r = c.get(target).expect("get");
        assert_eq!(r.status, 422, "{target}");
        assert_eq!(locs(&r), vec![loc], "{target}");
    }
}

#[test]
fn keyset_cursor_walks_pages_without_changing_the_body() {
    let server = Server::start();
    let c = server.client();
    for i in 0..7 {
        let ts = format!("2025-01-15T10:00:0{i}Z");
        assert_eq!(
            c.signed_webhook(&body(&format!("k{i}"), "+1", &ts, None))
                .expect("post")
                .status,
            200
        );
    }
    let mut target = "/messages?limit=3&from=+1".to_owned();
    let mut seen = Vec::new();
    for _ in 0..5 {
        let r = c.get(&target).expect("page");
        let page = r.json();
        assert_eq!(
            page.as_object().expect("object").keys().collect::<Vec<_>>(),
            ["data", "limit", "offset", "total"]
        );
        assert_eq!(page["total"], 7);
        seen.extend(ids(&page));
        let Some(link) = r.header("link") else { break };
        let cursor = r.header("x-next-cursor").expect("cursor header");
        assert!(link.ends_with(r#">; rel="next""#), "{link}");
        assert!(link.contains(cursor));
        target = link
            .trim_start_matches('<')
            .split('>')
            .next()
            .expect("url")
            .to_owned();
    }
    assert_eq!(seen, ["k0", "k1", "k2", "k3", "k4", "k5", "k6"]);
}

#[test]
fn unknown_paths_and_methods() {
    let server = Server::start();
    let c = server.client();
    let r = c.get("/nope").expect("get");
    assert_eq!((r.status, r.json()), (404, json!({"detail": "not found"})));
    let r = c.get("/webhook").expect("get");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    assert!(r.json()["detail"].is_string());
    for (path, allow) in [
        ("/messages", "GET, HEAD, DELETE"),
        ("/messages/m1", "GET, HEAD, DELETE"),
        ("/stats", "GET, HEAD"),
        ("/health/live", "GET, HEAD"),
        ("/health/ready", "GET, HEAD"),
        ("/metrics", "GET, HEAD"),
    ] {
        let r = c.request("POST", path, &[], Some(b"{}")).expect("post");
        assert_eq!(r.status, 405, "{path}");
        assert_eq!(r.header("allow"), Some(allow), "{path}");
    }
}

#[test]
fn oversize_body_is_413_and_the_server_carries_on() {
    let server = Server::start();
    let c = server.client();
    let big = vec![b'a'; 2 * 1024 * 1024];
    let r = c.webhook(&big, Some(&sign(&big))).expect("post");
    assert_eq!(
        (r.status, r.json()),
        (413, json!({"detail": "payload too large"}))
    );
    // Chunked, so no Content-Length announces it.
    let mut raw = b"POST /webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for chunk in big.chunks(64 * 1024) {
        raw.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        raw.extend_from_slice(chunk);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(c.raw(&raw).expect("post").status, 413);
    assert_eq!(
        c.signed_webhook(&body("after", "+1", "2025-01-15T10:00:00Z", None))
            .expect("post")
            .status,
        200
    );
    assert_eq!(c.get("/messages").expect("list").json()["total"], 1);
}

#[test]
fn max_body_bytes_is_configurable() {
    let server = Server::builder().env("MAX_BODY_BYTES", "100").start();
    let c = server.client();
    let small = body("s", "+1", "2025-01-15T10:00:00Z", None);
    assert!(small.len() <= 100);
    assert_eq!(c.signed_webhook(&small).expect("post").status, 200);
    let large = body("l", "+1", "2025-01-15T10:00:00Z", Some(&"x".repeat(100)));
    assert_eq!(c.signed_webhook(&large).expect("post").status, 413);
}

#[test]
fn content_type_must_be_json() {
    let server = Server::start();
    let c = server.client();
    let b = body("ct", "+1", "2025-01-15T10:00:00Z", None);
    let sig = sign(&b);
    for (ct, status) in [
        (Some("application/json"), 200),
        (Some("application/json; charset=utf-8"), 200),
        (Some("application/vnd.hookbox+json"), 200),
        (Some("text/plain"), 422),
        (Some("application/x-www-form-urlencoded"), 422),
        (None, 422),
    ] {
        let mut headers = vec![("X-Signature", sig.as_str())];
        if let Some(ct) = ct {
            headers.push(("Content-Type", ct));
        }
        let r = c
            .request("POST", "/webhook", &headers, Some(&b))
            .expect("post");
        assert_eq!(r.status, status, "{ct:?}: {}", r.text());
    }
}

#[test]
fn the_openapi_document_is_served_and_names_every_route() {
    let server = Server::start();
    let r = server.client().get("/openapi.json").expect("get");
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    let doc = r.json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let mut paths: Vec<&str> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "/conversations",
            "/health/live",
            "/health/ready",
            "/messages",
            "/messages/export",
            "/messages/feed",
            "/messages/stream",
            "/messages/{message_id}",
            "/messages/{message_id}/raw",
            "/metrics",
            "/openapi.json",
            "/stats",
            "/stats/daily",
            "/statuses/{message_id}",
            "/subscriptions",
            "/subscriptions/{id}",
            "/subscriptions/{id}/dead-letters",
            "/subscriptions/{id}/dead-letters/{seq}/retry",
            "/subscriptions/{id}/replay",
            "/ui",
            "/ui/app.css",
            "/ui/app.js",
            "/ui/icon.svg",
            "/webhook",
            "/webhook/whatsapp",
            "/whatsapp/events"
        ]
    );
    let kept = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/http-actix/openapi.json"
    ))
    .expect("file");
    assert_eq!(r.body, kept, "served document = the file in the repo");
}

#[test]
fn secrets_rotate_without_downtime_and_can_come_from_a_file() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("secret");
    std::fs::write(&file, "from-a-file\n").expect("write");
    let server = Server::builder()
        .without("WEBHOOK_SECRET")
        .env("WEBHOOK_SECRET_FILE", file.to_str().expect("utf-8"))
        .env("WEBHOOK_SECRET_PREVIOUS", "old-one,older-one")
        .start();
    let c = server.client();
    let sign_with =
        |secret: &str, b: &[u8]| domain::WebhookSecret::new(secret).expect("secret").sign(b);
    for (i, (secret, status)) in [
        ("from-a-file", 200),
        ("old-one", 200),
        ("older-one", 200),
        (testkit::SECRET, 401),
        ("from-a-file\n", 401),
    ]
    .into_iter()
    .enumerate()
    {
        let b = body(&format!("rot{i}"), "+1", "2025-01-15T10:00:00Z", None);
        let r = c.webhook(&b, Some(&sign_with(secret, &b))).expect("post");
        assert_eq!(r.status, status, "{secret:?}");
    }
    let metrics = c.get("/metrics").expect("metrics").text();
    for (series, want) in [
        (r#"webhook_signatures_total{slot="primary"}"#, 1.0),
        (r#"webhook_signatures_total{slot="previous"}"#, 2.0),
    ] {
        assert_eq!(metric(&metrics, series), Some(want), "{series}\n{metrics}");
    }
    for secret in ["from-a-file", "old-one", "older-one"] {
        assert!(!metrics.contains(secret));
        assert!(server.stdout().iter().all(|l| !l.contains(secret)));
    }
}
