//! Ingest over HTTP: the verify-only ceiling, unique signed webhooks at
//! the ingest's concurrency, every read shape right after the burst,
//! replays, forgeries and invalid bodies, and the exact consistency check.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::json;
use tempfile::TempDir;
use testkit::{Server, ServerBuilder, sign};

use super::context::Ctx;
use crate::files::{dir_size, peak_rss_mb};
use crate::report::{AfterBurst, Phase};
use crate::requests::{get_request, walk_ids, webhook_request};
use crate::traffic::{self, fields};
use crate::{load, verify_only};

/// What ingest left for the later scenarios.
pub(super) struct Ingested {
    /// The database folder (SQLite) the servers ran in.
    pub(super) dir: Arc<TempDir>,
    /// How the servers were started, to start them again.
    pub(super) builder: ServerBuilder,
    /// The PostgreSQL database, on PostgreSQL.
    pub(super) database_url: Option<String>,
    pub(super) replicas: usize,
    /// Unique webhooks per second.
    pub(super) rate: f64,
    pub(super) row: Option<Phase>,
    pub(super) verify_only_rate: f64,
    pub(super) after_burst: AfterBurst,
    /// Messages acknowledged with 200 (all stored exactly once).
    pub(super) stored: u64,
    pub(super) rss_mb: f64,
    /// Bytes the servers wrote to disk per acknowledged row.
    pub(super) disk_bytes_per_row: f64,
    /// The store's size on disk per row right after ingest.
    pub(super) stored_bytes_per_row: f64,
    /// WAL bytes the writer appended per stored row (SQLite).
    pub(super) wal_bytes_per_row: Option<f64>,
    /// The servers' CPU time per stored row, in µs.
    pub(super) cpu_us_per_row: f64,
    /// The PostgreSQL server's (on this machine), and the load generator's.
    pub(super) postgres_cpu_us_per_row: Option<f64>,
    pub(super) load_cpu_us_per_row: f64,
    /// PostgreSQL: connections per replica under load and idle.
    pub(super) connections: Option<super::connections::Connections>,
    /// How the writers committed during the ingest.
    pub(super) commits: super::commits::Commits,
    /// The same ingest with `KEEP_RAW=off` and on `--compare-bin`.
    pub(super) variants: Vec<crate::report::Variant>,
}

pub(super) fn run(ctx: &mut Ctx<'_>) -> Result<Ingested, String> {
    let o = ctx.o;
    let dir = Arc::new(tempfile::tempdir().map_err(|e| e.to_string())?);
    let database_url = o
        .database_url
        .as_deref()
        .map(testkit::postgres::create_database);
    let mut builder = o.with_server_env(
        Server::builder()
            .in_dir(Arc::clone(&dir))
            .env("SEARCH_INDEX", if o.search_index { "on" } else { "off" })
            .discard_stdout(),
    );
    if let Some(url) = &database_url {
        builder = builder.env("DATABASE_URL", url);
    }
    let replicas = if database_url.is_some() {
        o.replicas.max(1)
    } else {
        1
    };
    let mut servers = start(&builder, replicas)?;
    let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.client().addr()).collect();
    let ingest: Vec<traffic::Fields> = (0..o.messages)
        .map(|n| fields("m", n, &ctx.senders, &mut ctx.rng))
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
        let r = load::run(&[ceiling.addr()], &requests, o.concurrency, ctx.deadline);
        ctx.report
            .phase("verify-only actix (ceiling)", &r, Some(200));
        r.rate()
    };
    let sampler = database_url
        .as_deref()
        .map(super::connections::Sampler::start);
    let (r, bytes) = super::spent::measured_load(&servers, &addrs, &requests, ctx);
    ctx.report.phase("ingest (unique, signed)", &r, Some(200));
    // Taken before the variants add their own phases.
    let row = ctx.report.rows.last().cloned();
    let rate = r.rate();
    let size = match &database_url {
        None => dir_size(dir.path()),
        Some(url) => crate::postgres_direct::database_bytes(url),
    };
    let cost = bytes.per_row(r.count(200), size);
    cost.print(database_url.is_some());
    bytes.commits.print("ingest");
    check_commits(ctx, &bytes.commits, database_url.is_some());
    if database_url.is_some() {
        check_server_cost(ctx, cost.wal, cost.postgres_cpu);
    }
    let variants = super::variants::run(ctx, &requests, rate)?;
    let acknowledged: HashSet<&str> = r
        .ok_indexes
        .iter()
        .map(|&i| ingest[i].id.as_str())
        .collect();
    let after_burst = reads_after_burst(ctx, &servers[0], &addrs)?;
    rejects(ctx, &addrs, &requests, &bodies);
    check_consistency(ctx, &servers[0], &acknowledged)?;
    let connections = sampler
        .zip(database_url.as_deref())
        .map(|(s, url)| s.finish(url, replicas));
    let rss_mb = peak_rss_mb(servers[0].pid());
    for server in &mut servers {
        server.terminate();
    }
    Ok(Ingested {
        dir,
        builder,
        database_url,
        replicas,
        rate,
        row,
        verify_only_rate,
        after_burst,
        stored: acknowledged.len() as u64,
        rss_mb,
        disk_bytes_per_row: cost.disk,
        wal_bytes_per_row: cost.wal,
        cpu_us_per_row: cost.cpu,
        postgres_cpu_us_per_row: cost.postgres_cpu,
        load_cpu_us_per_row: cost.load_cpu,
        stored_bytes_per_row: cost.stored,
        variants,
        connections,
        commits: bytes.commits,
    })
}

/// `replicas` servers from `builder`, each on a port of its own.
pub(super) fn start(builder: &ServerBuilder, replicas: usize) -> Result<Vec<Server>, String> {
    (0..replicas)
        .map(|_| {
            builder
                .clone()
                .without("PORT")
                .discard_stdout()
                .try_start()
                .map_err(|e| format!("hookbox did not start: {e:?}"))
        })
        .collect()
}

/// Every read shape at the ingest's concurrency, right after the burst, on
/// what it stored: cheap shapes must not queue behind `q`.
fn reads_after_burst(
    ctx: &mut Ctx<'_>,
    server: &Server,
    addrs: &[SocketAddr],
) -> Result<AfterBurst, String> {
    let o = ctx.o;
    let top = server
        .client()
        .get("/stats")
        .map_err(|e| e.to_string())?
        .json()["messages_per_sender"][0]["from"]
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
    let mut burst = AfterBurst::default();
    for (name, cheap, targets) in shapes {
        let requests: Arc<Vec<Vec<u8>>> =
            Arc::new(targets.iter().map(|t| get_request(t)).collect());
        let r = load::run(addrs, &requests, o.concurrency, ctx.deadline);
        ctx.report.phase(name, &r, Some(200));
        let p99 = r.percentile_ms(99.0);
        burst.worst_p99_ms = burst.worst_p99_ms.max(p99);
        if cheap {
            burst.worst_cheap_p99_ms = burst.worst_cheap_p99_ms.max(p99);
        }
    }
    println!(
        "reads at concurrency {} after the burst: worst p99 {:.2} ms, cheap shapes {:.2} ms",
        o.concurrency, burst.worst_p99_ms, burst.worst_cheap_p99_ms
    );
    Ok(burst)
}

/// Replays, forgeries, invalid bodies: each answered as the contract says.
fn rejects(
    ctx: &mut Ctx<'_>,
    addrs: &[SocketAddr],
    requests: &Arc<Vec<Vec<u8>>>,
    bodies: &[Vec<u8>],
) {
    let o = ctx.o;
    let r = load::run(addrs, requests, o.concurrency, ctx.deadline);
    ctx.report.phase("replay (duplicates)", &r, Some(200));
    let forged: Arc<Vec<Vec<u8>>> = Arc::new(
        bodies
            .iter()
            .cycle()
            .take(o.rejects)
            .map(|b| webhook_request(b, &"0".repeat(64)))
            .collect(),
    );
    let r = load::run(addrs, &forged, o.concurrency, ctx.deadline);
    ctx.report.phase("bad signature", &r, Some(401));
    let invalid: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..o.rejects)
            .map(|n| {
                let b = json!({"message_id": format!("bad-{n}"), "from": "12345", "to": "+1", "ts": "2025-02-30T00:00:00Z"});
                let b = serde_json::to_vec(&b).unwrap_or_default();
                webhook_request(&b, &sign(&b))
            })
            .collect(),
    );
    let r = load::run(addrs, &invalid, o.concurrency, ctx.deadline);
    ctx.report.phase("invalid body", &r, Some(422));
}

/// Total, stats and the acknowledged set agree exactly.
/// On PostgreSQL the server's costs are measured, not assumed: its WAL
/// moved (every stored row writes some), and a server on this machine
/// used CPU for the rows.
/// The commits were counted; on PostgreSQL, the writers were sampled.
fn check_commits(ctx: &mut Ctx<'_>, commits: &super::commits::Commits, on_postgres: bool) {
    ctx.report.check(
        commits.commits > 0,
        "the ingest's commits were not counted (hookbox_commit_batch_size)".to_owned(),
    );
    if on_postgres {
        let writers = commits.writers;
        ctx.report.check(
            writers.is_some_and(|w| w.busy > 0.0),
            format!("PostgreSQL's writers were never seen in a batch: {writers:?}"),
        );
    }
}

fn check_server_cost(ctx: &mut Ctx<'_>, wal: Option<f64>, cpu: Option<f64>) {
    ctx.report.check(
        wal.is_some_and(|w| w > 0.0),
        format!("PostgreSQL's WAL per stored row was not measured: {wal:?}"),
    );
    let local = ctx
        .o
        .database_url
        .as_deref()
        .is_some_and(crate::postgres_cost::is_local);
    ctx.report.check(
        !local || cpu.is_some_and(|c| c > 0.0),
        format!(
            "the local PostgreSQL server's CPU per stored row was not measured: {cpu:?} \
             (None: no `postgres` process is visible here)"
        ),
    );
}

fn check_consistency(
    ctx: &mut Ctx<'_>,
    server: &Server,
    acknowledged: &HashSet<&str>,
) -> Result<(), String> {
    let client = server.client();
    let total = client
        .get("/messages?limit=1")
        .map_err(|e| e.to_string())?
        .json()["total"]
        .as_u64();
    let stats = client.get("/stats").map_err(|e| e.to_string())?.json();
    let expected = acknowledged.len() as u64;
    let report = &mut ctx.report;
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
    let walked = walk_ids(client, ctx.deadline)?;
    let walked_set: HashSet<&str> = walked.iter().map(String::as_str).collect();
    report.check(
        walked.len() == walked_set.len(),
        "keyset walk returned an id twice".to_owned(),
    );
    report.check(
        walked_set == *acknowledged,
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
    Ok(())
}
