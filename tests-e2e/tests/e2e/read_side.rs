//! The read side people expect, through the real binary (on PostgreSQL
//! too with `HOOKBOX_E2E_STORE=postgres`): one message by id, newest
//! first, `to` and `until`, strict parameters, erasure on request,
//! export, conversations, CORS and `HEAD`.

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::Value;
use testkit::sse::EventStream;
use testkit::{Client, Server};

use crate::{body, ids, metric};

const ADMIN: &str = "admin-token-erase-5e1f";
const READER: &str = "reader-token-read-93aa";

fn auth(token: &str) -> String {
    format!("Bearer {token}")
}

fn get(c: Client, target: &str, token: Option<&str>) -> testkit::Response {
    let value = token.map(auth);
    let headers: Vec<(&str, &str)> = value
        .as_deref()
        .map(|v| ("Authorization", v))
        .into_iter()
        .collect();
    c.request("GET", target, &headers, None).expect("get")
}

fn delete(c: Client, target: &str, token: Option<&str>) -> testkit::Response {
    let value = token.map(auth);
    let headers: Vec<(&str, &str)> = value
        .as_deref()
        .map(|v| ("Authorization", v))
        .into_iter()
        .collect();
    c.request("DELETE", target, &headers, None).expect("delete")
}

fn post(c: Client, id: &str, from: &str, ts: &str, text: &str) {
    let r = c
        .signed_webhook(&body(id, from, ts, Some(text)))
        .expect("post");
    assert_eq!(r.status, 200, "{id}: {}", r.text());
}

fn post_to(c: Client, id: &str, to: &str, ts: &str) {
    let b = serde_json::json!({"message_id": id, "from": "+15550009", "to": to, "ts": ts});
    let r = c
        .signed_webhook(&serde_json::to_vec(&b).expect("json"))
        .expect("post");
    assert_eq!(r.status, 200, "{}", r.text());
}

/// `GET /messages/{id}` answers the feed's item; 404 with the detail for
/// an unknown id; the fixed routes win over an id of the same name, which
/// the export still reaches; read tokens guard it, admin tokens may read.
#[test]
fn one_message_by_id_and_the_fixed_routes() {
    let server = Server::builder()
        .env("API_TOKENS", READER)
        .env("ADMIN_TOKENS", ADMIN)
        .start();
    let c = server.client();
    post(c, "m1", "+15550001", "2025-01-15T10:00:00Z", "hello");
    post(
        c,
        "export",
        "+15550002",
        "2025-01-15T11:00:00Z",
        "named like a route",
    );

    let one = get(c, "/messages/m1", Some(READER));
    assert_eq!(one.status, 200, "{}", one.text());
    let one = one.json();
    let feed = get(c, "/messages/feed", Some(READER)).json();
    assert_eq!(one, feed["data"][0], "the feed's item, every field");
    assert_eq!(one["source"], "x-signature");
    assert_eq!(one["raw"]["text"], "hello");
    assert_eq!(
        get(c, "/messages/m1", Some(ADMIN)).status,
        200,
        "admins read"
    );

    let missing = get(c, "/messages/nope", Some(READER));
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json(),
        serde_json::json!({"detail": "message not found"})
    );
    assert_eq!(get(c, "/messages/m1", None).status, 401);
    assert_eq!(get(c, "/messages/m1?x=1", Some(READER)).status, 422);

    // `/messages/export` is the export, not the message named "export".
    let export = get(c, "/messages/export", Some(READER));
    assert_eq!(export.status, 200);
    assert!(
        export
            .text()
            .lines()
            .any(|l| serde_json::from_str::<Value>(l).expect("line")["message_id"] == "export"),
        "an id named like a route is reached through the export"
    );
}

/// `order=desc` is the exact reverse of `asc`, also walked by cursor;
/// `to` matches exactly; `until` is exclusive and combines with `since`.
#[test]
fn newest_first_to_and_until() {
    let server = Server::start();
    let c = server.client();
    for i in 0..7 {
        post(
            c,
            &format!("d{i}"),
            "+15550001",
            &format!("2025-02-0{}T10:00:00Z", 7 - i),
            "x",
        );
    }
    post_to(c, "t1", "+15550783881", "2025-02-03T12:00:00Z");
    let asc = ids(&c.get("/messages?limit=100").expect("asc").json());
    let desc_page = c
        .get("/messages?order=desc&limit=100")
        .expect("desc")
        .json();
    let mut desc = ids(&desc_page);
    assert_eq!(desc_page["total"], 8);
    desc.reverse();
    assert_eq!(asc, desc);

    let mut walked = Vec::new();
    let mut target = "/messages?order=desc&limit=3".to_owned();
    loop {
        let r = c.get(&target).expect("page");
        assert_eq!(r.status, 200, "{}", r.text());
        walked.extend(ids(&r.json()));
        match r.header("x-next-cursor") {
            Some(cursor) => {
                let link = r.header("link").expect("link");
                assert!(link.contains("order=desc"), "{link}");
                target = format!("/messages?order=desc&limit=3&cursor={cursor}");
            }
            None => break,
        }
    }
    let mut expected = asc.clone();
    expected.reverse();
    assert_eq!(walked, expected, "a desc keyset walk");

    let to = c.get("/messages?to=%2B15550783881").expect("to").json();
    assert_eq!(
        (ids(&to), to["total"].clone()),
        (vec!["t1".to_owned()], 1.into())
    );
    let window = c
        .get("/messages?since=2025-02-03T00:00:00Z&until=2025-02-05T10:00:00Z")
        .expect("window")
        .json();
    assert_eq!(ids(&window), ["d4", "t1", "d3"]);
    assert_eq!(window["total"], 3);
    let before = c
        .get("/messages?until=2025-02-02T10:00:00Z&order=desc")
        .expect("until")
        .json();
    assert_eq!(ids(&before), ["d6"]);
}

/// Every read route refuses a parameter it does not take, and one given
/// twice, with a 422 in FastAPI's shape naming the known ones.
#[test]
fn unknown_and_repeated_parameters_are_refused() {
    let server = Server::start();
    let c = server.client();
    post(c, "s1", "+15550001", "2025-01-15T10:00:00Z", "hi");
    let r = c.get("/messages?form=%2B15550001").expect("typo");
    assert_eq!(r.status, 422, "{}", r.text());
    let detail = &r.json()["detail"][0];
    assert_eq!(detail["type"], "unknown_parameter");
    assert_eq!(detail["loc"], serde_json::json!(["query", "form"]));
    assert_eq!(detail["input"], "+15550001");
    assert!(
        detail["msg"].as_str().expect("msg").contains("from"),
        "{detail}"
    );
    for target in [
        "/messages?limit=1&limit=2",
        "/messages?order=newest",
        "/messages/feed?form=1",
        "/messages/stream?follow=false&x=1",
        "/messages/export?q=hi",
        "/messages/s1?fields=all",
        "/messages/s1/raw?x=1",
        "/conversations?offset=1",
        "/stats?x=1",
        "/stats/daily?day=1",
        "/whatsapp/events?type=x",
        "/statuses/s1?x=1",
    ] {
        let r = c.get(target).expect("get");
        assert_eq!(r.status, 422, "{target}: {}", r.text());
        let kind = r.json()["detail"][0]["type"].clone();
        assert!(
            kind == "unknown_parameter" || kind == "repeated_parameter" || kind == "enum",
            "{target}: {kind}"
        );
    }
    assert_eq!(
        c.get("/messages?to=%2B14155550100").expect("to").json()["total"],
        1
    );
}

/// Erasure is refused unless asked with an admin token: 403 naming
/// `ADMIN_TOKENS` when none is set, 401 with the challenge without a
/// token or with a wrong one, 403 with a read token; `DELETE /messages`
/// without `from` is a 422.
#[test]
fn erasure_is_for_admin_tokens_only() {
    let open = Server::start();
    let c = open.client();
    post(c, "r1", "+15550001", "2025-01-15T10:00:00Z", "hi");
    for target in ["/messages/r1", "/messages?from=%2B15550001"] {
        let r = delete(c, target, Some("anything"));
        assert_eq!(r.status, 403, "{target}");
        assert!(
            r.json()["detail"]
                .as_str()
                .expect("detail")
                .contains("ADMIN_TOKENS")
        );
    }
    assert_eq!(
        c.get("/messages/r1").expect("get").status,
        200,
        "nothing erased"
    );

    let guarded = Server::builder()
        .env("API_TOKENS", READER)
        .env("ADMIN_TOKENS", ADMIN)
        .start();
    let c = guarded.client();
    post(c, "r1", "+15550001", "2025-01-15T10:00:00Z", "hi");
    let none = delete(c, "/messages/r1", None);
    assert_eq!(none.status, 401);
    assert!(
        none.header("www-authenticate")
            .expect("challenge")
            .starts_with("Bearer")
    );
    assert_eq!(delete(c, "/messages/r1", Some("wrong")).status, 401);
    let reader = delete(c, "/messages/r1", Some(READER));
    assert_eq!(reader.status, 403, "{}", reader.text());
    let wipe = delete(c, "/messages", Some(ADMIN));
    assert_eq!(wipe.status, 422, "no accidental wipe: {}", wipe.text());
    assert_eq!(
        wipe.json()["detail"][0]["loc"],
        serde_json::json!(["query", "from"])
    );
    assert_eq!(delete(c, "/messages?from=abc", Some(ADMIN)).status, 422);
    assert_eq!(get(c, "/messages/r1", Some(READER)).status, 200);
    assert_eq!(delete(c, "/messages/nope", Some(ADMIN)).status, 404);
}

/// The stats and the first page of a search, as a test compares them.
fn counts(c: Client) -> (Value, Value, Value) {
    let stats = get(c, "/stats", Some(ADMIN)).json();
    let search = get(c, "/messages?q=secret&limit=100", Some(ADMIN)).json();
    let daily = get(c, "/stats/daily?until=2025-03-31&days=60", Some(ADMIN)).json();
    (stats, search, daily)
}

/// An erasure while a stream is open and a consumer walks the feed: the
/// erased messages are gone from every read, never sent on the stream nor
/// on a resume, every count stays exact, the other messages keep their
/// feed positions, one audit line says what happened without the token,
/// and a later post of an erased id is stored again.
#[test]
fn erasure_reaches_every_read_while_a_stream_is_open() {
    let server = Server::builder().env("ADMIN_TOKENS", ADMIN).start();
    let c = server.client();
    let victim = "+15550666";
    seed_thirty(c, victim);
    let before = counts(c);
    assert_eq!(before.0["total_messages"], 30);
    assert_eq!(before.1["total"], 30);
    // A consumer walks half the feed; a stream is open from the start.
    let first_half = get(c, "/messages/feed?limit=15", Some(ADMIN)).json();
    let auth_header = auth(ADMIN);
    let mut stream = EventStream::open(
        c.addr(),
        "/messages/stream?after=0",
        &[("Authorization", &auth_header)],
    )
    .expect("stream");
    let seen = std::cell::Cell::new(0);
    let replayed = stream
        .until(Duration::from_secs(10), |e| {
            seen.set(seen.get() + usize::from(e.id.is_some()));
            seen.get() == 30
        })
        .expect("replay");
    assert_eq!(replayed.iter().filter(|e| e.id.is_some()).count(), 30);

    let erased = delete(
        c,
        &format!("/messages?from={}", victim.replace('+', "%2B")),
        Some(ADMIN),
    );
    assert_eq!(erased.status, 200, "{}", erased.text());
    assert_eq!(erased.json(), serde_json::json!({"deleted": 10}));
    let one = delete(c, "/messages/e01", Some(ADMIN));
    assert_eq!(one.json(), serde_json::json!({"deleted": 1}));
    post(
        c,
        "after",
        "+15550001",
        "2025-03-25T10:00:00Z",
        "a secret after",
    );

    // The stream goes on with what is new, and never sends what is gone.
    let live = stream
        .until(Duration::from_secs(10), |e| e.data.contains("\"after\""))
        .expect("live");
    assert!(live.iter().all(|e| !e.data.contains(victim)));
    let mut resumed = EventStream::open(
        c.addr(),
        "/messages/stream?follow=false",
        &[("Authorization", &auth_header), ("Last-Event-ID", "0")],
    )
    .expect("resume");
    let again = resumed
        .until(Duration::from_secs(10), |e| e.data.contains("\"after\""))
        .expect("resumed");
    let sent: Vec<&str> = again.iter().filter_map(|e| e.id.as_deref()).collect();
    assert_eq!(sent.len(), 30 - 11 + 1);
    assert!(
        again
            .iter()
            .all(|e| !e.data.contains(victim) && !e.data.contains("\"e01\""))
    );

    // The consumer's next page starts where it stopped; the positions of
    // the others are the ones it saw.
    let rest = get(
        c,
        &format!("/messages/feed?after={}", first_half["next"]),
        Some(ADMIN),
    )
    .json();
    let whole = get(c, "/messages/feed?limit=1000", Some(ADMIN)).json();
    let kept_first: Vec<&Value> = first_half["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|m| m["from"] != victim && m["message_id"] != "e01")
        .collect();
    let whole_data = whole["data"].as_array().expect("data");
    assert_eq!(
        kept_first,
        whole_data[..kept_first.len()].iter().collect::<Vec<_>>()
    );
    assert!(
        rest["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|m| m["from"] != victim)
    );

    counts_after_erasure(c, victim);
    audit_lines(&server, victim);

    // A later post of an erased id is a new delivery.
    post(c, "e00", victim, "2025-03-01T10:00:00Z", "back");
    let back = get(c, "/messages/e00", Some(ADMIN)).json();
    assert!(back["seq"].as_u64() > whole_data.last().and_then(|m| m["seq"].as_u64()));
}

/// Thirty messages: every third from `victim`, the rest from `+15550001`,
/// on twenty days of March 2025; every text holds "secret".
fn seed_thirty(c: Client, victim: &str) {
    for i in 0..30 {
        let (from, text) = if i % 3 == 0 {
            (victim, "my secret address")
        } else {
            ("+15550001", "a secret for everyone")
        };
        let ts = format!("2025-03-{:02}T10:00:00Z", 1 + i % 20);
        post(c, &format!("e{i:02}"), from, &ts, text);
    }
}

/// The counts and reads after `erasure_reaches_every_read_while_a_stream_is_open`'s
/// erasures: 20 messages of one sender are left.
fn counts_after_erasure(c: Client, victim: &str) {
    let (stats, search, daily) = counts(c);
    assert_eq!(stats["total_messages"], 20, "30 - 10 - 1 + 1");
    assert_eq!(stats["senders_count"], 1, "the victim is gone");
    assert_eq!(
        stats["messages_per_sender"],
        serde_json::json!([{"from": "+15550001", "count": 20}])
    );
    assert_eq!(stats["first_message_ts"], "2025-03-01T10:00:00Z", "e20");
    assert_eq!(stats["last_message_ts"], "2025-03-25T10:00:00Z");
    assert_eq!(search["total"], 20, "q= totals stay exact");
    let days: u64 = daily["days"]
        .as_array()
        .expect("days")
        .iter()
        .map(|d| d["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(days, 20, "per-day counts");
    for gone in ["e00", "e03", "e01"] {
        assert_eq!(
            get(c, &format!("/messages/{gone}"), Some(ADMIN)).status,
            404
        );
        assert_eq!(
            get(c, &format!("/messages/{gone}/raw"), Some(ADMIN)).status,
            404
        );
    }
    let export = get(c, "/messages/export", Some(ADMIN)).text();
    assert_eq!(export.lines().count(), 20);
    assert!(!export.contains(victim));
    let talks = get(c, "/conversations", Some(ADMIN)).json();
    assert_eq!(talks["data"].as_array().expect("data").len(), 1);
    let scrape = c.get("/metrics").expect("metrics").text();
    assert_eq!(metric(&scrape, "hookbox_erased_messages_total"), Some(11.0));
}

/// One audit line per erasure, with a fingerprint and never the token.
fn audit_lines(server: &Server, victim: &str) {
    let lines = server.stdout();
    let audits: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["msg"] == "messages erased")
        .collect();
    assert_eq!(audits.len(), 2, "{audits:?}");
    assert_eq!(
        (audits[0]["deleted"].clone(), audits[0]["from"].clone()),
        (10.into(), victim.into())
    );
    assert_eq!(audits[1]["message_id"], "e01");
    assert_eq!(audits[0]["token"], audits[1]["token"]);
    assert_eq!(audits[0]["token"].as_str().map(str::len), Some(12));
    assert!(
        lines.iter().all(|l| !l.contains(ADMIN)),
        "the token is never logged"
    );
}

/// The export is NDJSON in feed order, every full record, filtered by
/// `from`, `since`, `until` and `after`.
#[test]
fn export_is_ndjson_in_feed_order_with_filters() {
    let server = Server::start();
    let c = server.client();
    for (i, ts) in ["2025-01-03", "2025-01-01", "2025-01-05", "2025-01-02"]
        .iter()
        .enumerate()
    {
        post(
            c,
            &format!("x{i}"),
            if i % 2 == 0 { "+15550001" } else { "+15550002" },
            &format!("{ts}T10:00:00Z"),
            "t",
        );
    }
    let r = c.get("/messages/export").expect("export");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let lines: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON record per line"))
        .collect();
    let feed = c.get("/messages/feed").expect("feed").json();
    assert_eq!(
        lines,
        *feed["data"].as_array().expect("data"),
        "feed order, full records"
    );
    let pick = |target: &str| -> Vec<String> {
        c.get(target)
            .expect("export")
            .text()
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).expect("line")["message_id"]
                    .as_str()
                    .expect("id")
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(pick("/messages/export?from=%2B15550001"), ["x0", "x2"]);
    assert_eq!(
        pick("/messages/export?since=2025-01-02T00:00:00Z&until=2025-01-04T00:00:00Z"),
        ["x0", "x3"]
    );
    let second = lines[1]["seq"].as_u64().expect("seq");
    assert_eq!(
        pick(&format!("/messages/export?after={second}")),
        ["x2", "x3"]
    );
    assert_eq!(
        c.get("/messages/export?since=soon").expect("bad").status,
        422
    );
}

/// Conversations: each sender once, the latest activity first (by the
/// order stored, not `ts`), with the count and the latest full record,
/// paged by `next_cursor`.
#[test]
fn conversations_put_the_latest_activity_first() {
    let server = Server::start();
    let c = server.client();
    post(c, "c1", "+15550001", "2025-01-01T10:00:00Z", "one");
    post(c, "c2", "+15550002", "2025-01-02T10:00:00Z", "two");
    post(c, "c3", "+15550001", "2025-01-03T10:00:00Z", "three");
    post(c, "c4", "+15550003", "2020-01-01T10:00:00Z", "late, old ts");
    let page = c.get("/conversations").expect("conversations").json();
    let order: Vec<(&str, u64, &str)> = page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|t| {
            (
                t["from"].as_str().expect("from"),
                t["message_count"].as_u64().expect("count"),
                t["last_message"]["message_id"].as_str().expect("id"),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("+15550003", 1, "c4"),
            ("+15550001", 2, "c3"),
            ("+15550002", 1, "c2")
        ]
    );
    assert_eq!(page["next_cursor"], Value::Null);
    assert_eq!(page["data"][1]["last_message"]["text"], "three");
    assert!(
        page["data"][0]
            .as_object()
            .expect("object")
            .contains_key("sender_name")
    );

    let first = c.get("/conversations?limit=2").expect("page").json();
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = c
        .get(&format!("/conversations?limit=2&cursor={cursor}"))
        .expect("page")
        .json();
    assert_eq!(second["data"][0]["from"], "+15550002");
    assert_eq!(second["next_cursor"], Value::Null);
    assert_eq!(
        c.get("/conversations?cursor=forged").expect("bad").status,
        422
    );
    assert_eq!(c.get("/conversations?limit=101").expect("bad").status, 422);
}

/// One raw HTTP/1.1 exchange that closes: the status line, the headers
/// (names lower-cased) and every byte after them.
fn exchange(server: &Server, request: &str) -> (String, Vec<(String, String)>, Vec<u8>) {
    let mut stream = std::net::TcpStream::connect(server.client().addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, raw[end + 4..].to_vec())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `HEAD` answers every `GET` route with the same status and headers and
/// no body, the live stream included (it does not stay open).
#[test]
fn head_works_on_every_get_route() {
    let server = Server::start();
    let c = server.client();
    post(c, "h1", "+15550001", "2025-01-15T10:00:00Z", "hi");
    for path in [
        "/messages",
        "/messages/h1",
        "/messages/nope",
        "/messages/feed",
        "/messages/export",
        "/messages/stream",
        "/conversations",
        "/stats",
        "/health/live",
        "/health/ready",
        "/metrics",
        "/ui",
        "/openapi.json",
    ] {
        let ask = |method: &str| {
            exchange(
                &server,
                &format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            )
        };
        let (head_status, head_headers, head_body) = ask("HEAD");
        assert!(head_body.is_empty(), "{path}: HEAD has no body");
        if path == "/messages/stream" {
            assert!(head_status.contains(" 200 "), "{path}: {head_status}");
            assert_eq!(
                header(&head_headers, "content-type"),
                Some("text/event-stream")
            );
            continue;
        }
        let (get_status, get_headers, get_body) = ask("GET");
        assert_eq!(head_status, get_status, "{path}");
        assert_eq!(
            header(&head_headers, "content-type"),
            header(&get_headers, "content-type"),
            "{path}"
        );
        if let Some(length) = header(&get_headers, "content-length") {
            if !path.starts_with("/metrics") {
                assert_eq!(
                    header(&head_headers, "content-length"),
                    Some(length),
                    "{path}"
                );
            }
            assert_eq!(get_body.len().to_string(), length, "{path}");
        }
    }
    let (status, headers, _) = exchange(
        &server,
        "HEAD /webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(status.contains(" 405 "), "{status}");
    assert_eq!(header(&headers, "allow"), Some("POST"));
}

/// With `CORS_ALLOWED_ORIGINS`, an allowed origin's preflight is answered
/// (allowing `Authorization` and `DELETE`) and its reads and erasures carry
/// the headers; another origin gets none; unset, nothing changes.
#[test]
fn cors_answers_allowed_origins_only() {
    let app = "https://inbox.example.com";
    let server = Server::builder()
        .env(
            "CORS_ALLOWED_ORIGINS",
            &format!("{app}, http://localhost:5173"),
        )
        .env("API_TOKENS", READER)
        .env("ADMIN_TOKENS", ADMIN)
        .start();
    let c = server.client();
    post(c, "o1", "+15550001", "2025-01-15T10:00:00Z", "hi");
    let preflight = c
        .request(
            "OPTIONS",
            "/messages/o1",
            &[
                ("Origin", app),
                ("Access-Control-Request-Method", "DELETE"),
                ("Access-Control-Request-Headers", "authorization"),
            ],
            None,
        )
        .expect("preflight");
    assert_eq!(preflight.status, 204, "no token needed for a preflight");
    assert_eq!(preflight.header("access-control-allow-origin"), Some(app));
    assert!(
        preflight
            .header("access-control-allow-methods")
            .expect("methods")
            .contains("DELETE")
    );
    assert!(
        preflight
            .header("access-control-allow-headers")
            .expect("headers")
            .contains("Authorization")
    );
    let bearer = auth(READER);
    let read = c
        .request(
            "GET",
            "/messages",
            &[("Origin", app), ("Authorization", &bearer)],
            None,
        )
        .expect("read");
    assert_eq!(read.status, 200);
    assert_eq!(read.header("access-control-allow-origin"), Some(app));
    let admin = auth(ADMIN);
    let erase = c
        .request(
            "DELETE",
            "/messages/o1",
            &[("Origin", app), ("Authorization", &admin)],
            None,
        )
        .expect("erase");
    assert_eq!(erase.status, 200);
    assert_eq!(erase.header("access-control-allow-origin"), Some(app));
    let other = c
        .request(
            "GET",
            "/messages",
            &[
                ("Origin", "https://evil.example"),
                ("Authorization", &bearer),
            ],
            None,
        )
        .expect("other");
    assert_eq!(other.header("access-control-allow-origin"), None);

    let plain = Server::start();
    let r = plain
        .client()
        .request("GET", "/messages", &[("Origin", app)], None)
        .expect("read");
    assert_eq!(
        r.header("access-control-allow-origin"),
        None,
        "unset: no CORS"
    );
    let bad = Server::builder()
        .env("CORS_ALLOWED_ORIGINS", "https://app.example.com/path")
        .try_start()
        .expect_err("an origin has no path");
    let output = [bad.stdout, bad.stderr].concat().join("\n");
    assert!(output.contains("CORS_ALLOWED_ORIGINS"), "{output}");
}

/// `ADMIN_TOKENS_FILE` works as `ADMIN_TOKENS` does.
#[test]
fn admin_tokens_can_come_from_a_file() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("admin-tokens");
    std::fs::write(&file, format!("{ADMIN}\nother-admin-token\n")).expect("write");
    let server = Server::builder()
        .env("ADMIN_TOKENS_FILE", file.to_str().expect("path"))
        .start();
    let c = server.client();
    post(c, "f1", "+15550001", "2025-01-15T10:00:00Z", "hi");
    assert_eq!(delete(c, "/messages/f1", Some("nope")).status, 401);
    assert_eq!(
        delete(c, "/messages/f1", Some("other-admin-token")).status,
        200
    );
}
