//! Each setting the README documents takes effect in the real binary. Every
//! test here fails when the binary ignores its variable.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use testkit::{Client, Server, Store, e2e_store, free_port};

use crate::{body, ids, stored_ids};

/// Whether the store's search index exists: SQLite's FTS5 tables in the
/// file, or PostgreSQL's trigram index.
fn has_search_index(server: &Server) -> bool {
    match e2e_store() {
        Store::Sqlite => {
            let conn = rusqlite::Connection::open(server.database()).expect("open");
            let n: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE name LIKE 'messages_search%'",
                    [],
                    |r| r.get(0),
                )
                .expect("query");
            n > 0
        }
        Store::Postgres => {
            testkit::postgres::query_i64(
                &server.database_url(),
                "SELECT count(*) FROM pg_indexes WHERE indexname = 'messages_text_trgm'",
            ) > 0
        }
    }
}

/// Holds the store's write lock from another connection until dropped
/// (committed): SQLite's `BEGIN IMMEDIATE`, or a PostgreSQL table lock that
/// lets reads through and stops every insert.
enum WriteLock {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

impl WriteLock {
    fn take(server: &Server) -> Self {
        match e2e_store() {
            Store::Sqlite => {
                let lock = rusqlite::Connection::open(server.database()).expect("open");
                lock.busy_timeout(Duration::from_secs(5)).expect("timeout");
                lock.execute_batch("BEGIN IMMEDIATE")
                    .expect("take the write lock");
                Self::Sqlite(lock)
            }
            Store::Postgres => {
                let mut client = postgres::Client::connect(&server.database_url(), postgres::NoTls)
                    .expect("connect");
                client
                    .batch_execute("BEGIN; LOCK TABLE messages IN SHARE ROW EXCLUSIVE MODE")
                    .expect("take the write lock");
                Self::Postgres(client)
            }
        }
    }

    fn release(self) {
        match self {
            Self::Sqlite(conn) => conn.execute_batch("COMMIT").expect("release"),
            Self::Postgres(mut client) => client.batch_execute("COMMIT").expect("release"),
        }
    }
}

/// `WRITE_QUEUE=1` while another connection holds the store's write lock:
/// the writers wait on the lock (SQLite has one, PostgreSQL four per
/// replica) with at most one insert queued behind them, so of 20 concurrent
/// webhooks at least 14 get 503 + `Retry-After` at once, before the lock is
/// released. Once it is, the waiting ones commit, a new webhook
/// gets 200, and exactly the acknowledged ids are stored. With the default
/// queue (4,096) nothing would be refused.
#[test]
fn write_queue_refuses_what_does_not_fit_at_once_while_the_writer_waits() {
    let mut server = Server::builder().env("WRITE_QUEUE", "1").start();
    let client = server.client();
    let warm = body("w0", "+1", "2025-01-15T10:00:00Z", None);
    assert_eq!(client.signed_webhook(&warm).expect("post").status, 200);

    let lock = WriteLock::take(&server);

    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    for i in 0..20 {
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
        refused.len() >= 14,
        "with WRITE_QUEUE=1, at least 14 of 20 must be refused at once: {early:?}"
    );
    for (id, _, retry, took) in &refused {
        assert_eq!(retry.as_deref(), Some("1"), "{id}");
        assert!(*took < Duration::from_secs(1), "{id} took {took:?}");
    }
    assert!(
        early.iter().all(|r| r.1 == 503),
        "nothing commits under the lock: {early:?}"
    );

    lock.release();
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

/// `SEARCH_INDEX=off`: the store holds no search index, and `q` still answers
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
        assert_eq!(
            has_search_index(&server),
            tables_expected,
            "SEARCH_INDEX={setting}"
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
    // A message only this server holds: another process may take the same
    // port on 127.0.0.1 meanwhile (tests run side by side), but it is not
    // this server.
    let id = "host-chooses-the-listening-address";
    let stored = there
        .signed_webhook(&body(id, "+1", "2025-01-15T10:00:00Z", Some("here")))
        .expect("post");
    assert_eq!(stored.status, 200);
    let here = server.client().get(&format!("/messages/{id}"));
    assert!(
        !matches!(here, Ok(r) if r.status == 200),
        "127.0.0.1 must not reach this server"
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

/// The page size of the SQLite file at `path`.
fn page_size(path: &std::path::Path) -> i64 {
    rusqlite::Connection::open(path)
        .expect("open")
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .expect("page_size")
}

/// `SQLITE_PAGE_SIZE`: a new file is made with 4 KiB pages by default or
/// with the setting's size; a file that exists keeps its own; a value
/// SQLite cannot use stops start-up naming the variable. Each page written
/// to the WAL shows in `hookbox_wal_bytes_total`.
#[test]
fn sqlite_page_size_sets_new_files_and_wal_bytes_are_counted() {
    if !testkit::sqlite_only("sqlite_page_size_sets_new_files") {
        return;
    }
    let server = Server::start();
    assert_eq!(page_size(&server.database()), 4096, "the default");
    let wal = |server: &Server| -> f64 {
        crate::metric(
            &server.client().get("/metrics").expect("scrape").text(),
            "hookbox_wal_bytes_total",
        )
        .unwrap_or(-1.0)
    };
    let before = wal(&server);
    assert!(before >= 0.0, "hookbox_wal_bytes_total is exposed");
    let post = server
        .client()
        .signed_webhook(&body("paged", "+1", "2025-01-15T10:00:00Z", Some("hi")))
        .expect("post");
    assert_eq!(post.status, 200);
    // One commit writes at least the row's table and index pages, each a
    // 1,048-byte frame (the page and its 24-byte header).
    let after = wal(&server);
    assert!(
        after - before >= 2.0 * 1048.0,
        "WAL bytes {before} -> {after}"
    );
    drop(server);

    let small = Server::builder().env("SQLITE_PAGE_SIZE", "1024").start();
    assert_eq!(page_size(&small.database()), 1024, "SQLITE_PAGE_SIZE=1024");
    let dir = std::sync::Arc::new(tempfile::tempdir().expect("dir"));
    drop(
        Server::builder()
            .in_dir(std::sync::Arc::clone(&dir))
            .start(),
    );
    let reopened = Server::builder()
        .in_dir(std::sync::Arc::clone(&dir))
        .env("SQLITE_PAGE_SIZE", "1024")
        .start();
    assert_eq!(
        page_size(&reopened.database()),
        4096,
        "an existing file keeps its page size"
    );
    drop(reopened);

    let failure = Server::builder()
        .env("SQLITE_PAGE_SIZE", "1000")
        .try_start()
        .expect_err("1000 is not a power of two");
    let output = [failure.stdout, failure.stderr].concat().join("\n");
    assert!(output.contains("SQLITE_PAGE_SIZE"), "{output}");
}
