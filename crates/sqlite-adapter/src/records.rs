//! Status reports and events: their SQL, run by the writer for writes and
//! on the read pool for reads.

use domain::{
    DeliveryState, DeliveryStatus, Event, EventPage, EventQuery, InsertOutcome, Seq, StatusUpdate,
    StoreError, StoredEvent, Timestamp,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use store_kit::rows::{from_micros, micros, pack, unpack};

use crate::error::store_error;

/// Keeps each report unless its (message, state) is kept: the first wins.
pub(crate) fn record_statuses(
    conn: &mut Connection,
    updates: &[StatusUpdate],
) -> rusqlite::Result<u64> {
    let now = micros(time::OffsetDateTime::now_utc());
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut new = 0;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO statuses (message_id, state, ts, recipient, errors, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
        )?;
        for u in updates {
            let errors = (!u.errors().is_empty()).then(|| pack(u.errors()));
            new += insert.execute(params![
                u.message_id(),
                u.state().as_str(),
                u.ts().as_str(),
                u.recipient(),
                errors,
                now
            ])?;
        }
    }
    tx.commit()?;
    Ok(u64::try_from(new).unwrap_or(0))
}

/// Every report kept for `message_id`, folded.
pub(crate) fn status(
    conn: &Connection,
    message_id: &str,
) -> Result<Option<DeliveryStatus>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT state, ts, recipient, errors FROM statuses WHERE message_id = ?1
             ORDER BY received_at, state",
        )
        .map_err(store_error)?;
    let mut rows = stmt.query([message_id]).map_err(store_error)?;
    let mut kept = Vec::new();
    while let Some(row) = rows.next().map_err(store_error)? {
        let corrupt = || StoreError::Internal("stored status is invalid".into());
        let state: String = row.get(0).map_err(store_error)?;
        let ts: String = row.get(1).map_err(store_error)?;
        let recipient: Option<String> = row.get(2).map_err(store_error)?;
        let errors: Option<Vec<u8>> = row.get(3).map_err(store_error)?;
        let update = StatusUpdate::new(
            message_id,
            DeliveryState::from_name(&state).ok_or_else(corrupt)?,
            Timestamp::parse(&ts).map_err(|_| corrupt())?,
        )
        .ok_or_else(corrupt)?
        .with_recipient(recipient.as_deref())
        .with_errors(errors.map(|e| unpack(&e)).transpose()?.unwrap_or_default());
        kept.push(update);
    }
    Ok(DeliveryStatus::fold(&kept))
}

/// A page of the kept reports themselves, by (message id, state name).
pub(crate) fn status_reports(
    conn: &Connection,
    query: &domain::StatusReportQuery,
) -> Result<domain::StatusReportPage, StoreError> {
    let (after_id, after_state) = query
        .after
        .as_ref()
        .map_or((String::new(), ""), |(id, s)| (id.clone(), s.as_str()));
    let mut stmt = conn
        .prepare_cached(
            "SELECT message_id, state, ts, recipient, errors FROM statuses
             WHERE (message_id, state) > (?1, ?2) ORDER BY message_id, state LIMIT ?3",
        )
        .map_err(store_error)?;
    let mut rows = stmt
        .query(params![
            after_id,
            after_state,
            i64::from(query.limit.get()) + 1
        ])
        .map_err(store_error)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(store_error)? {
        let corrupt = || StoreError::Internal("stored status is invalid".into());
        let id: String = row.get(0).map_err(store_error)?;
        let state: String = row.get(1).map_err(store_error)?;
        let ts: String = row.get(2).map_err(store_error)?;
        let recipient: Option<String> = row.get(3).map_err(store_error)?;
        let errors: Option<Vec<u8>> = row.get(4).map_err(store_error)?;
        items.push(
            StatusUpdate::new(
                &id,
                DeliveryState::from_name(&state).ok_or_else(corrupt)?,
                Timestamp::parse(&ts).map_err(|_| corrupt())?,
            )
            .ok_or_else(corrupt)?
            .with_recipient(recipient.as_deref())
            .with_errors(errors.map(|e| unpack(&e)).transpose()?.unwrap_or_default()),
        );
    }
    Ok(domain::StatusReportPage::from_overfetch(items, query.limit))
}

/// Keeps each event unless its digest is kept; one outcome each.
pub(crate) fn record_events(
    conn: &mut Connection,
    events: &[Event],
) -> rusqlite::Result<Vec<InsertOutcome>> {
    let now = micros(time::OffsetDateTime::now_utc());
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(events.len());
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO events (field, digest, raw, received_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (digest) DO NOTHING",
        )?;
        for e in events {
            let changed = insert.execute(params![e.field(), &e.digest()[..], e.raw(), now])?;
            outcomes.push(if changed == 1 {
                InsertOutcome::Created
            } else {
                InsertOutcome::Duplicate
            });
        }
    }
    tx.commit()?;
    Ok(outcomes)
}

/// One page of events by `seq`.
pub(crate) fn events(conn: &Connection, query: &EventQuery) -> Result<EventPage, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, field, raw, received_at FROM events
             WHERE seq > ?1 AND (?2 IS NULL OR field = ?2) ORDER BY seq LIMIT ?3",
        )
        .map_err(store_error)?;
    let mut rows = stmt
        .query(params![
            query.after.as_i64(),
            query.field.as_deref(),
            i64::from(query.limit.get())
        ])
        .map_err(store_error)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(store_error)? {
        let seq: i64 = row.get(0).map_err(store_error)?;
        let field: String = row.get(1).map_err(store_error)?;
        let raw: Vec<u8> = row.get(2).map_err(store_error)?;
        let at: i64 = row.get(3).map_err(store_error)?;
        items.push(StoredEvent {
            seq: Seq::new(seq)
                .map_err(|_| StoreError::Internal("stored seq is negative".into()))?,
            event: Event::new(&field, raw),
            received_at: from_micros(at)?,
        });
    }
    let next = items.last().map_or(query.after, |e| e.seq);
    Ok(EventPage { items, next })
}

/// Deletes up to `max` reports and up to `max` events older than `before`.
pub(crate) fn purge(conn: &mut Connection, before: i64, max: u32) -> rusqlite::Result<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let statuses = tx.execute(
        "DELETE FROM statuses WHERE (message_id, state) IN (
             SELECT message_id, state FROM statuses WHERE received_at < ?1
             ORDER BY received_at LIMIT ?2)",
        params![before, max],
    )?;
    let events = tx.execute(
        "DELETE FROM events WHERE seq IN (
             SELECT seq FROM events WHERE received_at < ?1 ORDER BY seq LIMIT ?2)",
        params![before, max],
    )?;
    tx.commit()?;
    Ok(u64::try_from(statuses + events).unwrap_or(0))
}

/// The raw bytes of `id`: `Some(None)` when stored without them.
pub(crate) fn raw(conn: &Connection, id: &str) -> Result<Option<Option<Vec<u8>>>, StoreError> {
    conn.prepare_cached("SELECT raw FROM messages WHERE message_id = ?1")
        .and_then(|mut s| {
            s.query_row([id], |r| r.get::<_, Option<Vec<u8>>>(0))
                .optional()
        })
        .map_err(store_error)
}
