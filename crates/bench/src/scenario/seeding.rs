//! Seeding to the read size through the adapter, then a timed restart.
//! Directly through the adapter, not the port: `insert_many` (not on the
//! port) commits 5,000 rows a transaction, so a million rows take seconds
//! instead of minutes; the HTTP path was measured by ingest.

use std::time::{Duration, Instant};

use sqlite_adapter::{SqliteConfig, SqliteStore};
use testkit::Server;

use super::context::Ctx;
use super::ingest::{Ingested, start};
use crate::postgres_direct::pg_error;
use crate::traffic::fields;

/// The restarted servers on the seeded store.
pub(super) struct Seeded {
    pub(super) servers: Vec<Server>,
    /// Rows in the store.
    pub(super) rows: u64,
    /// How many seed messages were made (the keyset reads draw from them).
    pub(super) made: u64,
    pub(super) startup_ms: f64,
}

pub(super) fn run(ctx: &mut Ctx<'_>, ingested: &Ingested) -> Result<Seeded, String> {
    let o = ctx.o;
    let seed_start = Instant::now();
    let mut seeded = ingested.stored;
    let mut made = 0;
    let (senders, rng) = (&ctx.senders, &mut ctx.rng);
    let mut chunks = std::iter::from_fn(|| {
        if seeded >= o.seed_rows || seed_start.elapsed() > Duration::from_secs(o.max_seconds * 5) {
            return None;
        }
        let chunk: Vec<domain::Message> = (0..5000.min(o.seed_rows - seeded))
            .filter_map(|_| {
                made += 1;
                fields("s", made, senders, rng).message()
            })
            .collect();
        seeded += chunk.len() as u64;
        Some(chunk)
    });
    let mut index_secs = 0.0;
    match &ingested.database_url {
        None => {
            let path = ingested.dir.path().join("hookbox.db");
            let store = SqliteStore::open(&SqliteConfig::new(path)).map_err(|e| e.to_string())?;
            for chunk in chunks.by_ref() {
                store.insert_many(chunk).map_err(|e| e.to_string())?;
            }
            let index_start = Instant::now();
            let caught_up = store
                .wait_for_search_index(Duration::from_secs(o.max_seconds * 10))
                .map_err(|e| e.to_string())?;
            ctx.report
                .check(caught_up, "the search index did not catch up".to_owned());
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
                postgres::Client::connect(url, postgres::NoTls).map_err(|e| pg_error(&e))?;
            client
                .batch_execute("VACUUM ANALYZE")
                .map_err(|e| pg_error(&e))?;
        }
    }
    let seed_secs = seed_start.elapsed().as_secs_f64();
    println!(
        "seed: {seeded} rows in {seed_secs:.1} s; search index caught up {index_secs:.1} s later"
    );
    let start_at = Instant::now();
    let servers = start(&ingested.builder, ingested.replicas)?;
    let client = servers[0].client();
    while client.get("/health/ready").map(|r| r.status).unwrap_or(0) != 200 {
        if start_at.elapsed() > Duration::from_secs(30) {
            return Err("not ready 30 s after restart".to_owned());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let startup_ms = start_at.elapsed().as_secs_f64() * 1000.0;
    println!("start-up to ready at {seeded} rows: {startup_ms:.0} ms");
    Ok(Seeded {
        servers,
        rows: seeded,
        made,
        startup_ms,
    })
}
