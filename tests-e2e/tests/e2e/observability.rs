//! Metrics and logs, read from the outside.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use testkit::{SECRET, Server};

use crate::{body, metric};

#[test]
fn counters_after_the_evaluation_sequence() {
    let server = Server::start();
    crate::contract::evaluation_sequence(&server);
    let r = server.client().get("/metrics").expect("metrics");
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .is_some_and(|ct| ct.starts_with("text/plain")),
        "{:?}",
        r.headers
    );
    let text = r.text();
    let cases = [
        (r#"webhook_requests_total{result="created"}"#, 4.0),
        (r#"webhook_requests_total{result="duplicate"}"#, 1.0),
        (r#"webhook_requests_total{result="invalid_signature"}"#, 1.0),
        (r#"webhook_requests_total{result="validation_error"}"#, 0.0),
        (
            r#"http_requests_total{method="POST",path="/webhook",status="200"}"#,
            5.0,
        ),
        (
            r#"http_requests_total{method="POST",path="/webhook",status="401"}"#,
            1.0,
        ),
    ];
    for (series, value) in cases {
        assert_eq!(metric(&text, series), Some(value), "{series}\n{text}");
    }
    assert!(text.lines().any(|l| l.starts_with("http_requests_total")));
    assert!(
        text.lines()
            .any(|l| l.starts_with("webhook_requests_total"))
    );
    for le in [
        "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "+Inf",
    ] {
        let series = format!(r#"request_latency_ms_bucket{{path="/webhook",le="{le}"}}"#);
        assert!(metric(&text, &series).is_some(), "{series}");
    }
    assert_eq!(
        metric(&text, r#"request_latency_ms_count{path="/webhook"}"#),
        Some(6.0)
    );
    assert!(!text.contains(SECRET));
}

/// The assignment runs `curl /metrics | head` and looks for a line starting
/// with each required family. Both must be in the first ten lines on every
/// scrape, after the whole evaluation sequence (every route it calls has its
/// own `http_requests_total` series by then), and the order must not change
/// between scrapes.
#[test]
fn required_families_lead_every_scrape_in_a_stable_order() {
    let server = Server::start();
    let c = server.client();
    assert_eq!(c.get("/health/live").expect("live").status, 200);
    assert_eq!(c.get("/health/ready").expect("ready").status, 200);
    crate::contract::evaluation_sequence(&server);
    for path in [
        "/messages",
        "/messages?limit=2&offset=0",
        "/messages?from=%2B919876543210",
        "/messages?since=2025-01-15T09:30:00Z",
        "/messages?q=Hello",
        "/stats",
    ] {
        assert_eq!(c.get(path).expect("read").status, 200, "{path}");
    }
    let mut previous_order: Option<Vec<String>> = None;
    for _ in 0..5 {
        let text = c.get("/metrics").expect("metrics").text();
        let head: Vec<&str> = text.lines().take(10).collect();
        for family in ["http_requests_total", "webhook_requests_total"] {
            assert!(
                head.iter().any(|l| l.starts_with(family)),
                "{family} not in the first 10 lines:\n{}",
                head.join("\n")
            );
        }
        // Every sample line's family has been declared by a TYPE line above it.
        let mut declared = HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap_or_default();
                assert!(declared.insert(name.to_owned()), "{name} declared twice");
            } else if !line.starts_with('#') && !line.is_empty() {
                let name = line.split(['{', ' ']).next().unwrap_or_default();
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s).filter(|f| declared.contains(*f)))
                    .unwrap_or(name);
                assert!(declared.contains(family), "{line} before its TYPE line");
            }
        }
        let order: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with("# TYPE "))
            .map(str::to_owned)
            .collect();
        if let Some(previous) = &previous_order {
            assert_eq!(previous, &order, "family order changed between scrapes");
        }
        previous_order = Some(order);
    }
}

#[test]
fn unmatched_paths_share_one_label() {
    let server = Server::start();
    let c = server.client();
    for i in 0..20 {
        assert_eq!(c.get(&format!("/scan/{i}")).expect("get").status, 404);
    }
    let text = c.get("/metrics").expect("metrics").text();
    assert_eq!(
        metric(
            &text,
            r#"http_requests_total{method="GET",path="unmatched",status="404"}"#
        ),
        Some(20.0)
    );
    assert!(!text.contains("/scan/"));
}

fn parse_lines(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

#[test]
fn one_json_line_per_request_with_the_required_fields() {
    let server = Server::builder().env("LOG_LEVEL", "debug").start();
    let c = server.client();
    crate::contract::evaluation_sequence(&server);
    let bad = body("bad", "nope", "2025-01-15T10:00:00Z", None);
    assert_eq!(c.signed_webhook(&bad).expect("post").status, 422);
    let r = c
        .request(
            "GET",
            "/messages?limit=1",
            &[("X-Request-ID", "trace-abc.123")],
            None,
        )
        .expect("get");
    assert_eq!(r.header("x-request-id"), Some("trace-abc.123"));
    let generated = c.get("/stats").expect("stats");
    let generated_id = generated
        .header("x-request-id")
        .expect("generated id")
        .to_owned();
    let unsafe_id = c
        .request(
            "GET",
            "/health/live",
            &[("X-Request-ID", &"x".repeat(129))],
            None,
        )
        .expect("get");
    assert_ne!(
        unsafe_id.header("x-request-id"),
        Some("x".repeat(129).as_str())
    );
    let requests = 6 + 1 + 3;

    // Two start-up lines: started, and the warning that reads are open.
    let lines = server.wait_for_lines(2 + requests);
    let values = parse_lines(&lines);
    assert_eq!(values[0]["msg"], "hookbox started");
    assert_eq!(values[1]["level"], "WARN");
    let request_lines: Vec<&Value> = values
        .iter()
        .filter(|v| v.get("request_id").is_some())
        .collect();
    assert_eq!(request_lines.len(), requests, "{lines:#?}");

    let mut ids = HashSet::new();
    for v in &request_lines {
        let ts = v["ts"].as_str().expect("ts");
        assert!(
            ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[19] == b'.',
            "{ts}"
        );
        assert!(
            ["INFO", "WARN", "ERROR"].contains(&v["level"].as_str().expect("level")),
            "{v}"
        );
        assert!(v["msg"].is_string());
        assert!(v["method"].is_string() && v["path"].is_string());
        assert!(v["status"].is_u64(), "{v}");
        assert!(v["latency_ms"].is_number(), "{v}");
        assert!(
            ids.insert(v["request_id"].as_str().expect("id").to_owned()),
            "duplicate id {v}"
        );
        if v["path"] == "/webhook" {
            assert!(v["dup"].is_boolean(), "{v}");
            assert!(v["result"].is_string(), "{v}");
        }
    }
    assert!(ids.contains("trace-abc.123") && ids.contains(&generated_id));

    let webhooks: Vec<(String, Option<String>, bool, String)> = request_lines
        .iter()
        .filter(|v| v["path"] == "/webhook")
        .map(|v| {
            (
                v["result"].as_str().expect("result").to_owned(),
                v["message_id"].as_str().map(str::to_owned),
                v["dup"].as_bool().expect("dup"),
                v["level"].as_str().expect("level").to_owned(),
            )
        })
        .collect();
    let s = |x: &str| x.to_owned();
    assert_eq!(
        webhooks,
        vec![
            (s("invalid_signature"), None, false, s("ERROR")),
            (s("created"), Some(s("m1")), false, s("INFO")),
            (s("duplicate"), Some(s("m1")), true, s("INFO")),
            (s("created"), Some(s("m2")), false, s("INFO")),
            (s("created"), Some(s("m3")), false, s("INFO")),
            (s("created"), Some(s("m4")), false, s("INFO")),
            (s("validation_error"), Some(s("bad")), false, s("WARN")),
        ]
    );
    for line in &lines {
        assert!(!line.contains(SECRET), "secret leaked: {line}");
        assert!(!line.contains("Hello"), "message text leaked: {line}");
    }
    // Nothing else on stdout, nothing at all on stderr.
    assert!(server.stderr().is_empty(), "{:?}", server.stderr());
}

#[test]
fn hostile_values_cannot_break_a_log_line() {
    let server = Server::start();
    let c = server.client();
    let evil_id = "evil\n{\"level\":\"INFO\",\"msg\":\"forged\"}\u{1}\u{1b}[31m\r";
    let b = body(evil_id, "+1", "2025-01-15T10:00:00Z", None);
    assert_eq!(c.signed_webhook(&b).expect("post").status, 200);
    assert_eq!(c.get("/a%0Ab%22c").expect("get").status, 404);
    let lines = server.wait_for_lines(4);
    let values = parse_lines(&lines);
    assert_eq!(values.len(), 4, "{lines:#?}");
    assert_eq!(values[2]["message_id"], evil_id);
    assert!(!values.iter().any(|v| v["msg"] == "forged"));
}

#[test]
fn log_level_filters() {
    let port = testkit::free_port().to_string();
    let server = Server::builder()
        .env("LOG_LEVEL", "ERROR")
        .env("PORT", &port)
        .start();
    let c = server.client();
    assert_eq!(c.get("/health/live").expect("live").status, 200);
    assert_eq!(c.webhook(b"{}", Some("bad")).expect("post").status, 401);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let levels: HashMap<String, usize> =
        parse_lines(&server.stdout())
            .iter()
            .fold(HashMap::new(), |mut m, v| {
                *m.entry(v["level"].as_str().expect("level").to_owned())
                    .or_default() += 1;
                m
            });
    assert_eq!(levels.get("ERROR"), Some(&1), "{levels:?}");
    // The one INFO line is the start-up line, written at every level.
    assert_eq!(levels.get("INFO"), Some(&1), "{levels:?}");
    let lines = parse_lines(&server.stdout());
    let started = lines
        .iter()
        .find(|l| l["level"] == "INFO")
        .expect("an INFO line");
    assert_eq!(started["msg"], "hookbox started");
    assert_eq!(started["port"].to_string(), port, "it carries the port");
}

/// `LOG_LEVEL` takes exactly `DEBUG`, `INFO`, `WARN` and `ERROR` (any
/// case); anything else stops start-up with one line naming it. At `WARN`
/// the start-up line, with the port, is still written.
#[test]
fn log_level_is_strict_and_the_start_up_line_always_shows() {
    for bad in ["TRACE", "WARNING", "CRITICAL", "verbose"] {
        let failure = Server::builder()
            .env("LOG_LEVEL", bad)
            .try_start()
            .expect_err("an undocumented level is refused");
        let output = [failure.stdout, failure.stderr].concat().join("\n");
        assert!(output.contains("LOG_LEVEL"), "{bad}: {output}");
        assert_eq!(failure.status.and_then(|s| s.code()), Some(2), "{bad}");
    }
    // Empty is unset: INFO.
    let quiet = Server::builder().env("LOG_LEVEL", "").start();
    assert_eq!(
        quiet.client().get("/health/live").expect("live").status,
        200
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        parse_lines(&quiet.stdout())
            .iter()
            .any(|l| l["msg"] == "request" && l["level"] == "INFO"),
        "an empty LOG_LEVEL is INFO: request lines are written"
    );
    let server = Server::builder().env("LOG_LEVEL", "warn").start();
    let lines = parse_lines(&server.stdout());
    let started = lines
        .iter()
        .find(|l| l["msg"] == "hookbox started")
        .expect("the start-up line at WARN");
    assert_eq!(started["port"], server.port());
}

/// Each request line names its client: the peer, or behind a proxy in
/// `TRUSTED_PROXIES` the first untrusted `X-Forwarded-For` hop; a header
/// from an untrusted peer is ignored.
#[test]
fn request_lines_name_the_client() {
    let client_of = |server: &Server, xff: Option<&str>| -> String {
        let headers: Vec<(&str, &str)> = xff.map(|v| ("X-Forwarded-For", v)).into_iter().collect();
        let r = server
            .client()
            .request("GET", "/health/live", &headers, None)
            .expect("get");
        let id = r.header("x-request-id").expect("request id").to_owned();
        let line = (0..50)
            .find_map(|_| {
                let found = parse_lines(&server.stdout())
                    .into_iter()
                    .find(|l| l["request_id"] == id.as_str());
                if found.is_none() {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                found
            })
            .expect("the request's line");
        line["client_ip"].as_str().expect("client_ip").to_owned()
    };
    let direct = Server::start();
    assert_eq!(client_of(&direct, None), "127.0.0.1");
    assert_eq!(
        client_of(&direct, Some("203.0.113.7")),
        "127.0.0.1",
        "a forged header from an untrusted peer is ignored"
    );
    let proxied = Server::builder()
        .env("TRUSTED_PROXIES", "127.0.0.0/8, 10.0.0.0/8")
        .start();
    assert_eq!(client_of(&proxied, Some("203.0.113.7")), "203.0.113.7");
    assert_eq!(
        client_of(&proxied, Some("198.51.100.1, 203.0.113.7, 10.1.2.3")),
        "203.0.113.7",
        "the first untrusted hop from the right; the forged left one is not believed"
    );
    assert_eq!(client_of(&proxied, None), "127.0.0.1");
    let bad = Server::builder()
        .env("TRUSTED_PROXIES", "10.0.0.0/33")
        .try_start()
        .expect_err("a bad block is refused");
    assert!(
        [bad.stdout, bad.stderr]
            .concat()
            .join("\n")
            .contains("TRUSTED_PROXIES")
    );
}

/// The operations series: readiness, the feed's last number, the write
/// queue and its capacity (`WRITE_QUEUE`), commit latency and batch size,
/// the PostgreSQL pool (on that store) and the process's own series, each
/// with a value that agrees with what the API says.
#[test]
fn operations_metrics_agree_with_the_api() {
    let server = Server::builder()
        .env("WRITE_QUEUE", "77")
        .env("POSTGRES_POOL_SIZE", "3")
        .start();
    let c = server.client();
    for i in 0..3 {
        let b = crate::body(&format!("om{i}"), "+15550001", "2025-01-15T10:00:00Z", None);
        assert_eq!(c.signed_webhook(&b).expect("post").status, 200);
    }
    let feed = c.get("/messages/feed").expect("feed").json();
    let text = c.get("/metrics").expect("metrics").text();
    let value = |series: &str| crate::metric(&text, series);
    assert_eq!(value("hookbox_ready"), Some(1.0));
    #[expect(clippy::cast_precision_loss, reason = "a seq below 2^53")]
    let last = feed["next"].as_u64().expect("next") as f64;
    assert_eq!(value("hookbox_feed_last_seq"), Some(last));
    assert_eq!(value("hookbox_write_queue_capacity"), Some(77.0));
    assert_eq!(value("hookbox_write_queue_depth"), Some(0.0), "idle");
    assert!(
        value("hookbox_commit_latency_ms_count").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(value("hookbox_commit_batch_size_sum").is_some_and(|n| n >= 3.0));
    assert!(value("process_resident_memory_bytes").is_some_and(|b| b > 1e6));
    assert!(value("process_open_fds").is_some_and(|n| n >= 3.0));
    assert!(value("process_cpu_seconds_total").is_some_and(|s| s > 0.0));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    // Never ahead of the clock, and the same at every scrape (a start
    // time that moved would read as a restart).
    let started = value("process_start_time_seconds").expect("start time");
    assert!(
        started <= now && now - started < 600.0,
        "started {started}, now {now}"
    );
    let again = c.get("/metrics").expect("metrics").text();
    assert_eq!(
        crate::metric(&again, "process_start_time_seconds"),
        Some(started)
    );
    assert!(text.contains("# TYPE process_cpu_seconds_total counter"));
    if testkit::e2e_store() == testkit::Store::Postgres {
        assert_eq!(value("hookbox_postgres_pool_max"), Some(3.0));
        assert!(value("hookbox_postgres_pool_connections").is_some_and(|n| n >= 1.0));
    } else {
        assert!(!text.contains("hookbox_postgres_pool"), "no pool on SQLite");
    }
}
