//! The disk's floors for SQLite ingest: the same rows, from one writer, in
//! 64-row transactions, with the store's durability settings (WAL,
//! `synchronous=FULL`, its page size), into a table with the primary key alone (the least
//! exactly-once needs) and into one with hookbox's secondary indexes too;
//! the latter also with `ts` in arrival order (real senders' `ts` is close
//! to the arrival time; the bench's traffic spreads it over a year). Each
//! with the bytes written to disk per row (WAL and checkpoints), read from
//! `/proc/self/io` as the server's are. Rows carry their raw bytes, as the
//! server keeps them (`KEEP_RAW=on`).

use std::time::Instant;

use domain::Message;
use rusqlite::{Connection, params};
use serde::Serialize;

/// Rows per second and disk bytes written per row of each floor.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Floors {
    pub(crate) durable_rows_per_second: f64,
    pub(crate) durable_bytes_per_row: f64,
    pub(crate) durable_wal_bytes_per_row: f64,
    pub(crate) indexed_rows_per_second: f64,
    pub(crate) indexed_bytes_per_row: f64,
    pub(crate) indexed_wal_bytes_per_row: f64,
    pub(crate) indexed_arrival_ts_rows_per_second: f64,
    pub(crate) indexed_arrival_ts_bytes_per_row: f64,
    pub(crate) indexed_arrival_ts_wal_bytes_per_row: f64,
}

const TABLE: &str = "CREATE TABLE messages (
    message_id  TEXT PRIMARY KEY,
    from_msisdn TEXT NOT NULL,
    to_msisdn   TEXT NOT NULL,
    ts          TEXT NOT NULL,
    text        TEXT,
    created_at  TEXT NOT NULL,
    ts_key      TEXT NOT NULL,
    text_folded TEXT,
    raw         BLOB
)";

const INDEXES: &str = "CREATE INDEX messages_by_ts ON messages (ts_key, message_id);
    CREATE INDEX messages_by_sender ON messages (from_msisdn, ts_key, message_id);
    CREATE INDEX messages_feed_by_sender ON messages (from_msisdn);";

fn written_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// One floor: rows/s and bytes written per row.
fn floor(
    messages: &[(Message, Vec<u8>)],
    page_size: u32,
    indexes: bool,
    arrival_ts: bool,
) -> Result<(f64, f64, f64), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut conn = Connection::open(dir.path().join("floor.db")).map_err(|e| e.to_string())?;
    let fail = |e: rusqlite::Error| e.to_string();
    conn.execute_batch(&format!("PRAGMA page_size = {page_size};"))
        .map_err(fail)?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
        .map_err(fail)?;
    conn.execute_batch("PRAGMA synchronous = FULL;")
        .map_err(fail)?;
    conn.execute_batch(TABLE).map_err(fail)?;
    if indexes {
        conn.execute_batch(INDEXES).map_err(fail)?;
    }
    let base = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000;
    sqlite_adapter::wal::count_frames(&conn);
    let wal_before = sqlite_adapter::wal::appended_bytes(u64::from(page_size));
    let before = written_bytes();
    let started = Instant::now();
    for (c, chunk) in messages.chunks(64).enumerate() {
        let tx = conn.transaction().map_err(fail)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO messages (message_id, from_msisdn, to_msisdn, ts, text, created_at, \
                     ts_key, text_folded, raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(fail)?;
            for (i, (m, raw)) in chunk.iter().enumerate() {
                let key = if arrival_ts {
                    format!("{:020}", base + i128::try_from(c * 64 + i).unwrap_or(0))
                } else {
                    m.ts().sort_key()
                };
                insert
                    .execute(params![
                        m.id().as_str(),
                        m.from().as_str(),
                        m.to().as_str(),
                        m.ts().as_str(),
                        m.text().map(domain::MessageText::as_str),
                        "2026-01-01T00:00:00Z",
                        key,
                        m.text().map(domain::MessageText::folded),
                        raw,
                    ])
                    .map_err(fail)?;
            }
        }
        tx.commit().map_err(fail)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let wal = sqlite_adapter::wal::appended_bytes(u64::from(page_size)) - wal_before;
    // The pages still in the WAL are written once more by a checkpoint.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(fail)?;
    let bytes = written_bytes().saturating_sub(before);
    let rows = messages.len().max(1) as f64;
    Ok((
        rows / seconds.max(1e-9),
        bytes as f64 / rows,
        wal as f64 / rows,
    ))
}

/// The three floors at the store's page size, printed.
pub(super) fn measure(messages: &[(Message, Vec<u8>)], page_size: u32) -> Result<Floors, String> {
    let (durable, durable_bytes, durable_wal) = floor(messages, page_size, false, false)?;
    let (indexed, indexed_bytes, indexed_wal) = floor(messages, page_size, true, false)?;
    let (arrival, arrival_bytes, arrival_wal) = floor(messages, page_size, true, true)?;
    for (name, rate, bytes, wal) in [
        (
            "floor: primary key only",
            durable,
            durable_bytes,
            durable_wal,
        ),
        (
            "floor: + secondary indexes",
            indexed,
            indexed_bytes,
            indexed_wal,
        ),
        (
            "floor: indexes, ts arriving",
            arrival,
            arrival_bytes,
            arrival_wal,
        ),
    ] {
        println!(
            "{name:<28} {:>8} {rate:>10.0}  {bytes:.0} disk bytes written per row ({wal:.0} WAL)",
            messages.len()
        );
    }
    Ok(Floors {
        durable_rows_per_second: durable,
        durable_bytes_per_row: durable_bytes,
        durable_wal_bytes_per_row: durable_wal,
        indexed_rows_per_second: indexed,
        indexed_bytes_per_row: indexed_bytes,
        indexed_wal_bytes_per_row: indexed_wal,
        indexed_arrival_ts_rows_per_second: arrival,
        indexed_arrival_ts_bytes_per_row: arrival_bytes,
        indexed_arrival_ts_wal_bytes_per_row: arrival_wal,
    })
}
