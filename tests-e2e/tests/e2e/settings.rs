//! Each setting the README documents takes effect in the real binary. Every
//! test here fails when the binary ignores its variable.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use testkit::{Client, Server, free_port};

use crate::{body, ids, stored_ids};

/// Names of the search index's tables in a database file.
fn search_tables(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).expect("open");
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE name LIKE 'messages_search%' ORDER BY name")
        .expect("prepare");
    stmt.query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// `WRITE_QUEUE=1` while another connection holds SQLite's write lock: the
/// writer waits on the lock with at most one insert queued behind it, so of
/// 8 concurrent webhooks at least 6 get 503 + `Retry-After` at once, before
/// the lock is released. Once it is, the waiting ones commit, a new webhook
/// gets 200, and exactly the acknowledged ids are stored. With the default
/// queue (4,096) nothing would be refused.
#[test]
fn write_queue_refuses_what_does_not_fit_at_once_while_the_writer_waits() {
    let mut server = Server::builder().env("WRITE_QUEUE", "1").start();
    let client = server.client();
    let warm = body("w0", "+1", "2025-01-15T10:00:00Z", None);
    assert_eq!(client.signed_webhook(&warm).expect("post").status, 200);

    let lock = rusqlite::Connection::open(server.database()).expect("open");
    lock.busy_timeout(Duration::from_secs(5)).expect("timeout");
    lock.execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");

    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    for i in 0..8 {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let id = format!("q{i}");
            let r = client
                .signed_webhook(&body(&id, "+1", "2025-01-15T10:00:00Z", None))
                .expect("post");
            let retry = r.header("retry-after").map(str::to_owned);
            let _ = tx.send((id, r.status, retry, started.elapsed()));
        });
    }
    drop(tx);
    // While the lock is held, collect what comes back within 1.5 s.
    let mut early = Vec::new();
    while let Ok(result) =
        rx.recv_timeout(Duration::from_millis(1500).saturating_sub(started.elapsed()))
    {
        early.push(result);
    }
    let refused: Vec<_> = early.iter().filter(|r| r.1 == 503).collect();
    assert!(
        refused.len() >= 6,
        "with WRITE_QUEUE=1, at least 6 of 8 must be refused at once: {early:?}"
    );
    for (id, _, retry, took) in &refused {
        assert_eq!(retry.as_deref(), Some("1"), "{id}");
        assert!(*took < Duration::from_secs(1), "{id} took {took:?}");
    }
    assert!(
        early.iter().all(|r| r.1 == 503),
        "nothing commits under the lock: {early:?}"
    );

    lock.execute_batch("COMMIT").expect("release the lock");
    let late: Vec<_> = rx.iter().collect();
    assert!(!late.is_empty(), "the queued inserts answer after the lock");
    assert!(late.iter().all(|r| r.1 == 200), "{late:?}");
    let after = body("w1", "+1", "2025-01-15T10:00:01Z", None);
    assert_eq!(client.signed_webhook(&after).expect("post").status, 200);

    let mut acked: HashSet<String> = late.into_iter().map(|r| r.0).collect();
    acked.extend(["w0".to_owned(), "w1".to_owned()]);
    let stored: HashSet<String> = stored_ids(client).into_iter().collect();
    assert_eq!(stored, acked, "stored equals acknowledged");
    server.terminate();
}

/// `SEARCH_INDEX=off`: the file holds no search index, and `q` still answers
/// exactly (case-insensitive substring, `%` and `_` literal). The default
/// (on) makes the index, so the check can tell the two apart.
#[test]
fn search_index_off_keeps_no_index_and_q_stays_exact() {
    let texts = [
        ("s1", "Hello there"),
        ("s2", "say HELLO"),
        ("s3", "100% sure_thing"),
        ("s4", "ÉCOLE"),
        ("s5", "1000 surely"),
    ];
    let cases = [
        ("hello", vec!["s1", "s2"]),
        ("100%25", vec!["s3"]),
        ("o_t", vec![]),
        ("_", vec!["s3"]),
        ("%C3%A9cole", vec!["s4"]),
    ];
    for (setting, tables_expected) in [("off", false), ("on", true)] {
        let mut server = Server::builder().env("SEARCH_INDEX", setting).start();
        let c = server.client();
        for (i, (id, text)) in texts.iter().enumerate() {
            let ts = format!("2025-01-15T10:00:0{i}Z");
            let r = c
                .signed_webhook(&body(id, "+1", &ts, Some(text)))
                .expect("post");
            assert_eq!(r.status, 200);
        }
        for (q, want) in &cases {
            let page = c.get(&format!("/messages?q={q}")).expect("get").json();
            assert_eq!(ids(&page), *want, "SEARCH_INDEX={setting} q={q}");
            assert_eq!(page["total"], want.len(), "SEARCH_INDEX={setting} q={q}");
        }
        server.terminate();
        let tables = search_tables(&server.database());
        assert_eq!(
            !tables.is_empty(),
            tables_expected,
            "SEARCH_INDEX={setting}: {tables:?}"
        );
    }
}

/// `HOST` chooses the address hookbox listens on: on 127.0.0.2 it answers
/// there and not on 127.0.0.1.
#[test]
fn host_chooses_the_listening_address() {
    let server = Server::builder().env("HOST", "127.0.0.2").start();
    let there = Client::at(SocketAddr::from(([127, 0, 0, 2], server.port())));
    assert_eq!(there.get("/health/live").expect("live").status, 200);
    assert!(
        server.client().get("/health/live").is_err(),
        "127.0.0.1 must not answer"
    );
}

/// `PORT` chooses the port, and the start-up line reports it.
#[test]
fn port_chooses_the_listening_port() {
    let port = free_port();
    let server = Server::builder().env("PORT", &port.to_string()).start();
    assert_eq!(server.port(), port);
    assert_eq!(
        Client::new(port).get("/health/live").expect("live").status,
        200
    );
    let started = server.wait_for_lines(1);
    assert!(
        started[0].contains(&format!("\"port\":{port}")),
        "{started:?}"
    );
}
