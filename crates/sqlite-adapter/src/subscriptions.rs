//! The [`SubscriptionStore`] port on SQLite: reads on the reader pool,
//! every write on the writer thread (one transaction each), so they queue
//! with ingest instead of contending for the lock.

use domain::{
    Claim, DeadLetter, DeadLetterQuery, Fence, NewSubscription, RetryOutcome, Seq, Step,
    StoreError, Subscription, SubscriptionChange, SubscriptionId, SubscriptionState,
    SubscriptionStore,
};
use rusqlite::{Connection, OptionalExtension, Row, params};
use store_kit::subscriptions::{
    COLUMNS, SubscriptionRow, dead_letter, from_column, head_columns, join_kinds, micros, q_column,
    seq_value, share,
};

use crate::error::store_error;
use crate::schema::LAST_SEQ;
use crate::store::SqliteStore;

fn row(r: &Row<'_>) -> rusqlite::Result<SubscriptionRow> {
    let head_seq: Option<i64> = r.get(10)?;
    let lease_owner: Option<String> = r.get(18)?;
    Ok(SubscriptionRow {
        id: r.get(0)?,
        url: r.get(1)?,
        secret: r.get(2)?,
        filter_from: r.get(3)?,
        filter_q: r.get(4)?,
        filter_kinds: r.get(5)?,
        state: r.get(6)?,
        paused_reason: r.get(7)?,
        position: r.get(8)?,
        generation: r.get(9)?,
        head: match head_seq {
            Some(seq) => Some((seq, r.get(11)?, r.get(12)?, r.get(13)?, r.get(14)?)),
            None => None,
        },
        delivered: r.get(15)?,
        dead_letters: r.get(16)?,
        created_at: r.get(17)?,
        lease: match lease_owner {
            Some(owner) => Some((owner, r.get(19)?)),
            None => None,
        },
    })
}

fn one(conn: &Connection, id: &str) -> Result<Option<Subscription>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM subscriptions s WHERE id = ?1");
    conn.prepare_cached(&sql)
        .and_then(|mut st| st.query_row([id], row).optional())
        .map_err(store_error)?
        .map(SubscriptionRow::into_subscription)
        .transpose()
}

fn many(
    conn: &Connection,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<Subscription>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM subscriptions s {filter} ORDER BY created_at, id");
    let rows: Vec<SubscriptionRow> = conn
        .prepare_cached(&sql)
        .and_then(|mut st| st.query_map(args, row)?.collect())
        .map_err(store_error)?;
    rows.into_iter()
        .map(SubscriptionRow::into_subscription)
        .collect()
}

fn create(conn: &mut Connection, new: &NewSubscription) -> Result<Subscription, StoreError> {
    let tx = conn.transaction().map_err(store_error)?;
    let last: i64 = tx
        .query_row(LAST_SEQ, [], |r| r.get(0))
        .map_err(store_error)?;
    let last = Seq::new(last).map_err(|e| StoreError::Internal(e.into()))?;
    tx.execute(
        "INSERT INTO subscriptions (id, url, secret, filter_from, filter_q, filter_kinds, state, \
         position, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7, ?8)",
        params![
            new.id.as_str(),
            new.url.as_str(),
            new.secret.expose(),
            from_column(&new.filter),
            q_column(&new.filter),
            join_kinds(&new.filter),
            seq_value(new.start.position(last)),
            micros(new.created_at),
        ],
    )
    .map_err(store_error)?;
    let created = one(&tx, new.id.as_str())?
        .ok_or_else(|| StoreError::Internal("a created subscription is missing".into()))?;
    tx.commit().map_err(store_error)?;
    Ok(created)
}

fn change(
    conn: &mut Connection,
    id: &str,
    change: &SubscriptionChange,
) -> Result<Option<Subscription>, StoreError> {
    let tx = conn.transaction().map_err(store_error)?;
    let mut sets = vec!["generation = generation + 1".to_owned()];
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(id.to_owned())];
    let mut arg = |value: Box<dyn rusqlite::ToSql>, column: &str, sets: &mut Vec<String>| {
        args.push(value);
        sets.push(format!("{column} = ?{}", args.len()));
    };
    if let Some(url) = &change.url {
        arg(Box::new(url.as_str().to_owned()), "url", &mut sets);
    }
    if let Some(filter) = &change.filter {
        arg(
            Box::new(from_column(filter).map(str::to_owned)),
            "filter_from",
            &mut sets,
        );
        arg(
            Box::new(q_column(filter).map(str::to_owned)),
            "filter_q",
            &mut sets,
        );
        arg(Box::new(join_kinds(filter)), "filter_kinds", &mut sets);
    }
    match change.state {
        Some(SubscriptionState::Active) => sets.push(
            "state = 'active', paused_reason = NULL, \
             head_next = CASE WHEN head_seq IS NULL THEN NULL ELSE 0 END"
                .into(),
        ),
        Some(_) => sets.push("state = 'paused', paused_reason = 'paused'".into()),
        None => {}
    }
    let sql = format!("UPDATE subscriptions SET {} WHERE id = ?1", sets.join(", "));
    let params: Vec<&dyn rusqlite::ToSql> = args.iter().map(AsRef::as_ref).collect();
    let changed = tx.execute(&sql, params.as_slice()).map_err(store_error)?;
    let result = if changed == 1 { one(&tx, id)? } else { None };
    tx.commit().map_err(store_error)?;
    Ok(result)
}

fn replay(conn: &mut Connection, id: &str, from: Seq) -> Result<Option<Subscription>, StoreError> {
    let tx = conn.transaction().map_err(store_error)?;
    let position = seq_value(domain::Start::At(from).position(Seq::START));
    let changed = tx
        .execute(
            "UPDATE subscriptions SET position = ?2, generation = generation + 1, head_seq = NULL, \
             head_message_id = NULL, head_attempts = NULL, head_error = NULL, head_next = NULL \
             WHERE id = ?1",
            params![id, position],
        )
        .map_err(store_error)?;
    let result = if changed == 1 { one(&tx, id)? } else { None };
    tx.commit().map_err(store_error)?;
    Ok(result)
}

fn delete(conn: &mut Connection, id: &str) -> Result<bool, StoreError> {
    let tx = conn.transaction().map_err(store_error)?;
    tx.execute("DELETE FROM dead_letters WHERE subscription_id = ?1", [id])
        .map_err(store_error)?;
    let n = tx
        .execute("DELETE FROM subscriptions WHERE id = ?1", [id])
        .map_err(store_error)?;
    tx.commit().map_err(store_error)?;
    Ok(n == 1)
}

fn claim(
    conn: &mut Connection,
    owner: &str,
    now: i64,
    until: i64,
) -> Result<Vec<Subscription>, StoreError> {
    let tx = conn.transaction().map_err(store_error)?;
    let count = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> Result<u64, StoreError> {
        let n: i64 = tx.query_row(sql, args, |r| r.get(0)).map_err(store_error)?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    tx.execute(
        "INSERT INTO forwarders (owner, seen_until) VALUES (?1, ?2) \
         ON CONFLICT (owner) DO UPDATE SET seen_until = excluded.seen_until",
        params![owner, until],
    )
    .map_err(store_error)?;
    tx.execute("DELETE FROM forwarders WHERE seen_until < ?1", [now])
        .map_err(store_error)?;
    let live = count("SELECT COUNT(*) FROM forwarders", &[])?;
    let active = count(
        "SELECT COUNT(*) FROM subscriptions WHERE state = 'active'",
        &[],
    )?;
    let share = i64::try_from(share(active, live)).unwrap_or(i64::MAX);
    // Keep the oldest `share` of those still leased to us; free the rest.
    tx.execute(
        "UPDATE subscriptions SET lease_owner = NULL, lease_until = NULL \
         WHERE lease_owner = ?1 AND id NOT IN (SELECT id FROM subscriptions \
         WHERE lease_owner = ?1 AND state = 'active' AND lease_until >= ?2 \
         ORDER BY created_at, id LIMIT ?3)",
        params![owner, now, share],
    )
    .map_err(store_error)?;
    let kept = tx
        .execute(
            "UPDATE subscriptions SET lease_until = ?2 WHERE lease_owner = ?1",
            params![owner, until],
        )
        .map_err(store_error)?;
    tx.execute(
        "UPDATE subscriptions SET lease_owner = ?1, lease_until = ?2 WHERE id IN \
         (SELECT id FROM subscriptions WHERE state = 'active' \
         AND (lease_owner IS NULL OR lease_until < ?3) ORDER BY created_at, id LIMIT ?4)",
        params![owner, until, now, share - i64::try_from(kept).unwrap_or(0)],
    )
    .map_err(store_error)?;
    let mine = many(
        &tx,
        "WHERE lease_owner = ?1 AND state = 'active'",
        &[&owner],
    )?;
    tx.commit().map_err(store_error)?;
    Ok(mine)
}

fn release(conn: &mut Connection, owner: &str) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(store_error)?;
    tx.execute(
        "UPDATE subscriptions SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?1",
        [owner],
    )
    .map_err(store_error)?;
    tx.execute("DELETE FROM forwarders WHERE owner = ?1", [owner])
        .map_err(store_error)?;
    tx.commit().map_err(store_error)
}

const FENCE: &str = "id = ?1 AND lease_owner = ?2 AND generation = ?3";
const NO_HEAD: &str = "head_seq = NULL, head_message_id = NULL, head_attempts = NULL, \
    head_error = NULL, head_next = NULL";

fn step(
    conn: &mut Connection,
    id: &str,
    owner: &str,
    generation: i64,
    step: &Step,
) -> Result<bool, StoreError> {
    let tx = conn.transaction().map_err(store_error)?;
    let fence = params![id, owner, generation];
    let run = |sql: String, extra: &[&dyn rusqlite::ToSql]| -> Result<bool, StoreError> {
        let mut args: Vec<&dyn rusqlite::ToSql> = fence.to_vec();
        args.extend_from_slice(extra);
        Ok(tx.execute(&sql, args.as_slice()).map_err(store_error)? == 1)
    };
    let done = match step {
        Step::Delivered { position, count } => run(
            format!(
                "UPDATE subscriptions SET position = ?4, delivered = delivered + ?5, {NO_HEAD} WHERE {FENCE}"
            ),
            &[
                &seq_value(*position),
                &i64::try_from(*count).unwrap_or(i64::MAX),
            ],
        )?,
        Step::Failing(head) => {
            let (seq, message_id, attempts, error, next) = head_columns(head);
            run(
                format!(
                    "UPDATE subscriptions SET head_seq = ?4, head_message_id = ?5, head_attempts = ?6, head_error = ?7, head_next = ?8 WHERE {FENCE}"
                ),
                &[&seq, &message_id, &attempts, &error, &next],
            )?
        }
        Step::Buried(dead) => {
            let moved = run(
                format!("UPDATE subscriptions SET position = ?4, {NO_HEAD} WHERE {FENCE}"),
                &[&seq_value(dead.seq)],
            )?;
            if moved {
                tx.execute(
                    "INSERT OR REPLACE INTO dead_letters (subscription_id, seq, message_id, attempts, \
                     last_error, failed_at, retry_requested) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
                    params![id, seq_value(dead.seq), dead.message_id, dead.attempts, dead.last_error, micros(dead.failed_at)],
                )
                .map_err(store_error)?;
            }
            moved
        }
        Step::Paused { reason } => run(
            format!(
                "UPDATE subscriptions SET state = 'paused', paused_reason = ?4, generation = generation + 1, {NO_HEAD} WHERE {FENCE}"
            ),
            &[reason],
        )?,
        _ => false,
    };
    tx.commit().map_err(store_error)?;
    Ok(done)
}

fn dead_letters(
    conn: &Connection,
    id: &str,
    query: &DeadLetterQuery,
) -> Result<Vec<DeadLetter>, StoreError> {
    let requested = if query.requested_only {
        "AND retry_requested = 1"
    } else {
        ""
    };
    let sql = format!(
        "SELECT seq, message_id, attempts, last_error, failed_at, retry_requested FROM dead_letters \
         WHERE subscription_id = ?1 AND seq > ?2 {requested} ORDER BY seq LIMIT ?3"
    );
    let rows: Vec<(i64, String, i64, String, i64, bool)> = conn
        .prepare_cached(&sql)
        .and_then(|mut st| {
            st.query_map(params![id, seq_value(query.after), query.limit], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect()
        })
        .map_err(store_error)?;
    rows.into_iter().map(dead_letter).collect()
}

fn settle(
    conn: &mut Connection,
    id: &str,
    seq: i64,
    outcome: &RetryOutcome,
    at: i64,
) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(store_error)?;
    match outcome {
        RetryOutcome::Failed { last_error } => {
            tx.execute(
                "UPDATE dead_letters SET attempts = attempts + 1, last_error = ?3, failed_at = ?4, \
                 retry_requested = 0 WHERE subscription_id = ?1 AND seq = ?2",
                params![id, seq, last_error, at],
            )
            .map_err(store_error)?;
        }
        _ => {
            let removed = tx
                .execute(
                    "DELETE FROM dead_letters WHERE subscription_id = ?1 AND seq = ?2",
                    params![id, seq],
                )
                .map_err(store_error)?;
            if removed == 1 && *outcome == RetryOutcome::Delivered {
                tx.execute(
                    "UPDATE subscriptions SET delivered = delivered + 1 WHERE id = ?1",
                    [id],
                )
                .map_err(store_error)?;
            }
        }
    }
    tx.commit().map_err(store_error)
}

impl SubscriptionStore for SqliteStore {
    fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription, StoreError> {
        let new = new.clone();
        self.writer().run(move |conn| create(conn, &new))
    }

    fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        many(&*self.reader()?, "", &[])
    }

    fn subscription(&self, id: &SubscriptionId) -> Result<Option<Subscription>, StoreError> {
        one(&*self.reader()?, id.as_str())
    }

    fn change_subscription(
        &self,
        id: &SubscriptionId,
        what: &SubscriptionChange,
    ) -> Result<Option<Subscription>, StoreError> {
        let (id, what) = (id.as_str().to_owned(), what.clone());
        self.writer().run(move |conn| change(conn, &id, &what))
    }

    fn replay(&self, id: &SubscriptionId, from: Seq) -> Result<Option<Subscription>, StoreError> {
        let id = id.as_str().to_owned();
        self.writer().run(move |conn| replay(conn, &id, from))
    }

    fn delete_subscription(&self, id: &SubscriptionId) -> Result<bool, StoreError> {
        let id = id.as_str().to_owned();
        self.writer().run(move |conn| delete(conn, &id))
    }

    fn claim(&self, what: &Claim<'_>) -> Result<Vec<Subscription>, StoreError> {
        let owner = what.owner.to_owned();
        let now = micros(what.now);
        let until = micros(what.now + what.ttl);
        self.writer()
            .run(move |conn| claim(conn, &owner, now, until))
    }

    fn release(&self, owner: &str) -> Result<(), StoreError> {
        let owner = owner.to_owned();
        self.writer().run(move |conn| release(conn, &owner))
    }

    fn record_step(&self, fence: &Fence<'_>, what: &Step) -> Result<bool, StoreError> {
        let id = fence.id.as_str().to_owned();
        let owner = fence.owner.to_owned();
        let generation = i64::try_from(fence.generation).unwrap_or(i64::MAX);
        let what = what.clone();
        self.writer()
            .run(move |conn| step(conn, &id, &owner, generation, &what))
    }

    fn dead_letters(
        &self,
        id: &SubscriptionId,
        query: &DeadLetterQuery,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        dead_letters(&*self.reader()?, id.as_str(), query)
    }

    fn request_retry(&self, id: &SubscriptionId, seq: Seq) -> Result<bool, StoreError> {
        let id = id.as_str().to_owned();
        self.writer().run(move |conn| {
            conn.execute(
                "UPDATE dead_letters SET retry_requested = 1 WHERE subscription_id = ?1 AND seq = ?2",
                params![id, seq_value(seq)],
            )
            .map(|n| n == 1)
            .map_err(store_error)
        })
    }

    fn settle_retry(
        &self,
        id: &SubscriptionId,
        seq: Seq,
        outcome: &RetryOutcome,
        at: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (id, outcome) = (id.as_str().to_owned(), outcome.clone());
        let at = micros(at);
        self.writer()
            .run(move |conn| settle(conn, &id, seq_value(seq), &outcome, at))
    }
}
