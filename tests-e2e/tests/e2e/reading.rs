//! Reading safely: read tokens, the feed in the order of storage, the live
//! stream, per-day counts and the inbox page, through the real binary.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::sse::{Event, EventStream};
use testkit::{Client, Server};

use crate::body;

const TOKEN_A: &str = "reader-token-alpha-3f9c";
const TOKEN_B: &str = "reader-token-beta-71d2";

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn get_with(client: Client, target: &str, auth: Option<&str>) -> testkit::Response {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    client
        .request("GET", target, &headers, None)
        .expect("request")
}

/// Every read route refuses a missing or wrong token with 401, a
/// `WWW-Authenticate: Bearer` challenge and a JSON detail; each of two
/// tokens works; health, metrics, webhooks and the page itself stay open;
/// no token reaches the logs or the metrics.
#[test]
fn read_tokens_guard_every_read_and_nothing_else() {
    let server = Server::builder()
        .env("API_TOKENS", &format!("{TOKEN_A},{TOKEN_B}"))
        .start();
    let client = server.client();
    let posted = client
        .signed_webhook(&body("t1", "+15550001", "2025-01-15T10:00:00Z", Some("hi")))
        .expect("webhook");
    assert_eq!(posted.status, 200, "webhooks keep their signatures only");

    let reads = [
        "/messages",
        "/messages/feed",
        "/stats",
        "/stats/daily",
        "/messages?from=%2B15550001",
        "/messages/t1/raw",
        "/whatsapp/events",
    ];
    for target in reads {
        for (auth, challenge) in [
            (None, "Bearer realm=\"hookbox\""),
            (Some("Bearer wrong-token"), "error=\"invalid_token\""),
            (Some(&*format!("Basic {TOKEN_A}")), "Bearer realm"),
            (Some(&*format!("Bearer {TOKEN_A}x")), "invalid_token"),
        ] {
            let r = get_with(client, target, auth);
            assert_eq!(r.status, 401, "{target} with {auth:?}: {}", r.text());
            let www = r.header("www-authenticate").unwrap_or_default();
            assert!(www.starts_with("Bearer"), "{target}: {www:?}");
            assert!(www.contains(challenge), "{target} {auth:?}: {www:?}");
            assert!(r.json()["detail"].is_string(), "{target}: {}", r.text());
            assert!(!r.text().contains(TOKEN_A));
        }
        for token in [TOKEN_A, TOKEN_B] {
            let r = get_with(client, target, Some(&bearer(token)));
            assert_eq!(r.status, 200, "{target} with a valid token: {}", r.text());
        }
        // The scheme is case-insensitive.
        let r = get_with(client, target, Some(&format!("bearer {TOKEN_B}")));
        assert_eq!(r.status, 200, "{target}");
    }
    // A status nobody reported: the token is checked before the 404.
    assert_eq!(get_with(client, "/statuses/wamid.none", None).status, 401);
    let r = get_with(client, "/statuses/wamid.none", Some(&bearer(TOKEN_A)));
    assert_eq!(r.status, 404, "{}", r.text());
    let r = client.get("/messages").expect("list");
    assert_eq!(r.status, 401);
    let listed = get_with(client, "/messages", Some(&bearer(TOKEN_A))).json();
    assert_eq!(listed["total"], 1);

    // The stream too: refused without a token, opened with one.
    let refused = EventStream::open(client.addr(), "/messages/stream", &[]).expect("open");
    assert_eq!(refused.status, 401);
    let auth = bearer(TOKEN_B);
    let mut open = EventStream::open(
        client.addr(),
        "/messages/stream?after=0",
        &[("Authorization", &auth)],
    )
    .expect("open");
    assert_eq!(open.status, 200);
    let replayed = open
        .until(Duration::from_secs(5), |e| e.event == "message")
        .expect("replay");
    assert_eq!(
        replayed.last().map(|e| e.json()["message_id"].clone()),
        Some("t1".into())
    );
    drop(open);

    for open_route in [
        "/health/live",
        "/health/ready",
        "/metrics",
        "/ui",
        "/ui/app.js",
    ] {
        let r = client.get(open_route).expect("get");
        assert_eq!(r.status, 200, "{open_route} needs no token");
    }
    let metrics = client.get("/metrics").expect("metrics").text();
    std::thread::sleep(Duration::from_millis(200));
    let logs = server.stdout().join("\n") + &server.stderr().join("\n");
    for token in [TOKEN_A, TOKEN_B] {
        assert!(!logs.contains(token), "a token reached the logs");
        assert!(!metrics.contains(token), "a token reached the metrics");
    }
    assert!(
        logs.contains("reads require a bearer token"),
        "the start-up says reads are protected"
    );
    assert!(!logs.contains("reads are unauthenticated"));
}

/// Unset `API_TOKENS`: reads are open, as the assignment has them, and the
/// start-up warns once that they are.
#[test]
fn reads_without_tokens_are_open_and_the_start_up_warns() {
    let server = Server::start();
    let r = server.client().get("/messages").expect("list");
    assert_eq!(r.status, 200);
    let lines = server.wait_for_lines(2);
    let warnings: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("reads are unauthenticated"))
        .collect();
    assert_eq!(warnings.len(), 1, "{lines:?}");
    let warning: Value = serde_json::from_str(warnings[0]).expect("JSON");
    assert_eq!(warning["level"], "WARN");
}

/// `API_TOKENS_FILE`: tokens one per line (or comma-separated).
#[test]
fn read_tokens_can_come_from_a_file() {
    let dir = Arc::new(tempfile::tempdir().expect("dir"));
    let path = dir.path().join("tokens");
    std::fs::write(&path, format!("{TOKEN_A}\n{TOKEN_B}\n")).expect("write");
    let server = Server::builder()
        .in_dir(Arc::clone(&dir))
        .env("API_TOKENS_FILE", path.to_str().expect("utf-8"))
        .start();
    let client = server.client();
    assert_eq!(get_with(client, "/stats", None).status, 401);
    assert_eq!(
        get_with(client, "/stats", Some(&bearer(TOKEN_A))).status,
        200
    );
    assert_eq!(
        get_with(client, "/stats", Some(&bearer(TOKEN_B))).status,
        200
    );
}

/// Walks `/messages/feed` from `after` until an empty page; (seq, id) each.
fn walk(client: Client, after: u64, limit: u32) -> (Vec<(u64, String)>, u64) {
    let mut after = after;
    let mut seen = Vec::new();
    loop {
        let r = client
            .get(&format!("/messages/feed?after={after}&limit={limit}"))
            .expect("feed");
        assert_eq!(r.status, 200, "{}", r.text());
        let page = r.json();
        let data = page["data"].as_array().expect("data");
        let next = page["next"].as_u64().expect("next");
        if data.is_empty() {
            assert_eq!(next, after, "an empty page's next is its after");
            return (seen, after);
        }
        for m in data {
            seen.push((
                m["seq"].as_u64().expect("seq"),
                m["message_id"].as_str().expect("id").to_owned(),
            ));
        }
        assert_eq!(Some(next), seen.last().map(|(s, _)| *s));
        after = next;
    }
}

/// Posts from 8 senders at once, a third of them with a `ts` older than
/// anything stored and some replays, to `clients` in turn; returns the
/// acknowledged ids.
fn eight_senders(clients: &[Client], each: usize) -> Vec<String> {
    let acked = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for s in 0..8 {
            let acked = &acked;
            let client = clients[s % clients.len()];
            scope.spawn(move || {
                for i in 0..each {
                    let ts = if i % 3 == 0 {
                        format!("2001-01-01T00:00:{:02}Z", (s * 11 + i) % 60)
                    } else {
                        format!("2025-06-0{}T10:{:02}:00Z", 1 + s % 8, i % 60)
                    };
                    let id = format!("s{s}-{i}");
                    let r = client
                        .signed_webhook(&body(&id, &format!("+1555000{s}"), &ts, Some("feed")))
                        .expect("post");
                    assert_eq!(r.status, 200, "{}", r.text());
                    if i % 4 == 3 {
                        // A replay: acknowledged, not stored twice.
                        let again = client
                            .signed_webhook(&body(&id, "+15559999", &ts, None))
                            .expect("replay");
                        assert_eq!(again.status, 200);
                    }
                    acked.lock().expect("lock").push(id);
                }
            });
        }
    });
    acked.into_inner().expect("lock")
}

/// Checks a walk against the acknowledged ids: each once, `seq` ascending.
fn assert_walk_saw_each_once(seen: &[(u64, String)], acked: &[String]) {
    assert!(
        seen.windows(2).all(|w| w[0].0 < w[1].0),
        "seq ascends along the feed"
    );
    let ids: Vec<&String> = seen.iter().map(|(_, id)| id).collect();
    let unique: HashSet<&String> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no message twice");
    let want: HashSet<&String> = acked.iter().collect();
    assert_eq!(unique, want, "every acknowledged message, nothing else");
}

/// A reader following `next` from 0 while 8 senders post sees every
/// acknowledged message exactly once, in ascending `seq`, although many
/// arrive with a `ts` older than what the reader has passed.
pub(crate) fn feed_walk_while_posting(clients: &[Client], reader: Client, stored: &[&str]) {
    let done = AtomicBool::new(false);
    let (acked, seen) = std::thread::scope(|scope| {
        let walker = scope.spawn(|| {
            let mut after = 0;
            let mut seen = Vec::new();
            loop {
                let finished = done.load(Ordering::SeqCst);
                let (more, next) = walk(reader, after, 7);
                seen.extend(more);
                after = next;
                if finished {
                    return seen;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let mut acked = eight_senders(clients, 40);
        acked.extend(stored.iter().map(|s| (*s).to_owned()));
        done.store(true, Ordering::SeqCst);
        (acked, walker.join().expect("walker"))
    });
    assert_walk_saw_each_once(&seen, &acked);
    // And the feed agrees with /messages on what is stored.
    let mut listed = crate::stored_ids(reader);
    listed.sort();
    let mut walked: Vec<String> = seen.into_iter().map(|(_, id)| id).collect();
    walked.sort();
    assert_eq!(listed, walked);
}

#[test]
fn the_feed_walk_sees_every_acknowledged_message_once_while_eight_senders_post() {
    let server = Server::start();
    feed_walk_while_posting(&[server.client()], server.client(), &[]);
}

#[test]
fn the_feed_filters_and_refuses_bad_parameters() {
    let server = Server::start();
    let client = server.client();
    for (id, from, text) in [
        ("a", "+111", Some("Hello 100%")),
        ("b", "+222", Some("other")),
        ("c", "+111", None),
        ("d", "+222", Some("HELLO again")),
    ] {
        let r = client
            .signed_webhook(&body(id, from, "2025-01-15T10:00:00Z", text))
            .expect("post");
        assert_eq!(r.status, 200);
    }
    let ids = |target: &str| -> Vec<String> {
        let r = client.get(target).expect("feed");
        assert_eq!(r.status, 200, "{target}: {}", r.text());
        crate::ids(&r.json())
    };
    assert_eq!(ids("/messages/feed"), ["a", "b", "c", "d"]);
    assert_eq!(ids("/messages/feed?from=%2B111"), ["a", "c"]);
    assert_eq!(
        ids("/messages/feed?from=+111"),
        ["a", "c"],
        "an unencoded +"
    );
    assert_eq!(ids("/messages/feed?q=hello"), ["a", "d"]);
    assert_eq!(ids("/messages/feed?q=%25"), ["a"]);
    assert_eq!(ids("/messages/feed?from=%2B222&q=hello"), ["d"]);
    assert_eq!(ids("/messages/feed?limit=2"), ["a", "b"]);
    let first = client.get("/messages/feed?limit=1").expect("feed").json();
    let next = first["next"].as_u64().expect("next");
    assert_eq!(first["data"][0]["seq"].as_u64(), Some(next));
    assert_eq!(
        ids(&format!("/messages/feed?after={next}")),
        ["b", "c", "d"]
    );
    for bad in [
        "after=-1",
        "after=x",
        "after=99999999999999999999",
        "limit=0",
        "limit=1001",
        "limit=ten",
        "q=%00",
    ] {
        let r = client.get(&format!("/messages/feed?{bad}")).expect("feed");
        assert_eq!(r.status, 422, "{bad}: {}", r.text());
        let detail = &r.json()["detail"][0];
        assert_eq!(detail["loc"][0], "query", "{bad}");
    }
    assert_eq!(
        client
            .get("/messages/feed?limit=1000")
            .expect("feed")
            .status,
        200
    );
}

/// Per-day counts: every day of the range, zero-filled, by the UTC day of
/// `ts`; 30 days ending today by default.
#[test]
fn stats_daily_counts_messages_per_day() {
    let server = Server::start();
    let client = server.client();
    for (id, ts) in [
        ("d1", "2025-01-14T23:59:59Z"),
        ("d2", "2025-01-16T00:00:00Z"),
        ("d3", "2025-01-16T12:00:00.5Z"),
    ] {
        assert_eq!(
            client
                .signed_webhook(&body(id, "+1", ts, None))
                .expect("post")
                .status,
            200
        );
    }
    let r = client
        .get("/stats/daily?until=2025-01-16&days=4")
        .expect("daily");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["days"],
        serde_json::json!([
            {"day": "2025-01-13", "count": 0},
            {"day": "2025-01-14", "count": 1},
            {"day": "2025-01-15", "count": 0},
            {"day": "2025-01-16", "count": 2},
        ])
    );
    let default = client.get("/stats/daily").expect("daily").json();
    let days = default["days"].as_array().expect("days");
    assert_eq!(days.len(), 30);
    assert!(days.iter().all(|d| d["count"] == 0));
    for bad in ["days=0", "days=367", "until=2025-13-01", "until=yesterday"] {
        assert_eq!(
            client
                .get(&format!("/stats/daily?{bad}"))
                .expect("daily")
                .status,
            422,
            "{bad}"
        );
    }
}

fn post(client: Client, id: &str, text: &str) {
    let r = client
        .signed_webhook(&body(id, "+15550123", "2001-01-01T00:00:00Z", Some(text)))
        .expect("post");
    assert_eq!(r.status, 200, "{}", r.text());
}

fn messages_only(events: &[Event]) -> Vec<(u64, String)> {
    events
        .iter()
        .filter(|e| e.event == "message")
        .map(|e| {
            let id: u64 = e.id.as_deref().and_then(|i| i.parse().ok()).expect("id");
            let m = e.json();
            assert_eq!(m["seq"].as_u64(), Some(id), "data carries the seq");
            (id, m["message_id"].as_str().expect("message_id").to_owned())
        })
        .collect()
}

fn open_stream(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> EventStream {
    let stream = EventStream::open(addr, target, headers).expect("open stream");
    assert_eq!(stream.status, 200);
    assert!(
        stream
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream"))
    );
    stream
}

/// A message posted while a stream is open arrives within 1 s; a stream
/// resumed with `Last-Event-ID` gets exactly what came after, first the
/// stored backlog, then live; `after=0` replays everything.
#[test]
fn the_stream_delivers_new_messages_and_resumes_without_gaps_or_duplicates() {
    let server = Server::start();
    let client = server.client();
    post(client, "before", "stored before the stream opened");
    let mut live = open_stream(client.addr(), "/messages/stream", &[]);
    // Give the stream a moment to join, then post.
    std::thread::sleep(Duration::from_millis(300));
    let posted = Instant::now();
    post(client, "m1", "one");
    let got = live
        .until(Duration::from_secs(1), |e| e.event == "message")
        .expect("m1 within 1 s");
    assert!(posted.elapsed() < Duration::from_secs(1));
    let first = messages_only(&got);
    assert_eq!(
        first.iter().map(|(_, id)| id.as_str()).collect::<Vec<_>>(),
        ["m1"],
        "from now on: not what was stored before"
    );
    let m1_seq = first[0].0;
    drop(live);

    for i in 2..=6 {
        post(client, &format!("m{i}"), "while away");
    }
    let last_id = m1_seq.to_string();
    let mut resumed = open_stream(
        client.addr(),
        "/messages/stream",
        &[("Last-Event-ID", &last_id)],
    );
    let backlog = resumed
        .until(Duration::from_secs(5), |e| {
            e.event == "message" && e.json()["message_id"] == "m6"
        })
        .expect("backlog");
    post(client, "m7", "live again");
    let live_again = resumed
        .until(Duration::from_secs(1), |e| e.event == "message")
        .expect("m7 live");
    let mut all = messages_only(&backlog);
    all.extend(messages_only(&live_again));
    let ids: Vec<&str> = all.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(ids, ["m2", "m3", "m4", "m5", "m6", "m7"]);
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(all[0].0 > m1_seq);

    // after= does the same from the query string; after=0 is everything.
    let mut everything = open_stream(client.addr(), "/messages/stream?after=0", &[]);
    let replay = everything
        .until(Duration::from_secs(5), |e| {
            e.event == "message" && e.json()["message_id"] == "m7"
        })
        .expect("replay");
    let ids: Vec<String> = messages_only(&replay)
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(ids.first().map(String::as_str), Some("before"));
    assert_eq!(ids.len(), 8);
    // Filters apply to the stream as to the feed.
    let mut filtered = open_stream(client.addr(), "/messages/stream?after=0&q=LIVE", &[]);
    let only = filtered
        .until(Duration::from_secs(5), |e| e.event == "message")
        .expect("filtered");
    assert_eq!(messages_only(&only)[0].1, "m7");
    let bad = EventStream::open(client.addr(), "/messages/stream", &[("Last-Event-ID", "x")])
        .expect("open");
    assert_eq!(bad.status, 422);
}

/// An idle stream gets a heartbeat comment every `STREAM_HEARTBEAT_SECONDS`.
#[test]
fn an_idle_stream_gets_heartbeats() {
    let server = Server::builder()
        .env("STREAM_HEARTBEAT_SECONDS", "1")
        .start();
    let mut stream = open_stream(server.client().addr(), "/messages/stream", &[]);
    let started = Instant::now();
    let beats = stream
        .until(Duration::from_secs(3), |e| e.event == "comment")
        .expect("a heartbeat");
    assert_eq!(beats.last().map(|e| e.data.as_str()), Some("heartbeat"));
    assert!(started.elapsed() >= Duration::from_millis(800));
}

/// A client that stops reading is, once its buffer of
/// `STREAM_CLIENT_BUFFER` events is full, sent a final `resume` event
/// naming the last id it got, and closed. Resuming from there misses
/// nothing.
#[test]
fn a_slow_client_is_told_where_to_resume_and_closed() {
    let server = Server::builder().env("STREAM_CLIENT_BUFFER", "8").start();
    let client = server.client();
    // A tiny receive buffer, so the kernel holds little for the client.
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    socket
        .connect_timeout(&client.addr().into(), Duration::from_secs(5))
        .expect("connect");
    let mut slow = EventStream::open_on(socket.into(), "/messages/stream", &[]).expect("open");
    assert_eq!(slow.status, 200);
    std::thread::sleep(Duration::from_millis(300));
    // Far more than the buffer and the sockets hold: the server's send
    // buffer may grow to the kernel's `tcp_wmem` maximum (4 MiB by default).
    let text = "x".repeat(4000);
    let send_buffer_max: usize = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|t| t.split_whitespace().nth(2).and_then(|n| n.parse().ok()))
        .unwrap_or(4 << 20);
    let total = (send_buffer_max / 4000 + 300).min(3000);
    for i in 0..total {
        post(client, &format!("slow{i:04}"), &text);
    }
    std::thread::sleep(Duration::from_millis(500));
    // Now read all that was sent: messages in order, then `resume`, then the end.
    let mut events = Vec::new();
    loop {
        match slow.next_event(Duration::from_secs(10)) {
            Ok(Some(e)) => events.push(e),
            Ok(None) => break,
            Err(e) => panic!(
                "{e} after {} events, the last {:?}",
                events.len(),
                events.last().map(|e: &Event| (&e.id, &e.event))
            ),
        }
    }
    let last = events.last().expect("events");
    assert_eq!(last.event, "resume", "the final event says to resume");
    let got = messages_only(&events);
    assert!(
        got.len() < total,
        "the slow client was cut off ({} of {total})",
        got.len()
    );
    let resume_at = last.json()["last_event_id"]
        .as_u64()
        .expect("last_event_id");
    assert_eq!(Some(resume_at), got.last().map(|(s, _)| *s));
    let ids: Vec<String> = got.iter().map(|(_, id)| id.clone()).collect();
    let expected: Vec<String> = (0..got.len()).map(|i| format!("slow{i:04}")).collect();
    assert_eq!(ids, expected, "in order, without a gap, up to the cut");
    // Resuming gets the rest, exactly.
    let resume_id = resume_at.to_string();
    let mut again = open_stream(
        client.addr(),
        "/messages/stream",
        &[("Last-Event-ID", &resume_id)],
    );
    let rest = again
        .until(Duration::from_secs(10), |e| {
            e.event == "message" && e.json()["message_id"] == format!("slow{:04}", total - 1)
        })
        .expect("rest");
    let rest_ids: Vec<String> = messages_only(&rest).into_iter().map(|(_, id)| id).collect();
    let expected: Vec<String> = (got.len()..total).map(|i| format!("slow{i:04}")).collect();
    assert_eq!(rest_ids, expected);
}

/// `STREAM_MAX_CLIENTS` caps open streams: one more gets 503 with
/// `Retry-After`; a client that hangs up frees its slot at once, not at
/// its stream's next write (the heartbeat, 15 s here).
#[test]
fn the_stream_client_cap_holds() {
    let server = Server::builder().env("STREAM_MAX_CLIENTS", "2").start();
    let addr = server.client().addr();
    let first = open_stream(addr, "/messages/stream", &[]);
    let _second = open_stream(addr, "/messages/stream", &[]);
    let third = EventStream::open(addr, "/messages/stream", &[]).expect("open");
    assert_eq!(third.status, 503);
    assert_eq!(third.header("retry-after"), Some("1"));
    // Other reads are not capped.
    assert_eq!(server.client().get("/messages").expect("list").status, 200);
    let metrics = server.client().get("/metrics").expect("metrics").text();
    assert_eq!(crate::metric(&metrics, "hookbox_open_streams"), Some(2.0));
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(2);
    let _again = loop {
        let again = EventStream::open(addr, "/messages/stream", &[]).expect("open");
        if again.status == 200 {
            break again;
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream's slot came back within 2 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let metrics = server.client().get("/metrics").expect("metrics").text();
    assert_eq!(crate::metric(&metrics, "hookbox_open_streams"), Some(2.0));
}

/// SIGTERM ends open streams cleanly (the last chunk, not a reset), and
/// the process exits without waiting out the shutdown timeout.
#[test]
fn sigterm_ends_open_streams_cleanly() {
    let mut server = Server::start();
    let addr = server.client().addr();
    let mut streams: Vec<EventStream> = (0..3)
        .map(|_| open_stream(addr, "/messages/stream", &[]))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "stopped in {:?}, not after the 5 s shutdown timeout",
        started.elapsed()
    );
    for stream in &mut streams {
        let mut rest = Vec::new();
        loop {
            match stream.next_event(Duration::from_secs(2)) {
                Ok(Some(e)) => rest.push(e),
                Ok(None) => break,
                Err(e) => panic!("the stream did not end cleanly: {e} after {rest:?}"),
            }
        }
    }
}
