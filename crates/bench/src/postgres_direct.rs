//! PostgreSQL's own batched insert rate into hookbox's schema: the ceiling
//! the PostgreSQL store's ingest is measured against, in the same run.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use domain::Message;
use postgres_adapter::{PostgresConfig, PostgresStore};

/// A store on a fresh database of the server `admin` names.
pub(crate) fn fresh_store(
    admin: &str,
    search_index: bool,
) -> Result<(PostgresStore, String), String> {
    let url = testkit::postgres::create_database(admin);
    let config = PostgresConfig::from_lookup(&url, |name| {
        (name == "SEARCH_INDEX").then(|| if search_index { "on" } else { "off" }.to_owned())
    })
    .map_err(|e| e.to_string())?;
    Ok((
        PostgresStore::open(&config).map_err(|e| e.to_string())?,
        url,
    ))
}

/// What PostgreSQL's own batched insert reached, and what it cost per
/// row: the WAL it wrote, and the CPU of the server (on this machine) and
/// of its clients (this process).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub(crate) struct FloorCost {
    pub(crate) rows_per_second: f64,
    pub(crate) wal_bytes_per_row: f64,
    pub(crate) server_cpu_us_per_row: Option<f64>,
    pub(crate) client_cpu_us_per_row: f64,
    /// Cores the server and its clients kept busy (CPU seconds over the
    /// elapsed time; on this machine).
    pub(crate) cores_busy: Option<f64>,
}

/// Rows per second that `clients` plain connections insert into a fresh
/// database with hookbox's schema, in transactions of `batch` rows (one
/// `INSERT … SELECT FROM unnest … ON CONFLICT DO NOTHING` each, as the
/// store's writer does, without its counters). Feed numbers (`seq`, which
/// the schema requires) come from a counter in this process, so the floor
/// pays none of the feed counter's row lock that hookbox's writers share.
pub(crate) fn batched_insert_rate(
    admin: &str,
    search_index: bool,
    messages: &Arc<Vec<Message>>,
    clients: usize,
    batch: usize,
    deadline: Duration,
) -> Result<FloorCost, String> {
    let (store, url) = fresh_store(admin, search_index)?;
    drop(store);
    let next = Arc::new(AtomicUsize::new(0));
    let seq = Arc::new(AtomicI64::new(0));
    let mark = crate::postgres_cost::mark(&url);
    let own_cpu = || crate::files::cpu_seconds(std::process::id());
    let cpu_before = own_cpu();
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (url, messages, next) = (url.clone(), Arc::clone(messages), Arc::clone(&next));
            let seq = Arc::clone(&seq);
            // Each returns its connection, closed after the server's CPU is
            // read: a backend's time is then still its own.
            std::thread::spawn(move || -> Result<(u64, postgres::Client), String> {
                let mut client =
                    postgres::Client::connect(&url, postgres::NoTls).map_err(|e| pg_error(&e))?;
                let mut rows = 0;
                loop {
                    let from = next.fetch_add(batch, Ordering::Relaxed);
                    if from >= messages.len() || start.elapsed() > deadline {
                        return Ok((rows, client));
                    }
                    let chunk = &messages[from..(from + batch).min(messages.len())];
                    let col = |f: &dyn Fn(&Message) -> Option<String>| -> Vec<Option<String>> {
                        chunk.iter().map(f).collect()
                    };
                    let ids = col(&|m| Some(m.id().as_str().to_owned()));
                    let froms = col(&|m| Some(m.from().as_str().to_owned()));
                    let tos = col(&|m| Some(m.to().as_str().to_owned()));
                    let tss = col(&|m| Some(m.ts().as_str().to_owned()));
                    let keys = col(&|m| Some(m.ts().sort_key()));
                    let texts = col(&|m| m.text().map(|t| t.as_str().to_owned()));
                    let folded = col(&|m| m.text().map(domain::MessageText::folded));
                    let received: Vec<i64> = vec![0; chunk.len()];
                    let n_rows = i64::try_from(chunk.len()).unwrap_or(i64::MAX);
                    let first = seq.fetch_add(n_rows, Ordering::Relaxed) + 1;
                    let seqs: Vec<i64> = (first..first + n_rows).collect();
                    let mut tx = client.transaction().map_err(|e| pg_error(&e))?;
                    let n = tx
                        .execute(
                            "INSERT INTO messages
                                 (message_id, from_msisdn, to_msisdn, ts, ts_key, text, text_folded,
                                  received_at, seq)
                             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                                                  $5::text[], $6::text[], $7::text[], $8::int8[],
                                                  $9::int8[])
                             ON CONFLICT (message_id) DO NOTHING",
                            &[
                                &ids, &froms, &tos, &tss, &keys, &texts, &folded, &received, &seqs,
                            ],
                        )
                        .map_err(|e| pg_error(&e))?;
                    tx.commit().map_err(|e| pg_error(&e))?;
                    rows += n;
                }
            })
        })
        .collect();
    let mut rows = 0;
    let mut clients = Vec::new();
    for t in threads {
        let (n, client) = t
            .join()
            .map_err(|_| "an insert thread panicked".to_owned())??;
        rows += n;
        clients.push(client);
    }
    let elapsed = start.elapsed().as_secs_f64().max(1e-9);
    let client_cpu = own_cpu() - cpu_before;
    let spent = crate::postgres_cost::since(&url, &mark);
    drop(clients);
    #[expect(clippy::cast_precision_loss, reason = "row and byte counts")]
    let (rows, wal) = ((rows as f64).max(1.0), spent.wal_bytes as f64);
    Ok(FloorCost {
        rows_per_second: rows / elapsed,
        wal_bytes_per_row: wal / rows,
        server_cpu_us_per_row: spent.cpu_seconds.map(|s| s * 1e6 / rows),
        client_cpu_us_per_row: client_cpu * 1e6 / rows,
        cores_busy: spent.cpu_seconds.map(|s| (s + client_cpu) / elapsed),
    })
}

/// A client error with the server's message and SQLSTATE.
pub(crate) fn pg_error(e: &postgres::Error) -> String {
    e.as_db_error().map_or_else(
        || e.to_string(),
        |d| format!("{} (SQLSTATE {})", d.message(), d.code().code()),
    )
}

/// The database's size on disk, in bytes.
pub(crate) fn database_bytes(url: &str) -> u64 {
    u64::try_from(testkit::postgres::query_i64(
        url,
        "SELECT pg_database_size(current_database())",
    ))
    .unwrap_or(0)
}
