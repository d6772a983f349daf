//! The read mix at the seeded size: first pages, deep offsets, `from`,
//! `since`, `q` (repeated and new words), combined filters, keyset pages
//! and `/stats`, each at the read concurrency.

use std::net::SocketAddr;
use std::sync::Arc;

use domain::Cursor;

use super::context::Ctx;
use super::ingest::Ingested;
use super::seeding::Seeded;
use crate::files::{dir_size, peak_rss_mb};
use crate::report::Phase;
use crate::requests::get_request;
use crate::traffic::{self, Rng, fields};
use crate::{load, postgres_direct};

/// What the read mix measured.
pub(super) struct Reads {
    pub(super) rows: Vec<Phase>,
    pub(super) rows_for_reads: u64,
    pub(super) startup_ms: f64,
    pub(super) rss_mb: f64,
    pub(super) database_mb: f64,
}

pub(super) fn run(
    ctx: &mut Ctx<'_>,
    ingested: &Ingested,
    seeded: &Seeded,
) -> Result<Reads, String> {
    let o = ctx.o;
    let server = &seeded.servers[0];
    let addrs: Vec<SocketAddr> = seeded.servers.iter().map(|s| s.client().addr()).collect();
    let shapes = shapes(ctx, server, seeded)?;
    let mut rows = Vec::new();
    for (name, targets) in shapes {
        let requests: Arc<Vec<Vec<u8>>> =
            Arc::new(targets.iter().map(|t| get_request(t)).collect());
        let r = load::run(&addrs, &requests, o.read_concurrency, ctx.deadline);
        ctx.report.phase(name, &r, Some(200));
        rows.extend(ctx.report.rows.last().cloned());
    }
    let rss_mb = peak_rss_mb(server.pid());
    let db_bytes = match &ingested.database_url {
        None => dir_size(ingested.dir.path()),
        Some(url) => postgres_direct::database_bytes(url),
    };
    #[expect(clippy::cast_precision_loss, reason = "a size in MB")]
    let database_mb = db_bytes as f64 / 1_048_576.0;
    println!(
        "peak RSS: ingest {:.1} MB, reads {rss_mb:.1} MB; database {database_mb:.0} MB",
        ingested.rss_mb
    );
    Ok(Reads {
        rows,
        rows_for_reads: seeded.rows,
        startup_ms: seeded.startup_ms,
        rss_mb,
        database_mb,
    })
}

/// Each read shape with its request targets.
fn shapes(
    ctx: &Ctx<'_>,
    server: &testkit::Server,
    seeded: &Seeded,
) -> Result<Vec<(&'static str, Vec<String>)>, String> {
    let reads = ctx.o.reads;
    let top_sender = server
        .client()
        .get("/stats")
        .map_err(|e| e.to_string())?
        .json()["messages_per_sender"][0]["from"]
        .as_str()
        .unwrap_or("+1")
        .replace('+', "%2B");
    let half = "2025-07-02T00:00:00Z";
    // `q=`: 50 words of middling frequency (ranks 300-349, each in about
    // 0.3 % of texts), repeated as popular searches are; and a different
    // word for every request (ranks 200 on), none seen before.
    let vocabulary = traffic::vocabulary();
    let popular: Vec<&str> = (300..350).map(|rank| vocabulary.word(rank)).collect();
    println!("q= searches for {:?} …", &popular[..3]);
    let mut rng = Rng::new(7);
    let rows = seeded.rows;
    let deep_floor = 100_000.min(rows / 2);
    let repeat = |target: String| vec![target; reads];
    let deep: Vec<String> = (0..reads)
        .map(|_| {
            format!(
                "/messages?limit=50&offset={}",
                deep_floor + rng.below(rows.saturating_sub(deep_floor + 50).max(1))
            )
        })
        .collect();
    let keyset: Vec<String> = (0..reads)
        .filter_map(|_| {
            let m = fields(
                "s",
                1 + rng.below(seeded.made.max(1)),
                &ctx.senders,
                &mut rng,
            )
            .message()?;
            Some(format!(
                "/messages?limit=50&cursor={}",
                Cursor::after(&m).to_token()
            ))
        })
        .collect();
    Ok(vec![
        ("read: first page", repeat("/messages?limit=50".to_owned())),
        ("read: offset > 100k", deep),
        (
            "read: from=",
            repeat(format!("/messages?from={top_sender}")),
        ),
        (
            "read: since= (half)",
            repeat(format!("/messages?since={half}")),
        ),
        (
            "read: q= (50 words)",
            (0..reads)
                .map(|i| format!("/messages?q={}", popular[i % popular.len()]))
                .collect(),
        ),
        (
            "read: q= (new word each)",
            (0..reads)
                .map(|i| format!("/messages?q={}", vocabulary.word(200 + i % 4800)))
                .collect(),
        ),
        (
            "read: from+since+q",
            repeat(format!("/messages?from={top_sender}&since={half}&q=hello")),
        ),
        ("read: keyset page", keyset),
        ("read: /stats", repeat("/stats".to_owned())),
    ])
}
