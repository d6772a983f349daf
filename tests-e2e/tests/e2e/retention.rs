//! `RETENTION`: messages received longer ago than the period are deleted,
//! counts and search stay exact, and a purged id can be stored again.

use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::Server;

use crate::{body, ids, metric};

fn total(server: &Server) -> u64 {
    server.client().get("/stats").expect("stats").json()["total_messages"]
        .as_u64()
        .expect("total")
}

/// Waits (at most a minute) until `/stats` reports `want` messages.
fn wait_for_total(server: &Server, want: u64) -> Duration {
    let started = Instant::now();
    while total(server) != want {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "total never reached {want} (at {})",
            total(server)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    started.elapsed()
}

#[test]
fn retention_purges_what_is_older_keeps_counts_exact_and_a_purged_id_is_stored_again() {
    let server = Server::builder().env("RETENTION", "3s").start();
    let c = server.client();
    let posted_at = Instant::now();
    for (id, from, text) in [
        ("old-1", "+15550001", Some("alpha one")),
        ("old-2", "+15550001", Some("alpha two")),
        ("old-3", "+15550002", None),
        ("old-4", "+15550003", Some("beta")),
        ("old-5", "+15550002", Some("alpha five")),
    ] {
        let r = c
            .signed_webhook(&body(id, from, "2025-01-15T10:00:00Z", text))
            .expect("post");
        assert_eq!(r.status, 200);
    }
    // Kept while younger than the period, though their `ts` is long past.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(total(&server), 5, "nothing is purged before it is 3 s old");
    // Searched before the purge, so matches kept between requests are put
    // to the test after it.
    let before = c.get("/messages?q=ALPHA").expect("search").json();
    assert_eq!(before["total"], 3);
    let late = c
        .signed_webhook(&body(
            "late",
            "+15550009",
            "2001-01-01T00:00:00Z",
            Some("alpha late"),
        ))
        .expect("post");
    assert_eq!(late.status, 200);

    wait_for_total(&server, 1);
    assert!(posted_at.elapsed() >= Duration::from_secs(3));
    // Only the younger message is left, everywhere.
    let list = c.get("/messages").expect("list").json();
    assert_eq!(
        (ids(&list), list["total"].as_u64()),
        (vec!["late".to_owned()], Some(1))
    );
    let search = c.get("/messages?q=ALPHA").expect("search").json();
    assert_eq!(ids(&search), ["late"], "the search index forgot the purged");
    assert_eq!(search["total"], 1, "and so did the search's count");
    assert_eq!(
        ids(&c.get("/messages?from=%2B15550001").expect("from").json()),
        Vec::<String>::new()
    );
    let stats = c.get("/stats").expect("stats").json();
    assert_eq!(stats["senders_count"], 1);
    assert_eq!(
        stats["messages_per_sender"],
        serde_json::json!([{"from": "+15550009", "count": 1}])
    );
    assert_eq!(stats["first_message_ts"], "2001-01-01T00:00:00Z");
    assert_eq!(stats["last_message_ts"], "2001-01-01T00:00:00Z");
    assert_eq!(
        ids(&c.get("/messages/feed").expect("feed").json()),
        ["late"]
    );
    let daily = c
        .get("/stats/daily?until=2025-01-15&days=1")
        .expect("daily")
        .json();
    assert_eq!(daily["days"][0]["count"], 0);

    // A purged id is unknown again: posting it stores it again.
    let again = c
        .signed_webhook(&body(
            "old-1",
            "+15550001",
            "2025-01-15T10:00:00Z",
            Some("again"),
        ))
        .expect("post");
    assert_eq!(again.status, 200);
    assert_eq!(total(&server), 2);
    let metrics = c.get("/metrics").expect("metrics").text();
    assert_eq!(
        metric(&metrics, r#"webhook_requests_total{result="created"}"#),
        Some(7.0),
        "stored again, not a duplicate"
    );
    assert_eq!(metric(&metrics, "hookbox_purged_messages_total"), Some(5.0));

    // Then the rest ages out too.
    wait_for_total(&server, 0);
    let metrics = c.get("/metrics").expect("metrics").text();
    assert_eq!(metric(&metrics, "hookbox_purged_messages_total"), Some(7.0));
    // A log line per purge run that deleted something.
    std::thread::sleep(Duration::from_millis(200));
    let purged: u64 = server
        .stdout()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["msg"] == "purged messages")
        .map(|l| {
            assert_eq!(l["level"], "INFO");
            assert_eq!(l["retention"], "3s");
            l["purged"].as_u64().expect("purged")
        })
        .sum();
    assert_eq!(purged, 7);
}

#[test]
fn a_bad_retention_stops_start_up_naming_the_variable() {
    let failure = Server::builder()
        .env("RETENTION", "a month")
        .try_start()
        .expect_err("refused");
    let said = failure.stderr.join("\n");
    assert!(said.contains("RETENTION must be"), "{said}");
}
