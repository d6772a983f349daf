//! `hookbox-bench`: see the crate README.
#![expect(
    clippy::print_stdout,
    reason = "a command-line tool that prints its report"
)]

mod load;
mod postgres_direct;
mod soak;
mod traffic;
mod verify_only;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::{Cursor, MessageStore};
use serde_json::{Value, json};
use sqlite_adapter::{SqliteConfig, SqliteStore};
use testkit::{Client, Server, request_bytes, sign};

use crate::load::LoadResult;
use crate::traffic::{Rng, Senders, fields};

const HELP: &str = "hookbox-bench: load and consistency benchmark for hookbox (loopback only)

USAGE: hookbox-bench [OPTIONS]

  --messages N          unique webhooks to ingest            [100000]
  --concurrency N       requests in flight during ingest     [64]
  --senders N           distinct senders                     [5000]
  --seed-rows N         rows in the database for the reads   [1000000]
  --read-concurrency N  requests in flight during reads      [8]
  --reads N             requests per read shape              [2000]
  --rejects N           forged and invalid webhooks, each    [5000]
  --max-seconds N       time limit of each load phase        [120]
  --out FILE            JSON report                          [bench-results/latest.json]
  --no-search-index     run hookbox with SEARCH_INDEX=off
  --runs N              repeat the scenario, report per-figure medians  [3]
  --keep-db DIR         afterwards, copy the read-phase database files to DIR
  --soak-ids N          in a soak, draw webhook ids from N only: once all are
                        stored, writes are replays and the data stops growing
  --soak SECONDS        instead: mixed writes (70 %) and reads at --concurrency
                        for SECONDS, sampling RSS; fails on any 5xx
  --quick               one small run (CI): 2000 messages, 5000 rows, 100 reads
  --database-url URL    run on PostgreSQL instead of SQLite: URL names a server
                        and a role that may CREATE DATABASE; each phase gets a
                        fresh database. Adds PostgreSQL's own batched insert
                        rate into the same schema (the ceiling) to the report
  --replicas N          hookbox processes sharing that database      [1]
";

#[derive(Debug, Clone)]
struct Options {
    messages: u64,
    concurrency: usize,
    senders: usize,
    seed_rows: u64,
    read_concurrency: usize,
    reads: usize,
    rejects: usize,
    max_seconds: u64,
    out: String,
    search_index: bool,
    soak_seconds: Option<u64>,
    soak_ids: Option<u64>,
    keep_db: Option<String>,
    runs: usize,
    database_url: Option<String>,
    replicas: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            messages: 100_000,
            concurrency: 64,
            senders: 5000,
            seed_rows: 1_000_000,
            read_concurrency: 8,
            reads: 2000,
            rejects: 5000,
            max_seconds: 120,
            out: "bench-results/latest.json".to_owned(),
            search_index: true,
            soak_seconds: None,
            soak_ids: None,
            keep_db: None,
            runs: 3,
            database_url: None,
            replicas: 1,
        }
    }
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        macro_rules! num {
            ($field:ident, $name:expr) => {
                o.$field = value($name)?
                    .parse()
                    .map_err(|_| format!("{} needs a number", $name))?
            };
        }
        match arg.as_str() {
            "--messages" => num!(messages, "--messages"),
            "--concurrency" => num!(concurrency, "--concurrency"),
            "--senders" => num!(senders, "--senders"),
            "--seed-rows" => num!(seed_rows, "--seed-rows"),
            "--read-concurrency" => num!(read_concurrency, "--read-concurrency"),
            "--reads" => num!(reads, "--reads"),
            "--rejects" => num!(rejects, "--rejects"),
            "--max-seconds" => num!(max_seconds, "--max-seconds"),
            "--runs" => num!(runs, "--runs"),
            "--replicas" => num!(replicas, "--replicas"),
            "--database-url" => o.database_url = Some(value("--database-url")?),
            "--out" => o.out = value("--out")?,
            "--no-search-index" => o.search_index = false,
            "--keep-db" => o.keep_db = Some(value("--keep-db")?),
            "--soak-ids" => {
                o.soak_ids = Some(
                    value("--soak-ids")?
                        .parse()
                        .map_err(|_| "--soak-ids needs a number".to_owned())?,
                );
            }
            "--soak" => {
                o.soak_seconds = Some(
                    value("--soak")?
                        .parse()
                        .map_err(|_| "--soak needs seconds".to_owned())?,
                );
            }
            "--quick" => {
                o.messages = 2000;
                o.seed_rows = 5000;
                o.reads = 100;
                o.rejects = 200;
                o.senders = 200;
                o.concurrency = 16;
                o.runs = 1;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

fn main() -> std::process::ExitCode {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("hookbox-bench: {e}");
            }
            print!("{HELP}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = match options.soak_seconds {
        Some(seconds) => run_soak(&options, seconds),
        None => run_many(&options),
    };
    match result {
        Ok(failures) if failures.is_empty() => std::process::ExitCode::SUCCESS,
        Ok(failures) => {
            for f in failures {
                eprintln!("hookbox-bench: CHECK FAILED: {f}");
            }
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("hookbox-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn webhook_request(body: &[u8], signature: &str) -> Vec<u8> {
    request_bytes(
        "POST",
        "/webhook",
        &[
            ("Content-Type", "application/json"),
            ("X-Signature", signature),
        ],
        Some(body),
        true,
    )
}

fn get_request(target: &str) -> Vec<u8> {
    request_bytes("GET", target, &[], None, true)
}

struct Report {
    rows: Vec<Value>,
    failures: Vec<String>,
}

impl Report {
    fn phase(&mut self, name: &str, r: &LoadResult, expect_status: Option<u16>) {
        println!(
            "{name:<28} {:>8} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2}  {:?}{}",
            r.sent,
            r.rate(),
            r.percentile_ms(50.0),
            r.percentile_ms(95.0),
            r.percentile_ms(99.0),
            r.percentile_ms(100.0),
            r.statuses,
            if r.io_errors > 0 {
                format!(" io_errors={}", r.io_errors)
            } else {
                String::new()
            },
        );
        self.rows.push(json!({
            "phase": name, "requests": r.sent, "per_second": r.rate(),
            "p50_ms": r.percentile_ms(50.0), "p95_ms": r.percentile_ms(95.0),
            "p99_ms": r.percentile_ms(99.0), "max_ms": r.percentile_ms(100.0),
            "statuses": r.statuses.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "io_errors": r.io_errors,
        }));
        if let Some(status) = expect_status {
            self.check(
                r.only(status),
                format!(
                    "{name}: expected every answer {status}, got {:?} io_errors={}",
                    r.statuses, r.io_errors
                ),
            );
        }
    }

    fn check(&mut self, ok: bool, what: String) {
        if !ok {
            self.failures.push(what);
        }
    }
}

#[expect(clippy::too_many_lines, reason = "one scenario, read top to bottom")]
fn run(o: &Options) -> Result<(Vec<String>, Value), String> {
    let mut rng = Rng::new(0x0068_6f6f_6b62_6f78);
    let senders = Senders::new(o.senders, &mut rng);
    let deadline = Duration::from_secs(o.max_seconds);
    let mut report = Report {
        rows: Vec::new(),
        failures: Vec::new(),
    };
    println!(
        "hookbox-bench: {} messages at concurrency {}, {} senders, reads at {} rows, concurrency {}; {} cores",
        o.messages,
        o.concurrency,
        senders.len(),
        o.seed_rows,
        o.read_concurrency,
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    println!(
        "{:<28} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8}  statuses",
        "phase", "requests", "per sec", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );

    // 1. The adapter alone, from as many threads as HTTP will use; on
    // PostgreSQL also the server's own batched insert rate (the ceiling).
    let adapter_msgs: Arc<Vec<domain::Message>> = Arc::new(
        (0..o.messages)
            .filter_map(|n| fields("a", n, &senders, &mut rng).message())
            .collect(),
    );
    let adapter_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let adapter: Arc<dyn MessageStore> = match &o.database_url {
        None => Arc::new(
            SqliteStore::open(&SqliteConfig::new(adapter_dir.path().join("adapter.db")))
                .map_err(|e| e.to_string())?,
        ),
        Some(admin) => Arc::new(postgres_direct::fresh_store(admin, o.search_index)?.0),
    };
    let adapter_rate = adapter_insert_rate(&adapter, &adapter_msgs, o.concurrency, deadline)?;
    println!(
        "{:<28} {:>8} {:>10.0}",
        "adapter insert (no HTTP)",
        adapter_msgs.len(),
        adapter_rate
    );
    drop(adapter);
    drop(adapter_dir);
    let ceiling = match &o.database_url {
        None => None,
        Some(admin) => {
            let rate = postgres_direct::batched_insert_rate(
                admin,
                o.search_index,
                &adapter_msgs,
                8,
                64,
                deadline,
            )?;
            println!(
                "{:<28} {:>8} {:>10.0}",
                "postgres alone (64-row tx)",
                adapter_msgs.len(),
                rate
            );
            Some(rate)
        }
    };

    // 2. Ingest over HTTP.
    let dir = Arc::new(tempfile::tempdir().map_err(|e| e.to_string())?);
    let database_url = o
        .database_url
        .as_deref()
        .map(testkit::postgres::create_database);
    let mut builder = Server::builder()
        .in_dir(Arc::clone(&dir))
        .env("SEARCH_INDEX", if o.search_index { "on" } else { "off" })
        .discard_stdout();
    if let Some(url) = &database_url {
        builder = builder.env("DATABASE_URL", url);
    }
    let replicas = if database_url.is_some() {
        o.replicas.max(1)
    } else {
        1
    };
    let mut servers = (0..replicas)
        .map(|_| {
            // Each replica on a port of its own (discard_stdout picks one).
            builder
                .clone()
                .without("PORT")
                .discard_stdout()
                .try_start()
                .map_err(|e| format!("hookbox did not start: {e:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let addrs: Vec<std::net::SocketAddr> = servers.iter().map(|s| s.client().addr()).collect();
    let client = servers[0].client();
    let ingest: Vec<traffic::Fields> = (0..o.messages)
        .map(|n| fields("m", n, &senders, &mut rng))
        .collect();
    let bodies: Vec<Vec<u8>> = ingest.iter().map(traffic::Fields::json).collect();
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(
        bodies
            .iter()
            .map(|b| webhook_request(b, &sign(b)))
            .collect(),
    );
    // The ceiling: the same requests to a server that only verifies them.
    let verify_only_rate = {
        let ceiling = verify_only::VerifyOnly::start(testkit::SECRET)?;
        let r = load::run(&[ceiling.addr()], &requests, o.concurrency, deadline);
        report.phase("verify-only actix (ceiling)", &r, Some(200));
        r.rate()
    };
    let r = load::run(&addrs, &requests, o.concurrency, deadline);
    report.phase("ingest (unique, signed)", &r, Some(200));
    let ingest_rate = r.rate();
    let acknowledged: HashSet<&str> = r
        .ok_indexes
        .iter()
        .map(|&i| ingest[i].id.as_str())
        .collect();
    let ingest_row = report.rows.last().cloned().unwrap_or_default();

    // 2b. Every read shape at the ingest's concurrency, right after the
    // burst, on what it stored: cheap shapes must not queue behind `q`.
    let after_burst = {
        let top = client.get("/stats").map_err(|e| e.to_string())?.json()["messages_per_sender"][0]
            ["from"]
            .as_str()
            .unwrap_or("+1")
            .replace('+', "%2B");
        let vocabulary = traffic::vocabulary();
        let n = (o.reads / 2).max(1);
        let shapes: Vec<(&str, bool, Vec<String>)> = vec![
            (
                "burst read: first page",
                true,
                vec!["/messages?limit=50".to_owned(); n],
            ),
            (
                "burst read: from=",
                true,
                vec![format!("/messages?from={top}"); n],
            ),
            ("burst read: /stats", true, vec!["/stats".to_owned(); n]),
            (
                "burst read: since= (half)",
                false,
                vec!["/messages?since=2025-07-02T00:00:00Z".to_owned(); n],
            ),
            (
                "burst read: q= (50 words)",
                false,
                (0..n)
                    .map(|i| format!("/messages?q={}", vocabulary.word(300 + i % 50)))
                    .collect(),
            ),
        ];
        let mut worst_cheap: f64 = 0.0;
        let mut worst: f64 = 0.0;
        for (name, cheap, targets) in shapes {
            let requests: Arc<Vec<Vec<u8>>> =
                Arc::new(targets.iter().map(|t| get_request(t)).collect());
            let r = load::run(&addrs, &requests, o.concurrency, deadline);
            report.phase(name, &r, Some(200));
            let p99 = r.percentile_ms(99.0);
            worst = worst.max(p99);
            if cheap {
                worst_cheap = worst_cheap.max(p99);
            }
        }
        println!(
            "reads at concurrency {} after the burst: worst p99 {worst:.2} ms, cheap shapes {worst_cheap:.2} ms",
            o.concurrency
        );
        json!({"worst_p99_ms": worst, "worst_cheap_p99_ms": worst_cheap})
    };

    // 3. Replays, forgeries, invalid bodies.
    let r = load::run(&addrs, &requests, o.concurrency, deadline);
    report.phase("replay (duplicates)", &r, Some(200));
    let forged: Arc<Vec<Vec<u8>>> = Arc::new(
        bodies
            .iter()
            .cycle()
            .take(o.rejects)
            .map(|b| webhook_request(b, &"0".repeat(64)))
            .collect(),
    );
    let r = load::run(&addrs, &forged, o.concurrency, deadline);
    report.phase("bad signature", &r, Some(401));
    let invalid: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..o.rejects)
            .map(|n| {
                let b = json!({"message_id": format!("bad-{n}"), "from": "12345", "to": "+1", "ts": "2025-02-30T00:00:00Z"});
                let b = serde_json::to_vec(&b).unwrap_or_default();
                webhook_request(&b, &sign(&b))
            })
            .collect(),
    );
    let r = load::run(&addrs, &invalid, o.concurrency, deadline);
    report.phase("invalid body", &r, Some(422));

    // 4. Consistency: total, stats and the acknowledged set agree exactly.
    let total = client
        .get("/messages?limit=1")
        .map_err(|e| e.to_string())?
        .json()["total"]
        .as_u64();
    let stats = client.get("/stats").map_err(|e| e.to_string())?.json();
    let expected = acknowledged.len() as u64;
    report.check(
        total == Some(expected),
        format!("/messages total {total:?} != acknowledged {expected}"),
    );
    report.check(
        stats["total_messages"].as_u64() == Some(expected),
        format!(
            "/stats total_messages {} != acknowledged {expected}",
            stats["total_messages"]
        ),
    );
    let walked = walk_ids(client, deadline)?;
    let walked_set: HashSet<&str> = walked.iter().map(String::as_str).collect();
    report.check(
        walked.len() == walked_set.len(),
        "keyset walk returned an id twice".to_owned(),
    );
    report.check(
        walked_set == acknowledged,
        format!(
            "stored ids ({}) != acknowledged ids ({})",
            walked_set.len(),
            acknowledged.len()
        ),
    );
    println!(
        "verify: total={total:?} stats={} walked={} acknowledged={expected}",
        stats["total_messages"],
        walked.len()
    );
    let ingest_rss = peak_rss_mb(servers[0].pid());
    for server in &mut servers {
        server.terminate();
    }

    // 5. Seed to the target size through the adapter, then time a restart.
    // Directly through the adapter, not the port: `insert_many` (not on the
    // port) commits 5,000 rows a transaction, so a million rows take seconds
    // instead of minutes; the HTTP path was measured in step 2.
    let seed_start = Instant::now();
    let mut seeded = expected;
    let mut n = 0;
    let mut chunks = std::iter::from_fn(|| {
        if seeded >= o.seed_rows || seed_start.elapsed() > Duration::from_secs(o.max_seconds * 5) {
            return None;
        }
        let chunk: Vec<domain::Message> = (0..5000.min(o.seed_rows - seeded))
            .filter_map(|_| {
                n += 1;
                fields("s", n, &senders, &mut rng).message()
            })
            .collect();
        seeded += chunk.len() as u64;
        Some(chunk)
    });
    let mut index_secs = 0.0;
    match &database_url {
        None => {
            let store = SqliteStore::open(&SqliteConfig::new(dir.path().join("hookbox.db")))
                .map_err(|e| e.to_string())?;
            for chunk in chunks.by_ref() {
                store.insert_many(chunk).map_err(|e| e.to_string())?;
            }
            let index_start = Instant::now();
            let caught_up = store
                .wait_for_search_index(Duration::from_secs(o.max_seconds * 10))
                .map_err(|e| e.to_string())?;
            report.check(caught_up, "the search index did not catch up".to_owned());
            index_secs = index_start.elapsed().as_secs_f64();
        }
        Some(url) => {
            // Seeding commits 5,000 rows a statement: give it time.
            let config = postgres_adapter::PostgresConfig::from_lookup(url, |name| match name {
                "SEARCH_INDEX" => Some(if o.search_index { "on" } else { "off" }.to_owned()),
                "POSTGRES_STATEMENT_TIMEOUT" => Some("120s".to_owned()),
                _ => None,
            })
            .map_err(|e| e.to_string())?;
            let store =
                postgres_adapter::PostgresStore::open(&config).map_err(|e| e.to_string())?;
            for chunk in chunks.by_ref() {
                store.insert_many(chunk).map_err(|e| e.to_string())?;
            }
            // Fresh statistics for the planner, as autovacuum would make.
            let mut client =
                postgres::Client::connect(url, postgres::NoTls).map_err(|e| e.to_string())?;
            client
                .batch_execute("VACUUM ANALYZE")
                .map_err(|e| e.to_string())?;
        }
    }
    let seed_secs = seed_start.elapsed().as_secs_f64();
    println!(
        "seed: {seeded} rows in {seed_secs:.1} s; search index caught up {index_secs:.1} s later"
    );
    let start = Instant::now();
    let servers: Vec<Server> = (0..replicas)
        .map(|_| {
            builder
                .clone()
                .without("PORT")
                .discard_stdout()
                .try_start()
                .map_err(|e| format!("hookbox did not restart: {e:?}"))
        })
        .collect::<Result<_, _>>()?;
    let server = &servers[0];
    let client = server.client();
    let addrs: Vec<std::net::SocketAddr> = servers.iter().map(|s| s.client().addr()).collect();
    while client.get("/health/ready").map(|r| r.status).unwrap_or(0) != 200 {
        if start.elapsed() > Duration::from_secs(30) {
            return Err("not ready 30 s after restart".to_owned());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let startup_ms = start.elapsed().as_secs_f64() * 1000.0;
    println!("start-up to ready at {seeded} rows: {startup_ms:.0} ms");

    // 6. The read mix.
    let top_sender = client.get("/stats").map_err(|e| e.to_string())?.json()["messages_per_sender"]
        [0]["from"]
        .as_str()
        .unwrap_or("+1")
        .replace('+', "%2B");
    let half = "2025-07-02T00:00:00Z";
    // A word of middling frequency (rank 300 of 5,000: in about 0.5 % of texts).
    // `q=`: 50 words of middling frequency (ranks 300-349, each in about
    // 0.3 % of texts), repeated as popular searches are; and a different
    // word for every request (ranks 200 on), none seen before.
    let vocabulary = traffic::vocabulary();
    let popular: Vec<&str> = (300..350).map(|rank| vocabulary.word(rank)).collect();
    println!("q= searches for {:?} …", &popular[..3]);
    let mut read_rng = Rng::new(7);
    let deep_floor = 100_000.min(seeded / 2);
    let shapes: Vec<(&str, Vec<String>)> = vec![
        (
            "read: first page",
            (0..o.reads)
                .map(|_| "/messages?limit=50".to_owned())
                .collect(),
        ),
        (
            "read: offset > 100k",
            (0..o.reads)
                .map(|_| {
                    format!(
                        "/messages?limit=50&offset={}",
                        deep_floor + read_rng.below(seeded.saturating_sub(deep_floor + 50).max(1))
                    )
                })
                .collect(),
        ),
        (
            "read: from=",
            (0..o.reads)
                .map(|_| format!("/messages?from={top_sender}"))
                .collect(),
        ),
        (
            "read: since= (half)",
            (0..o.reads)
                .map(|_| format!("/messages?since={half}"))
                .collect(),
        ),
        (
            "read: q= (50 words)",
            (0..o.reads)
                .map(|i| format!("/messages?q={}", popular[i % popular.len()]))
                .collect(),
        ),
        (
            "read: q= (new word each)",
            (0..o.reads)
                .map(|i| format!("/messages?q={}", vocabulary.word(200 + i % 4800)))
                .collect(),
        ),
        (
            "read: from+since+q",
            (0..o.reads)
                .map(|_| format!("/messages?from={top_sender}&since={half}&q=hello"))
                .collect(),
        ),
        (
            "read: keyset page",
            (0..o.reads)
                .filter_map(|_| {
                    let m = fields("s", 1 + read_rng.below(n.max(1)), &senders, &mut read_rng)
                        .message()?;
                    Some(format!(
                        "/messages?limit=50&cursor={}",
                        Cursor::after(&m).to_token()
                    ))
                })
                .collect(),
        ),
        (
            "read: /stats",
            (0..o.reads).map(|_| "/stats".to_owned()).collect(),
        ),
    ];
    let mut reads = Vec::new();
    for (name, targets) in shapes {
        let requests: Arc<Vec<Vec<u8>>> =
            Arc::new(targets.iter().map(|t| get_request(t)).collect());
        let r = load::run(&addrs, &requests, o.read_concurrency, deadline);
        report.phase(name, &r, Some(200));
        reads.push(report.rows.last().cloned().unwrap_or_default());
    }
    let read_rss = peak_rss_mb(server.pid());
    let db_bytes = match &database_url {
        None => dir_size(dir.path()),
        Some(url) => postgres_direct::database_bytes(url),
    };
    let db_mb = db_bytes as f64 / 1_048_576.0;
    println!("peak RSS: ingest {ingest_rss:.1} MB, reads {read_rss:.1} MB; database {db_mb:.0} MB");
    println!(
        "ingest {ingest_rate:.0}/s = {:.2} x the adapter's {adapter_rate:.0} rows/s",
        ingest_rate / adapter_rate.max(1e-9)
    );
    println!(
        "ingest {ingest_rate:.0}/s = {:.2} x the verify-only actix server's {verify_only_rate:.0}/s",
        ingest_rate / verify_only_rate.max(1e-9)
    );
    if let Some(ceiling) = ceiling {
        println!(
            "ingest {ingest_rate:.0}/s = {:.2} x PostgreSQL's own {ceiling:.0} rows/s ({replicas} replica(s))",
            ingest_rate / ceiling.max(1e-9)
        );
    }
    drop(servers);

    // 7. Ingest while retention purges the seeded rows: the same load
    // without purging first (the baseline), then with RETENTION=1s, which
    // makes every seeded row old enough to go.
    let mut purge_load =
        |name: &str, prefix: &str, retention: Option<&str>| -> Result<(f64, f64, u64), String> {
            let mut b = builder.clone().without("PORT").discard_stdout();
            if let Some(r) = retention {
                b = b.env("RETENTION", r);
            }
            let server = b
                .try_start()
                .map_err(|e| format!("hookbox did not start: {e:?}"))?;
            let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
                (0..o.messages)
                    .map(|n| {
                        let b = fields(prefix, n, &senders, &mut rng).json();
                        webhook_request(&b, &sign(&b))
                    })
                    .collect(),
            );
            let r = load::run(&[server.client().addr()], &bodies, o.concurrency, deadline);
            report.phase(name, &r, Some(200));
            let metrics = server
                .client()
                .get("/metrics")
                .map_err(|e| e.to_string())?
                .text();
            let purged = metrics
                .lines()
                .find(|l| l.starts_with("hookbox_purged_messages_total "))
                .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .unwrap_or(0.0);
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a count"
            )]
            Ok((r.percentile_ms(99.0), r.rate(), purged as u64))
        };
    let (p99_plain, _, _) = purge_load("ingest, no purge (baseline)", "b", None)?;
    let (p99_purging, _, purged) = purge_load("ingest while purging", "p", Some("1s"))?;
    let purge_ratio = p99_purging / p99_plain.max(1e-9);
    println!(
        "ingest p99 while purging {p99_purging:.2} ms = {purge_ratio:.2} x without ({p99_plain:.2} ms); {purged} rows purged meanwhile"
    );
    if let Some(keep) = &o.keep_db {
        keep_files(dir.path(), std::path::Path::new(keep))?;
        println!("database files copied to {keep}");
    }

    let result = json!({
        "options": {"messages": o.messages, "concurrency": o.concurrency, "senders": o.senders,
                    "seed_rows": o.seed_rows, "read_concurrency": o.read_concurrency, "reads": o.reads},
        "cores": std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        "adapter_rows_per_second": adapter_rate,
        "ingest": ingest_row,
        "ingest_to_adapter_ratio": ingest_rate / adapter_rate.max(1e-9),
        "verify_only_per_second": verify_only_rate,
        "after_burst_reads": after_burst,
        "purge": {"ingest_p99_ms_without": p99_plain, "ingest_p99_ms_while_purging": p99_purging,
                  "ratio": purge_ratio, "rows_purged_during_ingest": purged},
        "ingest_to_verify_only_ratio": ingest_rate / verify_only_rate.max(1e-9),
        "store": if database_url.is_some() { "postgres" } else { "sqlite" },
        "replicas": replicas,
        "postgres_batched_insert_rows_per_second": ceiling,
        "ingest_to_postgres_ratio": ceiling.map(|c| ingest_rate / c.max(1e-9)),
        "phases": report.rows,
        "reads": reads,
        "rows_for_reads": seeded,
        "startup_to_ready_ms": startup_ms,
        "peak_rss_mb": {"ingest": ingest_rss, "reads": read_rss},
        "database_mb": db_mb,
        "failures": report.failures,
    });
    Ok((report.failures, result))
}

/// Rows per second `threads` callers get inserting `messages` one by one
/// through the port (as many threads as HTTP would use).
fn adapter_insert_rate(
    store: &Arc<dyn MessageStore>,
    messages: &Arc<Vec<domain::Message>>,
    threads: usize,
    deadline: Duration,
) -> Result<f64, String> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (store, msgs, next) = (Arc::clone(store), Arc::clone(messages), Arc::clone(&next));
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= msgs.len() || start.elapsed() > deadline {
                        break;
                    }
                    let _ = store.insert(msgs[i].clone());
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    let elapsed = start.elapsed();
    let rows = store.stats().map_err(|e| e.to_string())?.total_messages;
    #[expect(clippy::cast_precision_loss, reason = "row counts")]
    Ok(rows as f64 / elapsed.as_secs_f64())
}

/// Runs the scenario `--runs` times; with more than one run, every figure
/// is reported as its median over the runs (ratios are taken within each
/// run first), and the JSON keeps each run too.
fn run_many(o: &Options) -> Result<Vec<String>, String> {
    let mut failures = Vec::new();
    let mut runs = Vec::new();
    for i in 0..o.runs.max(1) {
        if o.runs > 1 {
            println!("\n== run {} of {}", i + 1, o.runs);
        }
        let (f, result) = run(o)?;
        failures.extend(f);
        runs.push(result);
    }
    let report = if runs.len() == 1 {
        runs.pop().unwrap_or_default()
    } else {
        let median = median_of(&runs.iter().collect::<Vec<_>>());
        print_medians(&median, runs.len());
        json!({"runs": runs, "median": median})
    };
    write_report(&o.out, &report)?;
    Ok(failures)
}

/// The element-wise median of reports of the same shape: numbers become
/// their median, objects and arrays are matched by key and position.
fn median_of(values: &[&Value]) -> Value {
    match values.first() {
        Some(Value::Object(first)) => Value::Object(
            first
                .keys()
                .map(|k| {
                    let column: Vec<&Value> = values.iter().filter_map(|v| v.get(k)).collect();
                    (k.clone(), median_of(&column))
                })
                .collect(),
        ),
        Some(Value::Array(first)) => Value::Array(
            (0..first.len())
                .map(|i| median_of(&values.iter().filter_map(|v| v.get(i)).collect::<Vec<_>>()))
                .collect(),
        ),
        Some(Value::Number(_)) => {
            let mut nums: Vec<f64> = values.iter().filter_map(|v| v.as_f64()).collect();
            nums.sort_by(f64::total_cmp);
            let mid = nums.len() / 2;
            let m = if nums.len() % 2 == 1 {
                nums[mid]
            } else {
                f64::midpoint(nums[mid - 1], nums[mid])
            };
            json!(m)
        }
        Some(other) => (*other).clone(),
        None => Value::Null,
    }
}

fn print_medians(m: &Value, runs: usize) {
    println!("\n== medians of {runs} runs");
    println!(
        "{:<28} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8}",
        "phase", "requests", "per sec", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for row in m["phases"].as_array().into_iter().flatten() {
        let f = |k: &str| row[k].as_f64().unwrap_or(f64::NAN);
        println!(
            "{:<28} {:>8.0} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            row["phase"].as_str().unwrap_or("?"),
            f("requests"),
            f("per_second"),
            f("p50_ms"),
            f("p95_ms"),
            f("p99_ms"),
            f("max_ms")
        );
    }
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    println!(
        "adapter insert {:.0} rows/s; ingest/adapter ratio {:.2}; start-up to ready {:.0} ms",
        f(&m["adapter_rows_per_second"]),
        f(&m["ingest_to_adapter_ratio"]),
        f(&m["startup_to_ready_ms"])
    );
    println!(
        "reads right after the burst: worst p99 {:.2} ms, cheap shapes {:.2} ms",
        f(&m["after_burst_reads"]["worst_p99_ms"]),
        f(&m["after_burst_reads"]["worst_cheap_p99_ms"])
    );
    println!(
        "ingest p99 while purging / without: {:.2}; rows purged meanwhile {:.0}",
        f(&m["purge"]["ratio"]),
        f(&m["purge"]["rows_purged_during_ingest"])
    );
    println!(
        "verify-only actix {:.0}/s; ingest/verify-only ratio {:.2}",
        f(&m["verify_only_per_second"]),
        f(&m["ingest_to_verify_only_ratio"])
    );
    println!(
        "peak RSS: ingest {:.1} MB, reads {:.1} MB; database {:.0} MB",
        f(&m["peak_rss_mb"]["ingest"]),
        f(&m["peak_rss_mb"]["reads"]),
        f(&m["database_mb"])
    );
}

fn run_soak(o: &Options, seconds: u64) -> Result<Vec<String>, String> {
    let mut rng = Rng::new(7);
    let senders = Senders::new(o.senders, &mut rng);
    println!(
        "soak: {seconds} s at concurrency {}, 70 % writes (10 % of them replays), 30 % reads",
        o.concurrency
    );
    let r = soak::run(seconds, o.concurrency, &senders, o.soak_ids)?;
    #[expect(clippy::cast_precision_loss, reason = "request counts")]
    let rate = r.requests as f64 / r.elapsed.as_secs_f64();
    let server_errors: u64 = r
        .statuses
        .iter()
        .filter(|(s, _)| **s >= 500)
        .map(|(_, n)| n)
        .sum();
    let half = r.rss.len() / 2;
    let peak = |xs: &[(f64, f64)]| xs.iter().map(|x| x.1).fold(0.0, f64::max);
    let (first_half, second_half) = (peak(&r.rss[..half.max(1)]), peak(&r.rss[half..]));
    println!(
        "requests {} in {:.0} s ({rate:.0}/s), statuses {:?}, io errors {}",
        r.requests,
        r.elapsed.as_secs_f64(),
        r.statuses,
        r.io_errors
    );
    println!(
        "RSS MB: peak first half {first_half:.1}, peak second half {second_half:.1}, last {:.1}",
        r.rss.last().map_or(0.0, |x| x.1)
    );
    let result = json!({
        "soak_seconds": r.elapsed.as_secs_f64(), "concurrency": o.concurrency, "requests": r.requests,
        "soak_ids": o.soak_ids,
        "per_second": rate,
        "statuses": r.statuses.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "io_errors": r.io_errors, "rss_mb": r.rss,
        "rss_peak_first_half_mb": first_half, "rss_peak_second_half_mb": second_half,
    });
    write_report(&o.out, &result)?;
    let mut failures = Vec::new();
    if server_errors > 0 {
        failures.push(format!("{server_errors} responses were 5xx"));
    }
    if r.io_errors > 0 {
        failures.push(format!("{} requests failed at the connection", r.io_errors));
    }
    Ok(failures)
}

/// Writes a JSON report, creating its folder.
fn write_report(path: &str, report: &Value) -> Result<(), String> {
    if let Some(parent) = std::path::Path::new(path).parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(path, serde_json::to_vec_pretty(report).unwrap_or_default())
        .map_err(|e| format!("{path}: {e}"))?;
    println!("report: {path}");
    Ok(())
}

/// Every stored id, walking keyset pages of 100.
fn walk_ids(client: Client, deadline: Duration) -> Result<Vec<String>, String> {
    let start = Instant::now();
    let mut ids = Vec::new();
    let mut target = "/messages?limit=100".to_owned();
    loop {
        let r = client.get(&target).map_err(|e| e.to_string())?;
        let page = r.json();
        for m in page["data"].as_array().into_iter().flatten() {
            ids.push(m["message_id"].as_str().unwrap_or_default().to_owned());
        }
        match r.header("x-next-cursor") {
            Some(c) if start.elapsed() < deadline => {
                target = format!("/messages?limit=100&cursor={c}")
            }
            _ => return Ok(ids),
        }
    }
}

/// Copies the files of `from` (the database and its WAL) into `to`.
fn keep_files(from: &std::path::Path, to: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if let Some(name) = path.file_name()
            && path.is_file()
        {
            std::fs::copy(&path, to.join(name)).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len())
        .sum()
}
