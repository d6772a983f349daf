//! The ceilings HTTP ingest is measured against: the adapter alone, from
//! as many threads as HTTP will use, and on PostgreSQL the server's own
//! batched insert rate into the same schema.

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::MessageStore;
use sqlite_adapter::{SqliteConfig, SqliteStore};

use super::context::Ctx;
use crate::postgres_direct;
use crate::traffic::fields;

/// What the ceilings measured.
pub(super) struct Ceilings {
    /// Rows per second through the port, no HTTP.
    pub(super) adapter_rate: f64,
    /// PostgreSQL's own batched insert rate, on PostgreSQL.
    pub(super) postgres: Option<f64>,
    /// And what it cost the server per row.
    pub(super) postgres_cost: Option<postgres_direct::FloorCost>,
    /// The disk's floors, on SQLite.
    pub(super) floors: Option<super::floors::Floors>,
}

pub(super) fn measure(ctx: &mut Ctx<'_>) -> Result<Ceilings, String> {
    let o = ctx.o;
    let rows: Vec<(domain::Message, Vec<u8>)> = (0..o.messages)
        .filter_map(|n| {
            let f = fields("a", n, &ctx.senders, &mut ctx.rng);
            Some((f.message()?, f.json()))
        })
        .collect();
    let floors = match &o.database_url {
        None => {
            let config = SqliteConfig::from_lookup("sqlite:///floor.db", |k| o.server_setting(k))
                .map_err(|e| e.to_string())?;
            Some(super::floors::measure(&rows, config.page_size)?)
        }
        Some(_) => None,
    };
    let adapter_msgs: Arc<Vec<domain::Message>> =
        Arc::new(rows.into_iter().map(|(m, _)| m).collect());
    let adapter_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let adapter: Arc<dyn MessageStore> = match &o.database_url {
        None => {
            let url = format!(
                "sqlite:///{}",
                adapter_dir.path().join("adapter.db").display()
            );
            let config = SqliteConfig::from_lookup(&url, |k| o.server_setting(k))
                .map_err(|e| e.to_string())?;
            Arc::new(SqliteStore::open(&config).map_err(|e| e.to_string())?)
        }
        Some(admin) => Arc::new(postgres_direct::fresh_store(admin, o.search_index)?.0),
    };
    let adapter_rate = insert_rate(&adapter, &adapter_msgs, o.concurrency, ctx.deadline)?;
    println!(
        "{:<28} {:>8} {:>10.0}",
        "adapter insert (no HTTP)",
        adapter_msgs.len(),
        adapter_rate
    );
    drop(adapter);
    drop(adapter_dir);
    let postgres_cost = match &o.database_url {
        None => None,
        Some(admin) => {
            let cost = postgres_direct::batched_insert_rate(
                admin,
                o.search_index,
                &adapter_msgs,
                8,
                64,
                ctx.deadline,
            )?;
            println!(
                "{:<28} {:>8} {:>10.0}",
                "postgres alone (64-row tx)",
                adapter_msgs.len(),
                cost.rows_per_second
            );
            println!(
                "postgres alone: {:.0} WAL bytes per row; CPU per row: the server {}, its clients {:.0} us",
                cost.wal_bytes_per_row,
                cost.server_cpu_us_per_row
                    .map_or("unknown (not on this machine)".to_owned(), |c| format!(
                        "{c:.0} us"
                    )),
                cost.client_cpu_us_per_row
            );
            Some(cost)
        }
    };
    Ok(Ceilings {
        adapter_rate,
        postgres: postgres_cost.map(|c| c.rows_per_second),
        postgres_cost,
        floors,
    })
}

/// Rows per second `threads` callers get inserting `messages` one by one
/// through the port (as many threads as HTTP would use).
fn insert_rate(
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
