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
    rows.extend(super::searching::beside_cheap_reads(ctx, addrs[0]));
    check_targets(ctx, &rows);
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
    let stored =
        |rng: &mut Rng| fields("s", 1 + rng.below(seeded.made.max(1)), &ctx.senders, rng).message();
    let cursors: Vec<String> = (0..reads)
        .filter_map(|_| Some(Cursor::after(&stored(&mut rng)?).to_token()))
        .collect();
    let keyset = |order: &str| -> Vec<String> {
        cursors
            .iter()
            .map(|c| format!("/messages?limit=50{order}&cursor={c}"))
            .collect()
    };
    let by_id: Vec<String> = (0..reads)
        .filter_map(|_| Some(format!("/messages/{}", stored(&mut rng)?.id().as_str())))
        .collect();
    Ok(vec![
        ("read: first page", repeat("/messages?limit=50".to_owned())),
        // Each newest-first shape right after its oldest-first twin: the
        // two are compared, so they run in the same cache state.
        (
            "read: first page desc",
            repeat("/messages?limit=50&order=desc".to_owned()),
        ),
        ("read: offset > 100k", deep),
        (
            "read: from=",
            repeat(format!("/messages?from={top_sender}")),
        ),
        (
            "read: since= (half)",
            repeat(format!("/messages?since={half}")),
        ),
        // Each word's first search at this size (its matches are looked
        // up and kept), apart from the repeated ones the target is about.
        (
            "read: q= (50 words), first sight",
            popular.iter().map(|w| format!("/messages?q={w}")).collect(),
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
        ("read: keyset page", keyset("")),
        ("read: keyset page desc", keyset("&order=desc")),
        ("read: by id", by_id),
        ("read: conversations", repeat("/conversations".to_owned())),
        (
            "read: feed q= (rare word), first sight",
            super::searching::rare_feed_targets(super::searching::RARE_WORDS),
        ),
        (
            "read: feed q= (rare word)",
            super::searching::rare_feed_targets(reads),
        ),
        ("read: /stats", repeat("/stats".to_owned())),
    ])
}

/// The read side's targets: by id p99 <= 5 ms, a repeated rare word on
/// the feed p99 <= 50 ms, conversations' first page p99 <= 10 ms, and
/// newest-first pages as fast as oldest-first (p99 within 1.2x).
fn check_targets(ctx: &mut Ctx<'_>, rows: &[Phase]) {
    if ctx.o.quick {
        // A debug build at a few thousand rows: the figures are not the
        // targets' (`just bench` measures those).
        return;
    }
    let p99 = |name: &str| {
        rows.iter()
            .find(|r| r.phase == name)
            .map_or(f64::NAN, |r| r.p99_ms)
    };
    let by_id = p99("read: by id");
    ctx.report
        .check(by_id <= 5.0, format!("by id p99 {by_id:.2} ms > 5 ms"));
    let rare = p99("read: feed q= (rare word)");
    ctx.report.check(
        rare <= 50.0,
        format!("a rare word on the feed p99 {rare:.2} ms > 50 ms"),
    );
    let conversations = p99("read: conversations");
    ctx.report.check(
        conversations <= 10.0,
        format!("conversations p99 {conversations:.2} ms > 10 ms"),
    );
    for (asc, desc) in [
        ("read: first page", "read: first page desc"),
        ("read: keyset page", "read: keyset page desc"),
    ] {
        let ratio = p99(desc) / p99(asc).max(0.05);
        println!("{desc} p99 = {ratio:.2} x {asc}");
        ctx.report.check(
            ratio <= 1.2 || p99(desc) - p99(asc) < 0.5,
            format!("{desc} p99 is {ratio:.2} x {asc}'s (> 1.2)"),
        );
    }
}
