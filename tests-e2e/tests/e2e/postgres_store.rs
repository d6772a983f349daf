//! What only the PostgreSQL store has: several replicas on one database,
//! migrations racing, the server going away, TLS, and the adapter's own
//! settings. Each test gets a fresh database (or its own throwaway cluster
//! when it must stop the server), and skips with one line when no
//! PostgreSQL can be had (CI sets `HOOKBOX_REQUIRE_POSTGRES=1`: no skips).

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::postgres::{Cluster, fresh_database, query_i64, skip};
use testkit::{Client, Server};

use crate::{body, stored_ids};

/// `n` replicas on `url`, started at the same moment.
fn replicas(url: &str, n: usize, extra: &[(&str, &str)]) -> Vec<Server> {
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (url, barrier) = (url.to_owned(), Arc::clone(&barrier));
            let extra: Vec<(String, String)> = extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            std::thread::spawn(move || {
                let mut builder = Server::builder().env("DATABASE_URL", &url);
                for (k, v) in &extra {
                    builder = builder.env(k, v);
                }
                barrier.wait();
                builder.start()
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("replica start"))
        .collect()
}

fn wait_ready(client: Client, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if client.get("/health/ready").is_ok_and(|r| r.status == 200) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn start_line(server: &Server) -> Value {
    let lines = server.wait_for_lines(1);
    serde_json::from_str(&lines[0]).expect("JSON start-up line")
}

#[test]
fn three_replicas_started_at_once_on_an_empty_database_all_serve_and_one_migrated() {
    let Some(url) = fresh_database("three replicas start at once") else {
        return;
    };
    let servers = replicas(&url, 3, &[]);
    let schemas: Vec<String> = servers
        .iter()
        .map(|s| start_line(s)["schema"].as_str().expect("schema").to_owned())
        .collect();
    let migrated = schemas
        .iter()
        .filter(|s| s.starts_with("migrated from version 0"))
        .count();
    assert_eq!(migrated, 1, "exactly one replica migrates: {schemas:?}");
    assert_eq!(
        schemas.iter().filter(|s| *s == "current").count(),
        2,
        "{schemas:?}"
    );
    for s in &servers {
        assert!(
            wait_ready(s.client(), Duration::from_secs(5)),
            "replica not ready"
        );
    }
    assert_eq!(
        query_i64(
            &url,
            "SELECT version::int8 FROM hookbox_schema WHERE id = 1"
        ),
        i64::from(postgres_schema_version())
    );
}

/// The PostgreSQL schema this build writes (6: the top-senders index).
fn postgres_schema_version() -> i32 {
    6
}

#[test]
fn sixty_four_identical_webhooks_over_three_replicas_store_one_row() {
    let Some(url) = fresh_database("identical webhooks over replicas") else {
        return;
    };
    let servers = replicas(&url, 3, &[]);
    let clients: Vec<Client> = servers.iter().map(Server::client).collect();
    let b = body(
        "same-everywhere",
        "+4915112345678",
        "2025-01-15T10:00:00Z",
        Some("hi"),
    );
    let barrier = Arc::new(Barrier::new(64));
    let statuses: Vec<u16> = (0..64)
        .map(|i| {
            let (c, b, barrier) = (clients[i % 3], b.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                c.signed_webhook(&b).expect("post").status
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().expect("sender"))
        .collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let stats: Vec<Value> = clients
        .iter()
        .map(|c| c.get("/stats").expect("stats").json())
        .collect();
    assert_eq!(stats[0]["total_messages"], 1);
    assert!(
        stats.iter().all(|s| *s == stats[0]),
        "every replica agrees: {stats:?}"
    );
    for c in &clients {
        assert_eq!(c.get("/messages").expect("list").json()["total"], 1);
    }
    let created: f64 = clients
        .iter()
        .map(|c| {
            crate::metric(
                &c.get("/metrics").expect("metrics").text(),
                r#"webhook_requests_total{result="created"}"#,
            )
            .unwrap_or(0.0)
        })
        .sum();
    assert!(
        (created - 1.0).abs() < f64::EPSILON,
        "one created in all: {created}"
    );
    assert_eq!(query_i64(&url, "SELECT count(*) FROM messages"), 1);
}

/// Senders posting unique ids round-robin over `clients` until stopped;
/// returns the acknowledged ids and every status seen.
struct Senders {
    stop: Arc<AtomicBool>,
    /// Acknowledged so far, by every sender.
    acked: Arc<AtomicUsize>,
    threads: Vec<std::thread::JoinHandle<(Vec<String>, Vec<u16>)>>,
}

impl Senders {
    fn start(clients: &[Client], n: usize, tag: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicUsize::new(0));
        let threads = (0..n)
            .map(|t| {
                let (stop, count, clients, tag) = (
                    Arc::clone(&stop),
                    Arc::clone(&count),
                    clients.to_vec(),
                    tag.to_owned(),
                );
                std::thread::spawn(move || {
                    let (mut acked, mut statuses) = (Vec::new(), Vec::new());
                    for i in 0..1_000_000 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let id = format!("{tag}-{t}-{i}");
                        let c = clients[(t + i) % clients.len()];
                        let b = body(
                            &id,
                            &format!("+49{t}"),
                            "2025-01-15T10:00:00Z",
                            Some("load"),
                        );
                        match c.signed_webhook(&b) {
                            Ok(r) => {
                                statuses.push(r.status);
                                if r.status == 200 {
                                    acked.push(id);
                                    count.fetch_add(1, Ordering::Relaxed);
                                } else {
                                    std::thread::sleep(Duration::from_millis(20));
                                }
                            }
                            // A replica that is gone: the request was not acknowledged.
                            Err(_) => std::thread::sleep(Duration::from_millis(5)),
                        }
                    }
                    (acked, statuses)
                })
            })
            .collect();
        Self {
            stop,
            acked: count,
            threads,
        }
    }

    /// Waits (at most 30 s) until `n` ids in all are acknowledged, so a
    /// slow machine still puts the load under test before a fault.
    fn wait_for_acks(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.acked.load(Ordering::Relaxed) < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn finish(self) -> (Vec<String>, Vec<u16>) {
        self.stop.store(true, Ordering::Relaxed);
        let mut acked = Vec::new();
        let mut statuses = Vec::new();
        for t in self.threads {
            let (a, s) = t.join().expect("sender");
            acked.extend(a);
            statuses.extend(s);
        }
        (acked, statuses)
    }
}

/// Every id stored once, and every acknowledged id among them.
fn assert_nothing_lost_or_doubled(client: Client, acked: &[String]) {
    let walked = stored_ids(client);
    let distinct: HashSet<&String> = walked.iter().collect();
    assert_eq!(distinct.len(), walked.len(), "an id was stored twice");
    let total = client.get("/messages").expect("list").json()["total"].clone();
    assert_eq!(total, walked.len(), "total agrees with the walk");
    let lost: Vec<&String> = acked.iter().filter(|id| !distinct.contains(id)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged ids lost",
        lost.len(),
        acked.len()
    );
}

#[test]
fn kill_9_of_one_replica_mid_ingest_loses_nothing_acknowledged() {
    let Some(url) = fresh_database("kill -9 of one replica") else {
        return;
    };
    let mut servers = replicas(&url, 3, &[]);
    let clients: Vec<Client> = servers.iter().map(Server::client).collect();
    let senders = Senders::start(&clients, 8, "k");
    std::thread::sleep(Duration::from_millis(1500));
    senders.wait_for_acks(60);
    servers[0].kill();
    let before = senders.acked.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(1500));
    // The survivors carry the load on after the kill.
    senders.wait_for_acks(before + 60);
    let (acked, statuses) = senders.finish();
    assert!(acked.len() > 100, "load ran: {} acknowledged", acked.len());
    assert!(
        statuses.iter().all(|s| *s == 200),
        "survivors answer 200: {:?}",
        statuses.iter().filter(|s| **s != 200).count()
    );
    assert_nothing_lost_or_doubled(clients[1], &acked);
    let stats: Vec<Value> = clients[1..]
        .iter()
        .map(|c| c.get("/stats").expect("stats").json())
        .collect();
    assert_eq!(stats[0], stats[1]);
}

#[test]
fn postgres_restarting_under_load_gives_only_200_or_503_and_readiness_comes_back() {
    let Some(cluster) = Cluster::start(false) else {
        skip(
            "postgres restart under load",
            "no PostgreSQL server binaries to run a cluster of its own",
        );
        return;
    };
    let url = cluster.fresh_database();
    let servers = replicas(&url, 2, &[("POSTGRES_CONNECT_TIMEOUT", "1s")]);
    let clients: Vec<Client> = servers.iter().map(Server::client).collect();
    let senders = Senders::start(&clients, 8, "r");
    std::thread::sleep(Duration::from_millis(1000));
    cluster.stop_server();
    std::thread::sleep(Duration::from_millis(1500));
    let down: Vec<u16> = clients
        .iter()
        .map(|c| c.get("/health/ready").expect("ready").status)
        .collect();
    assert_eq!(down, [503, 503], "readiness while the database is down");
    let ready = clients[0].get("/health/ready").expect("ready").json();
    assert_eq!(ready["checks"]["database"], "unavailable", "{ready}");
    cluster.start_server();
    for c in &clients {
        assert!(
            wait_ready(*c, Duration::from_secs(15)),
            "readiness did not come back"
        );
    }
    std::thread::sleep(Duration::from_millis(1000));
    let (acked, statuses) = senders.finish();
    let refused = statuses.iter().filter(|s| **s == 503).count();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "only 200 and 503"
    );
    assert!(refused > 0, "the outage was seen");
    let after = statuses.len() - refused;
    assert!(after > 0 && acked.len() == after);
    let b = body("after-restart", "+1", "2025-01-15T10:00:00Z", None);
    assert_eq!(clients[1].signed_webhook(&b).expect("post").status, 200);
    let mut acked = acked;
    acked.push("after-restart".to_owned());
    assert_nothing_lost_or_doubled(clients[0], &acked);
}

/// Connections hookbox holds on this database, by role (`read`,
/// `search`, `write`, or `%` for all).
fn held(db: &str, role: &str) -> i64 {
    query_i64(
        db,
        &format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND application_name LIKE 'hookbox-{role}'"
        ),
    )
}

/// Who holds the connections `held` counts, for a failure's message:
/// `application_name state ×n`, most first.
fn holders(db: &str) -> String {
    let mut client = postgres::Client::connect(db, postgres::NoTls).expect("connect");
    let rows = client
        .query(
            "SELECT application_name, coalesce(state, '?'), count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name LIKE 'hookbox-%' \
             GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
            &[],
        )
        .expect("pg_stat_activity");
    rows.iter()
        .map(|r| {
            format!(
                "{} {} ×{}",
                r.get::<_, String>(0),
                r.get::<_, String>(1),
                r.get::<_, i64>(2)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Polls until `held(db, "%") <= most`, for at most `within`; the last count.
fn settles(db: &str, most: i64, within: Duration) -> i64 {
    let deadline = Instant::now() + within;
    loop {
        let n = held(db, "%");
        if n <= most || Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The read pool opens connections on demand, up to `POSTGRES_POOL_SIZE`,
/// and gives them back when idle: an idle replica holds at most two
/// (the periodic callers' `hookbox-tick`, and one more in passing).
#[test]
fn pool_grows_on_demand_up_to_its_size_and_an_idle_replica_holds_at_most_two() {
    let Some(url) = fresh_database("POSTGRES_POOL_SIZE") else {
        return;
    };
    let server = Server::builder()
        .env("DATABASE_URL", &url)
        .env("POSTGRES_POOL_SIZE", "3")
        .start();
    let db = server.database_url();
    for i in 0..20 {
        let r = server
            .client()
            .signed_webhook(&body(
                &format!("pool-{i}"),
                "+111",
                "2025-01-15T10:00:00Z",
                Some("hi"),
            ))
            .expect("post");
        assert_eq!(r.status, 200);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..16)
        .map(|_| {
            let (stop, c) = (Arc::clone(&stop), server.client());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let _ = c.get("/messages?limit=100&offset=5");
                }
            })
        })
        .collect();
    let mut most = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        most = most.max(held(&db, "read"));
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.join().expect("load");
    }
    assert!(
        (2..=3).contains(&most),
        "under load the pool grew to {most} (POSTGRES_POOL_SIZE=3)"
    );
    let idle = settles(&db, 2, Duration::from_secs(110));
    assert!(
        idle <= 2,
        "an idle replica holds {idle} connections: {}",
        holders(&db)
    );
    assert_eq!(
        server.client().get("/stats").expect("stats").status,
        200,
        "and reconnects on demand"
    );
}

/// Twenty idle replicas fit in a default PostgreSQL (`max_connections` =
/// 100) with room to spare: one connection each once settled, the
/// periodic callers' `hookbox-tick` (counted on a cluster of the test's
/// own, so that the tests beside it do not count). With those callers on
/// the read pool, their overlaps kept a second connection open: 39 or 40.
#[test]
fn twenty_idle_replicas_fit_in_a_default_server() {
    // A cluster of its own: twenty replicas starting at once must not take
    // the connections the tests beside it need (nor theirs this one).
    let Some(cluster) = Cluster::start(false) else {
        skip(
            "twenty idle replicas",
            "no PostgreSQL server binaries to run a cluster of its own",
        );
        return;
    };
    let url = cluster.fresh_database();
    let servers = replicas(&url, 20, &[]);
    // Twenty replicas opening their first connections at once on a busy
    // server may answer 503 + Retry-After for a moment: senders retry.
    let eventually_200 = |what: &str, mut call: Box<dyn FnMut() -> u16 + '_>| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let status = call();
            if status == 200 || Instant::now() > deadline {
                assert_eq!(status, 200, "{what}");
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    for (i, s) in servers.iter().enumerate() {
        let body = body(
            &format!("twenty-{i}"),
            "+111",
            "2025-01-15T10:00:00Z",
            Some("hi"),
        );
        let c = s.client();
        eventually_200(
            "post",
            Box::new(|| c.signed_webhook(&body).expect("post").status),
        );
        eventually_200("stats", Box::new(|| c.get("/stats").expect("stats").status));
    }
    let db = servers[0].database_url();
    // One each once settled (`hookbox-tick`), a few more in passing.
    let idle = settles(&db, 22, Duration::from_secs(110));
    eprintln!(
        "twenty idle replicas hold {idle} connections: {}",
        holders(&db)
    );
    assert!(
        idle <= 22,
        "20 idle replicas hold {idle} connections (> 1 each and 2 in passing): {}",
        holders(&db)
    );
    for s in &servers {
        let c = s.client();
        eventually_200(
            "stats after idling",
            Box::new(|| c.get("/stats").expect("stats").status),
        );
    }
}

#[test]
fn connect_timeout_bounds_how_long_an_unanswering_server_is_waited_for() {
    // A listener that accepts and never answers: a server that hangs.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&held);
    std::thread::spawn(move || {
        for conn in silent.incoming().flatten() {
            keep.lock().expect("lock").push(conn);
        }
    });
    // Built (or found) before the clock starts.
    let _ = testkit::hookbox_binary();
    let started = Instant::now();
    let result = Server::builder()
        .env(
            "DATABASE_URL",
            &format!("postgres://hookbox@127.0.0.1:{port}/x?sslmode=disable"),
        )
        .env("POSTGRES_CONNECT_TIMEOUT", "300ms")
        .try_start();
    let took = started.elapsed();
    let failure = result.expect_err("no database, no start");
    assert!(
        took < Duration::from_secs(3),
        "gave up after {took:?}; the default is 5 s"
    );
    let text = format!("{failure:?}");
    assert!(text.contains("cannot connect"), "{text}");
}

#[test]
fn statement_timeout_turns_a_blocked_read_into_a_quick_503() {
    let Some(url) = fresh_database("POSTGRES_STATEMENT_TIMEOUT") else {
        return;
    };
    let server = Server::builder()
        .env("DATABASE_URL", &url)
        .env("POSTGRES_STATEMENT_TIMEOUT", "300ms")
        .start();
    let c = server.client();
    assert_eq!(
        c.signed_webhook(&body("s1", "+1", "2025-01-15T10:00:00Z", None))
            .expect("post")
            .status,
        200
    );
    let mut blocker = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    blocker
        .batch_execute("BEGIN; LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")
        .expect("lock");
    let started = Instant::now();
    let r = c.get("/messages?from=%2B1&q=x").expect("list");
    let took = started.elapsed();
    blocker.batch_execute("COMMIT").expect("unlock");
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(
        took < Duration::from_secs(2),
        "took {took:?}; the default is 5 s"
    );
    assert_eq!(c.get("/messages").expect("list").json()["total"], 1);
}

#[test]
fn tls_require_and_verify_full_against_a_self_signed_server() {
    let Some(cluster) = Cluster::start(true) else {
        skip("TLS", "no PostgreSQL server binaries to run a TLS cluster");
        return;
    };
    let url = cluster.fresh_database();
    let root = cluster.certificate();
    let root = root.to_str().expect("utf-8");
    let localhost = url.replace("127.0.0.1", "localhost");
    let ok_cases = [
        format!("{url}?sslmode=require"),
        format!("{localhost}?sslmode=verify-full&sslrootcert={root}"),
        format!("{url}?sslmode=verify-ca&sslrootcert={root}"),
    ];
    for db in &ok_cases {
        let server = Server::builder().env("DATABASE_URL", db).start();
        let c = server.client();
        let id = format!("tls-{}", db.len());
        assert_eq!(
            c.signed_webhook(&body(&id, "+1", "2025-01-15T10:00:00Z", None))
                .expect("post")
                .status,
            200,
            "{db}"
        );
        assert!(wait_ready(c, Duration::from_secs(5)), "{db}");
        let encrypted = query_i64(
            &url,
            "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
             WHERE ssl AND application_name LIKE 'hookbox-%'",
        );
        assert!(encrypted > 0, "{db}: no encrypted hookbox connection");
    }
    // The system's roots do not know this certificate: verify-full refuses.
    let failure = Server::builder()
        .env("DATABASE_URL", &format!("{localhost}?sslmode=verify-full"))
        .try_start()
        .expect_err("an unknown certificate must be refused");
    let text = format!("{failure:?}");
    assert!(text.contains("cannot connect"), "{text}");
    assert!(!text.contains("e2e-secret"), "no secret in errors");
}

/// Two replicas on one database: a reader of one replica's feed sees every
/// message acknowledged by either exactly once, in ascending `seq`, while
/// 8 senders post to both (batches on the two replicas commit side by
/// side, and the feed's counter row orders them); and a stream open on one
/// replica hears a message stored through the other within 1 s.
#[test]
fn two_replicas_share_one_feed_and_each_stream_hears_both() {
    let Some(url) = fresh_database("two replicas share one feed") else {
        return;
    };
    let servers = replicas(&url, 2, &[]);
    let (a, b) = (servers[0].client(), servers[1].client());
    let mut stream =
        testkit::sse::EventStream::open(b.addr(), "/messages/stream", &[]).expect("open");
    assert_eq!(stream.status, 200);
    std::thread::sleep(Duration::from_millis(300));
    let posted = Instant::now();
    let r = a
        .signed_webhook(&body(
            "via-a",
            "+15550001",
            "2001-01-01T00:00:00Z",
            Some("x"),
        ))
        .expect("post");
    assert_eq!(r.status, 200);
    let heard = stream
        .until(Duration::from_secs(1), |e| e.event == "message")
        .expect("replica b's stream hears replica a's message within 1 s");
    assert!(posted.elapsed() < Duration::from_secs(1));
    assert_eq!(
        heard.last().map(|e| e.json()["message_id"].clone()),
        Some("via-a".into())
    );
    drop(stream);
    crate::reading::feed_walk_while_posting(&[a, b], b, &["via-a"]);
}
