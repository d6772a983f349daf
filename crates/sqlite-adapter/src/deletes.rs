//! Deleting messages, for retention (the oldest rows) and erasure (the
//! rows a request names): each with its counters, its search-index entry
//! and its sender's conversation, in the caller's transaction.

use rusqlite::{Transaction, params};
use store_kit::tally::Tally;

use crate::schema::{LAST_SEQ, SEARCH_MARK};

/// A row to delete, with what its counters and index entry need.
pub(crate) struct Doomed {
    pub(crate) rowid: i64,
    pub(crate) from: String,
    pub(crate) day: String,
    pub(crate) folded: Option<String>,
}

/// The columns [`Doomed::from_row`] reads, in order.
pub(crate) const DOOMED_COLUMNS: &str = "rowid, from_msisdn, substr(ts_key, 1, 8), text_folded";

impl Doomed {
    pub(crate) fn from_row(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self> {
        Ok(Self {
            rowid: row.get(at)?,
            from: row.get(at + 1)?,
            day: row.get(at + 2)?,
            folded: row.get(at + 3)?,
        })
    }
}

/// Deletes `rows` and keeps everything else exact: the largest feed number
/// survives its row (see `LAST_SEQ`), indexed text leaves the search index,
/// senders, days and totals lose their counts (a sender or day at zero is
/// gone), and each remaining sender's conversation points at their latest
/// message left. Returns how many rows were deleted.
pub(crate) fn delete_rows(
    tx: &Transaction<'_>,
    rows: &[Doomed],
    search_index: bool,
) -> rusqlite::Result<i64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let last: i64 = tx.prepare_cached(LAST_SEQ)?.query_row([], |r| r.get(0))?;
    tx.prepare_cached(
        "INSERT INTO settings (name, value) VALUES ('seq_high', ?1)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )?
    .execute([last.to_string()])?;
    let mark: i64 = if search_index {
        tx.prepare_cached(&format!("SELECT {SEARCH_MARK}"))?
            .query_row([], |r| r.get::<_, Option<i64>>(0))?
            .unwrap_or(0)
    } else {
        0
    };
    let mut gone = Tally::default();
    {
        let mut unindex = tx.prepare_cached(if search_index && mark > 0 {
            "INSERT INTO messages_search (messages_search, rowid, text_folded)
             VALUES ('delete', ?1, ?2)"
        } else {
            "SELECT ?1, ?2 WHERE 0"
        })?;
        let mut delete = tx.prepare_cached("DELETE FROM messages WHERE rowid = ?1")?;
        for row in rows {
            if let Some(folded) = &row.folded
                && search_index
                && row.rowid <= mark
            {
                unindex.execute(params![row.rowid, folded])?;
            }
            if delete.execute([row.rowid])? == 1 {
                gone.add(&row.from, &row.day, 1);
            }
        }
    }
    uncount(tx, &gone)?;
    Ok(gone.total())
}

/// Takes what was deleted off the counters.
fn uncount(tx: &Transaction<'_>, gone: &Tally) -> rusqlite::Result<()> {
    let mut gone_senders = 0_i64;
    for (from, n) in gone.senders() {
        tx.prepare_cached(
            "UPDATE senders SET message_count = message_count - ?1,
                 last_seq = COALESCE(
                     (SELECT MAX(rowid) FROM messages WHERE from_msisdn = ?2), 0)
             WHERE from_msisdn = ?2",
        )?
        .execute(params![n, from])?;
        gone_senders += i64::try_from(
            tx.prepare_cached("DELETE FROM senders WHERE from_msisdn = ?1 AND message_count <= 0")?
                .execute([from])?,
        )
        .unwrap_or(0);
    }
    for (day, n) in gone.days() {
        tx.prepare_cached(
            "UPDATE day_counts SET message_count = message_count - ?1 WHERE day = ?2",
        )?
        .execute(params![n, day])?;
        tx.prepare_cached("DELETE FROM day_counts WHERE day = ?1 AND message_count <= 0")?
            .execute([day])?;
    }
    tx.prepare_cached(
        "UPDATE totals SET messages = messages - ?1, senders = senders - ?2 WHERE id = 1",
    )?
    .execute(params![gone.total(), gone_senders])?;
    Ok(())
}

/// What an erasure selects: a WHERE clause over one parameter.
pub(crate) enum Selector {
    Message(String),
    Sender(String),
}

/// Erases up to `max` of the rows `selector` names (oldest first) in one
/// transaction, and moves the erasure epoch on, so search matches kept
/// from before it are not reused (see `search::MatchCache`).
pub(crate) fn erase(
    conn: &mut rusqlite::Connection,
    selector: &Selector,
    max: u32,
    search_index: bool,
) -> rusqlite::Result<u64> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let (clause, value) = match selector {
        Selector::Message(id) => ("message_id = ?1", id),
        Selector::Sender(from) => ("from_msisdn = ?1", from),
    };
    let rows: Vec<Doomed> = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {DOOMED_COLUMNS} FROM messages WHERE {clause} ORDER BY rowid LIMIT ?2"
        ))?;
        stmt.query_map(params![value, i64::from(max)], |r| Doomed::from_row(r, 0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let deleted = delete_rows(&tx, &rows, search_index)?;
    if deleted > 0 {
        tx.prepare_cached(
            "INSERT INTO settings (name, value) VALUES ('erased_epoch', '1')
             ON CONFLICT (name) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        )?
        .execute([])?;
    }
    tx.commit()?;
    Ok(u64::try_from(deleted).unwrap_or(0))
}

/// The SQL fragment for the erasure epoch a reader's snapshot sees.
pub(crate) const ERASED_EPOCH: &str =
    "(SELECT CAST(value AS INTEGER) FROM settings WHERE name = 'erased_epoch')";
