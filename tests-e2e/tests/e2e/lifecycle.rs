//! Start-up, restart, shutdown and concurrency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use testkit::Server;

use crate::{body, ids, metric};

#[test]
fn restart_on_the_same_file_keeps_data() {
    let mut server = Server::start();
    crate::contract::evaluation_sequence(&server);
    let before = server.client().get("/messages").expect("list").json();
    let stats_before = server.client().get("/stats").expect("stats").json();
    let status = server.terminate();
    assert!(status.success(), "{status:?}");

    let server = server.restart();
    let c = server.client();
    assert_eq!(c.get("/health/ready").expect("ready").status, 200);
    assert_eq!(c.get("/messages").expect("list").json(), before);
    assert_eq!(c.get("/stats").expect("stats").json(), stats_before);
    // Still idempotent across the restart.
    let r = c
        .signed_webhook(&body("m2", "+1", "2030-01-01T00:00:00Z", None))
        .expect("post");
    assert_eq!(r.status, 200);
    assert_eq!(c.get("/messages").expect("list").json()["total"], 4);
}

#[test]
fn sixty_four_concurrent_identical_posts_store_one_row() {
    let server = Server::start();
    let client = server.client();
    let b = Arc::new(body(
        "concurrent",
        "+1",
        "2025-01-15T10:00:00Z",
        Some("once"),
    ));
    let barrier = Arc::new(std::sync::Barrier::new(64));
    let handles: Vec<_> = (0..64)
        .map(|_| {
            let b = Arc::clone(&b);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                client.signed_webhook(&b).expect("post").status
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().expect("thread"), 200);
    }
    let all = client.get("/messages").expect("list").json();
    assert_eq!(
        (ids(&all), all["total"].clone()),
        (vec!["concurrent".to_owned()], json!(1))
    );
    let metrics = client.get("/metrics").expect("metrics").text();
    for (series, want) in [
        (r#"webhook_requests_total{result="created"}"#, 1.0),
        (r#"webhook_requests_total{result="duplicate"}"#, 63.0),
    ] {
        assert_eq!(metric(&metrics, series), Some(want), "{series}\n{metrics}");
    }
}

#[test]
fn concurrent_distinct_posts_are_all_stored() {
    let server = Server::start();
    let client = server.client();
    let handles: Vec<_> = (0..16)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..25 {
                    let b = body(
                        &format!("t{t}-{i}"),
                        &format!("+{}", t + 1),
                        "2025-01-15T10:00:00Z",
                        None,
                    );
                    assert_eq!(client.signed_webhook(&b).expect("post").status, 200);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    let stats = client.get("/stats").expect("stats").json();
    assert_eq!(
        (
            stats["total_messages"].clone(),
            stats["senders_count"].clone()
        ),
        (json!(400), json!(16))
    );
    assert_eq!(
        client.get("/messages?limit=1").expect("list").json()["total"],
        400
    );
}

fn start_failure(builder: testkit::ServerBuilder) -> (i32, String) {
    let failure = builder.try_start().expect_err("must not start");
    let code = failure
        .status
        .and_then(|s| s.code())
        .expect("exited with a code");
    (code, [failure.stdout, failure.stderr].concat().join("\n"))
}

#[test]
fn start_up_fails_without_a_usable_secret() {
    let (code, output) = start_failure(Server::builder().without("WEBHOOK_SECRET"));
    assert_ne!(code, 0);
    assert!(output.contains("WEBHOOK_SECRET"), "{output}");
    let (code, output) = start_failure(Server::builder().env("WEBHOOK_SECRET", ""));
    assert_ne!(code, 0);
    assert!(output.contains("WEBHOOK_SECRET"), "{output}");
}

#[test]
fn start_up_fails_on_a_bad_database_url() {
    for url in [
        "postgres://localhost:notaport/x",
        "postgres://localhost/x?sslmode=sometimes",
        "sqlite://relative.db",
        "sqlite:///",
    ] {
        let (code, output) = start_failure(Server::builder().env("DATABASE_URL", url));
        assert_ne!(code, 0, "{url}");
        assert!(output.contains("DATABASE_URL"), "{url}: {output}");
    }
    // An unknown scheme names the variable and lists the supported schemes,
    // on one line.
    for url in ["mysql://localhost/x", "app.db"] {
        let (code, output) = start_failure(Server::builder().env("DATABASE_URL", url));
        assert_ne!(code, 0, "{url}");
        let line = output
            .lines()
            .find(|l| l.contains("DATABASE_URL"))
            .unwrap_or_else(|| panic!("{url}: {output}"));
        assert!(
            line.contains("supported: sqlite://, postgres://, postgresql://"),
            "{url}: {line}"
        );
    }
    // A path that cannot be a database: a folder.
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite:///{}", dir.path().display());
    let (code, output) = start_failure(Server::builder().env("DATABASE_URL", &url));
    assert_ne!(code, 0);
    assert!(output.contains("cannot open"), "{output}");
}

#[test]
fn database_folders_are_created_and_relative_urls_use_the_working_directory() {
    if !testkit::sqlite_only("database_folders_are_created") {
        return;
    }
    let server = Server::builder()
        .env("DATABASE_URL", "sqlite:///nested/deeper/app.db")
        .start();
    assert_eq!(
        server
            .client()
            .signed_webhook(&body("x", "+1", "2025-01-15T10:00:00Z", None))
            .expect("post")
            .status,
        200
    );
    assert!(server.dir().join("nested/deeper/app.db").is_file());
}

#[test]
fn sigterm_stops_promptly_and_cleanly() {
    let mut server = Server::start();
    assert_eq!(
        server
            .client()
            .signed_webhook(&body("x", "+1", "2025-01-15T10:00:00Z", None))
            .expect("post")
            .status,
        200
    );
    // An idle keep-alive connection must not hold the stop up.
    let _idle = server.client().connect().expect("connect");
    let start = Instant::now();
    let status = server.terminate();
    let took = start.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(8), "took {took:?}");
    let last = server.stdout().last().cloned().unwrap_or_default();
    assert!(last.contains("hookbox stopped"), "{last}");
}

/// The variables a running process was started with (Linux).
fn environ_of(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .expect("environ")
        .split(|&b| b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

#[test]
fn glibc_arenas_are_capped_in_place_unless_the_operator_chose() {
    // Unset: hookbox re-executes itself with the cap, keeping its pid.
    let server = Server::start();
    assert_eq!(
        server.client().get("/health/ready").expect("ready").status,
        200
    );
    assert!(
        environ_of(server.pid()).contains(&"MALLOC_ARENA_MAX=2".to_owned()),
        "{:?}",
        environ_of(server.pid())
    );
    crate::contract::evaluation_sequence(&server);
    drop(server);

    // Set by the operator: kept as it is.
    let server = Server::builder().env("MALLOC_ARENA_MAX", "4").start();
    assert_eq!(
        server.client().get("/health/ready").expect("ready").status,
        200
    );
    let env = environ_of(server.pid());
    assert!(env.contains(&"MALLOC_ARENA_MAX=4".to_owned()), "{env:?}");
    assert!(!env.contains(&"MALLOC_ARENA_MAX=2".to_owned()), "{env:?}");
}
