//! Status reports and events: their SQL, on pooled connections.

use domain::{
    DeliveryState, DeliveryStatus, Event, EventPage, EventQuery, InsertOutcome, Seq, StatusUpdate,
    StoreError, StoredEvent, Timestamp,
};
use postgres::GenericClient;
use store_kit::rows::{from_micros, micros, pack, unpack};

use crate::error::{WriteError, store_error};

/// Keeps each report unless its (message, state) is kept: the first wins.
pub(crate) fn record_statuses(
    client: &mut postgres::Client,
    updates: &[StatusUpdate],
) -> Result<u64, WriteError> {
    let now = micros(time::OffsetDateTime::now_utc());
    let ids: Vec<&str> = updates.iter().map(StatusUpdate::message_id).collect();
    let states: Vec<&str> = updates.iter().map(|u| u.state().as_str()).collect();
    let tss: Vec<&str> = updates.iter().map(|u| u.ts().as_str()).collect();
    let recipients: Vec<Option<&str>> = updates.iter().map(StatusUpdate::recipient).collect();
    let errors: Vec<Option<Vec<u8>>> = updates
        .iter()
        .map(|u| (!u.errors().is_empty()).then(|| pack(u.errors())))
        .collect();
    // One statement; ON CONFLICT keeps the first of a (message, state),
    // within the call as across calls, in the callers' order.
    let mut tx = client.transaction()?;
    if let Err(found) = crate::schema::guard_writes(&mut tx)? {
        return Err(WriteError::Refused(found));
    }
    let new = tx.execute(
        "INSERT INTO statuses (message_id, state, ts, recipient, errors, received_at)
         SELECT DISTINCT ON (m, s) m, s, t, r, e, $6
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[])
                WITH ORDINALITY AS u (m, s, t, r, e, n)
          ORDER BY m, s, n
         ON CONFLICT (message_id, state) DO NOTHING",
        &[&ids, &states, &tss, &recipients, &errors, &now],
    )?;
    tx.commit()?;
    Ok(new)
}

/// Every report kept for `message_id`, folded.
pub(crate) fn status(
    client: &mut impl GenericClient,
    message_id: &str,
) -> Result<Option<DeliveryStatus>, StoreError> {
    let rows = client
        .query(
            "SELECT state, ts, recipient, errors FROM statuses WHERE message_id = $1
             ORDER BY received_at, state",
            &[&message_id],
        )
        .map_err(store_error)?;
    let corrupt = || StoreError::Internal("stored status is invalid".into());
    let mut kept = Vec::with_capacity(rows.len());
    for row in &rows {
        let state: &str = row.get(0);
        let ts: &str = row.get(1);
        let recipient: Option<&str> = row.get(2);
        let errors: Option<&[u8]> = row.get(3);
        kept.push(
            StatusUpdate::new(
                message_id,
                DeliveryState::from_name(state).ok_or_else(corrupt)?,
                Timestamp::parse(ts).map_err(|_| corrupt())?,
            )
            .ok_or_else(corrupt)?
            .with_recipient(recipient)
            .with_errors(errors.map(unpack).transpose()?.unwrap_or_default()),
        );
    }
    Ok(DeliveryStatus::fold(&kept))
}

/// A page of the kept reports themselves, by (message id, state name).
pub(crate) fn status_reports(
    client: &mut impl GenericClient,
    query: &domain::StatusReportQuery,
) -> Result<domain::StatusReportPage, StoreError> {
    let (after_id, after_state) = query
        .after
        .as_ref()
        .map_or((String::new(), ""), |(id, s)| (id.clone(), s.as_str()));
    let rows = client
        .query(
            "SELECT message_id, state, ts, recipient, errors FROM statuses
             WHERE (message_id, state) > ($1, $2) ORDER BY message_id, state LIMIT $3",
            &[&after_id, &after_state, &(i64::from(query.limit.get()) + 1)],
        )
        .map_err(store_error)?;
    let corrupt = || StoreError::Internal("stored status is invalid".into());
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: &str = row.get(0);
        let state: &str = row.get(1);
        let ts: &str = row.get(2);
        let recipient: Option<&str> = row.get(3);
        let errors: Option<&[u8]> = row.get(4);
        items.push(
            StatusUpdate::new(
                id,
                DeliveryState::from_name(state).ok_or_else(corrupt)?,
                Timestamp::parse(ts).map_err(|_| corrupt())?,
            )
            .ok_or_else(corrupt)?
            .with_recipient(recipient)
            .with_errors(errors.map(unpack).transpose()?.unwrap_or_default()),
        );
    }
    Ok(domain::StatusReportPage::from_overfetch(items, query.limit))
}

/// Keeps each event unless its digest is kept; one outcome each. Numbers
/// come from `event_counter`, locked to the commit, as the feed's do.
pub(crate) fn record_events(
    client: &mut postgres::Client,
    events: &[Event],
) -> Result<Vec<InsertOutcome>, WriteError> {
    let now = micros(time::OffsetDateTime::now_utc());
    let mut tx = client.transaction()?;
    if let Err(found) = crate::schema::guard_writes(&mut tx)? {
        return Err(WriteError::Refused(found));
    }
    let last: i64 = tx
        .query_one(
            "SELECT last_seq FROM event_counter WHERE id = 1 FOR UPDATE",
            &[],
        )?
        .get(0);
    let mut outcomes = Vec::with_capacity(events.len());
    let mut next = last;
    for e in events {
        let inserted = tx.execute(
            "INSERT INTO events (seq, field, digest, raw, received_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (digest) DO NOTHING",
            &[&(next + 1), &e.field(), &&e.digest()[..], &e.raw(), &now],
        )?;
        if inserted == 1 {
            next += 1;
            outcomes.push(InsertOutcome::Created);
        } else {
            outcomes.push(InsertOutcome::Duplicate);
        }
    }
    if next != last {
        tx.execute(
            "UPDATE event_counter SET last_seq = $1 WHERE id = 1",
            &[&next],
        )?;
    }
    tx.commit()?;
    Ok(outcomes)
}

/// One page of events by `seq`.
pub(crate) fn events(
    client: &mut impl GenericClient,
    query: &EventQuery,
) -> Result<EventPage, StoreError> {
    let rows = client
        .query(
            "SELECT seq, field, raw, received_at FROM events
             WHERE seq > $1 AND ($2::text IS NULL OR field = $2) ORDER BY seq LIMIT $3",
            &[
                &query.after.as_i64(),
                &query.field.as_deref(),
                &i64::from(query.limit.get()),
            ],
        )
        .map_err(store_error)?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let seq: i64 = row.get(0);
        let field: &str = row.get(1);
        let raw: Vec<u8> = row.get(2);
        items.push(StoredEvent {
            seq: Seq::new(seq)
                .map_err(|_| StoreError::Internal("stored seq is negative".into()))?,
            event: Event::new(field, raw),
            received_at: from_micros(row.get(3))?,
        });
    }
    let next = items.last().map_or(query.after, |e| e.seq);
    Ok(EventPage { items, next })
}

/// Deletes up to `max` reports and up to `max` events older than `before`.
pub(crate) fn purge(
    client: &mut postgres::Client,
    before: i64,
    max: i64,
) -> Result<u64, postgres::Error> {
    let mut tx = client.transaction()?;
    let statuses = tx.execute(
        "DELETE FROM statuses WHERE (message_id, state) IN (
             SELECT message_id, state FROM statuses WHERE received_at < $1
             ORDER BY received_at LIMIT $2)",
        &[&before, &max],
    )?;
    let events = tx.execute(
        "DELETE FROM events WHERE seq IN (
             SELECT seq FROM events WHERE received_at < $1 ORDER BY seq LIMIT $2)",
        &[&before, &max],
    )?;
    tx.commit()?;
    Ok(statuses + events)
}

/// The raw bytes of `id`: `Some(None)` when stored without them.
pub(crate) fn raw(
    client: &mut impl GenericClient,
    id: &str,
) -> Result<Option<Option<Vec<u8>>>, StoreError> {
    client
        .query_opt("SELECT raw FROM messages WHERE message_id = $1", &[&id])
        .map(|row| row.map(|r| r.get::<_, Option<Vec<u8>>>(0)))
        .map_err(store_error)
}
