//! The [`SubscriptionStore`] port on PostgreSQL. Every write is one short
//! transaction; `claim` takes free leases with `FOR UPDATE SKIP LOCKED`,
//! so replicas claiming at once never take the same subscription.

use domain::{
    Claim, DeadLetter, DeadLetterQuery, Fence, NewSubscription, RetryOutcome, Seq, Step,
    StoreError, Subscription, SubscriptionChange, SubscriptionId, SubscriptionState,
    SubscriptionStore,
};
use postgres::types::ToSql;
use postgres::{GenericClient, Row};
use store_kit::subscriptions::{
    COLUMNS, SubscriptionRow, dead_letter, from_column, head_columns, join_kinds, micros, q_column,
    seq_value, share,
};

use crate::error::store_error;
use crate::store::PostgresStore;

fn row(r: &Row) -> SubscriptionRow {
    let head_seq: Option<i64> = r.get(10);
    let lease_owner: Option<String> = r.get(18);
    SubscriptionRow {
        id: r.get(0),
        url: r.get(1),
        secret: r.get(2),
        filter_from: r.get(3),
        filter_q: r.get(4),
        filter_kinds: r.get(5),
        state: r.get(6),
        paused_reason: r.get(7),
        position: r.get(8),
        generation: r.get(9),
        head: head_seq.map(|seq| (seq, r.get(11), r.get(12), r.get(13), r.get(14))),
        delivered: r.get(15),
        dead_letters: r.get(16),
        created_at: r.get(17),
        lease: lease_owner.map(|owner| (owner, r.get(19))),
    }
}

fn one(c: &mut impl GenericClient, id: &str) -> Result<Option<Subscription>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM subscriptions s WHERE id = $1");
    c.query_opt(&sql, &[&id])
        .map_err(store_error)?
        .map(|r| row(&r).into_subscription())
        .transpose()
}

fn many(
    c: &mut impl GenericClient,
    filter: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Subscription>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM subscriptions s {filter} ORDER BY created_at, id");
    c.query(&sql, args)
        .map_err(store_error)?
        .iter()
        .map(|r| row(r).into_subscription())
        .collect()
}

fn create(c: &mut postgres::Client, new: &NewSubscription) -> Result<Subscription, StoreError> {
    let mut tx = c.transaction().map_err(store_error)?;
    let last: i64 = tx
        .query_one("SELECT last_seq FROM feed_counter WHERE id = 1", &[])
        .map_err(store_error)?
        .get(0);
    let last = Seq::new(last).map_err(|e| StoreError::Internal(e.into()))?;
    tx.execute(
        "INSERT INTO subscriptions (id, url, secret, filter_from, filter_q, filter_kinds, state, \
         position, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8)",
        &[
            &new.id.as_str(),
            &new.url.as_str(),
            &new.secret.expose(),
            &from_column(&new.filter),
            &q_column(&new.filter),
            &join_kinds(&new.filter),
            &seq_value(new.start.position(last)),
            &micros(new.created_at),
        ],
    )
    .map_err(store_error)?;
    let created = one(&mut tx, new.id.as_str())?
        .ok_or_else(|| StoreError::Internal("a created subscription is missing".into()))?;
    tx.commit().map_err(store_error)?;
    Ok(created)
}

fn change(
    c: &mut postgres::Client,
    id: &str,
    change: &SubscriptionChange,
) -> Result<Option<Subscription>, StoreError> {
    let mut sets = vec!["generation = generation + 1".to_owned()];
    let url = change.url.as_ref().map(|u| u.as_str().to_owned());
    let from = change
        .filter
        .as_ref()
        .and_then(|f| from_column(f).map(str::to_owned));
    let q = change
        .filter
        .as_ref()
        .and_then(|f| q_column(f).map(str::to_owned));
    let kinds = change.filter.as_ref().map(join_kinds);
    let mut args: Vec<&(dyn ToSql + Sync)> = vec![&id];
    if let Some(url) = &url {
        args.push(url);
        sets.push(format!("url = ${}", args.len()));
    }
    if let Some(kinds) = &kinds {
        args.extend([&from as &(dyn ToSql + Sync), &q, kinds]);
        let n = args.len();
        sets.push(format!(
            "filter_from = ${}, filter_q = ${}, filter_kinds = ${n}",
            n - 2,
            n - 1
        ));
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
    let mut tx = c.transaction().map_err(store_error)?;
    let sql = format!("UPDATE subscriptions SET {} WHERE id = $1", sets.join(", "));
    let changed = tx.execute(&sql, &args).map_err(store_error)?;
    let result = if changed == 1 {
        one(&mut tx, id)?
    } else {
        None
    };
    tx.commit().map_err(store_error)?;
    Ok(result)
}

const NO_HEAD: &str = "head_seq = NULL, head_message_id = NULL, head_attempts = NULL, \
    head_error = NULL, head_next = NULL";

fn replay(
    c: &mut postgres::Client,
    id: &str,
    from: Seq,
) -> Result<Option<Subscription>, StoreError> {
    let position = seq_value(domain::Start::At(from).position(Seq::START));
    let mut tx = c.transaction().map_err(store_error)?;
    let sql = format!(
        "UPDATE subscriptions SET position = $2, generation = generation + 1, {NO_HEAD} WHERE id = $1"
    );
    let changed = tx.execute(&sql, &[&id, &position]).map_err(store_error)?;
    let result = if changed == 1 {
        one(&mut tx, id)?
    } else {
        None
    };
    tx.commit().map_err(store_error)?;
    Ok(result)
}

fn delete(c: &mut postgres::Client, id: &str) -> Result<bool, StoreError> {
    let mut tx = c.transaction().map_err(store_error)?;
    tx.execute(
        "DELETE FROM dead_letters WHERE subscription_id = $1",
        &[&id],
    )
    .map_err(store_error)?;
    let n = tx
        .execute("DELETE FROM subscriptions WHERE id = $1", &[&id])
        .map_err(store_error)?;
    tx.commit().map_err(store_error)?;
    Ok(n == 1)
}

fn count(tx: &mut postgres::Transaction<'_>, sql: &str) -> Result<u64, StoreError> {
    let n: i64 = tx.query_one(sql, &[]).map_err(store_error)?.get(0);
    Ok(u64::try_from(n).unwrap_or(0))
}

fn claim(
    c: &mut postgres::Client,
    owner: &str,
    now: i64,
    until: i64,
) -> Result<Vec<Subscription>, StoreError> {
    let mut tx = c.transaction().map_err(store_error)?;
    tx.execute(
        "INSERT INTO forwarders (owner, seen_until) VALUES ($1, $2) \
         ON CONFLICT (owner) DO UPDATE SET seen_until = excluded.seen_until",
        &[&owner, &until],
    )
    .map_err(store_error)?;
    tx.execute("DELETE FROM forwarders WHERE seen_until < $1", &[&now])
        .map_err(store_error)?;
    let live = count(&mut tx, "SELECT COUNT(*) FROM forwarders")?;
    let active = count(
        &mut tx,
        "SELECT COUNT(*) FROM subscriptions WHERE state = 'active'",
    )?;
    let share = i64::try_from(share(active, live)).unwrap_or(i64::MAX);
    // Keep the oldest `share` of those still leased to us; free the rest.
    tx.execute(
        "UPDATE subscriptions SET lease_owner = NULL, lease_until = NULL \
         WHERE lease_owner = $1 AND id NOT IN (SELECT id FROM subscriptions \
         WHERE lease_owner = $1 AND state = 'active' AND lease_until >= $2 \
         ORDER BY created_at, id LIMIT $3)",
        &[&owner, &now, &share],
    )
    .map_err(store_error)?;
    let kept = tx
        .execute(
            "UPDATE subscriptions SET lease_until = $2 WHERE lease_owner = $1",
            &[&owner, &until],
        )
        .map_err(store_error)?;
    let need = share - i64::try_from(kept).unwrap_or(0);
    tx.execute(
        "UPDATE subscriptions SET lease_owner = $1, lease_until = $2 WHERE id IN \
         (SELECT id FROM subscriptions WHERE state = 'active' \
         AND (lease_owner IS NULL OR lease_until < $3) ORDER BY created_at, id LIMIT $4 \
         FOR UPDATE SKIP LOCKED)",
        &[&owner, &until, &now, &need.max(0)],
    )
    .map_err(store_error)?;
    let mine = many(
        &mut tx,
        "WHERE lease_owner = $1 AND state = 'active'",
        &[&owner],
    )?;
    tx.commit().map_err(store_error)?;
    Ok(mine)
}

fn release(c: &mut postgres::Client, owner: &str) -> Result<(), StoreError> {
    let mut tx = c.transaction().map_err(store_error)?;
    tx.execute(
        "UPDATE subscriptions SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1",
        &[&owner],
    )
    .map_err(store_error)?;
    tx.execute("DELETE FROM forwarders WHERE owner = $1", &[&owner])
        .map_err(store_error)?;
    tx.commit().map_err(store_error)
}

const FENCE: &str = "id = $1 AND lease_owner = $2 AND generation = $3";

fn step(
    c: &mut postgres::Client,
    id: &str,
    owner: &str,
    generation: i64,
    step: &Step,
) -> Result<bool, StoreError> {
    let mut tx = c.transaction().map_err(store_error)?;
    let mut run = |sql: String, extra: &[&(dyn ToSql + Sync)]| -> Result<bool, StoreError> {
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![&id, &owner, &generation];
        args.extend_from_slice(extra);
        Ok(tx.execute(&sql, &args).map_err(store_error)? == 1)
    };
    let done = match step {
        Step::Delivered { position, count } => run(
            format!(
                "UPDATE subscriptions SET position = $4, delivered = delivered + $5, {NO_HEAD} \
                 WHERE {FENCE}"
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
                    "UPDATE subscriptions SET head_seq = $4, head_message_id = $5, \
                     head_attempts = $6, head_error = $7, head_next = $8 WHERE {FENCE}"
                ),
                &[&seq, &message_id, &attempts, &error, &next],
            )?
        }
        Step::Buried(dead) => bury(&mut tx, id, owner, generation, dead)?,
        Step::Paused { reason } => run(
            format!(
                "UPDATE subscriptions SET state = 'paused', paused_reason = $4, \
                 generation = generation + 1, {NO_HEAD} WHERE {FENCE}"
            ),
            &[reason],
        )?,
        _ => false,
    };
    tx.commit().map_err(store_error)?;
    Ok(done)
}

fn bury(
    tx: &mut postgres::Transaction<'_>,
    id: &str,
    owner: &str,
    generation: i64,
    dead: &DeadLetter,
) -> Result<bool, StoreError> {
    let sql = format!("UPDATE subscriptions SET position = $4, {NO_HEAD} WHERE {FENCE}");
    let moved = tx
        .execute(&sql, &[&id, &owner, &generation, &seq_value(dead.seq)])
        .map_err(store_error)?
        == 1;
    if moved {
        tx.execute(
            "INSERT INTO dead_letters (subscription_id, seq, message_id, attempts, last_error, \
             failed_at, retry_requested) VALUES ($1, $2, $3, $4, $5, $6, FALSE) \
             ON CONFLICT (subscription_id, seq) DO UPDATE SET message_id = excluded.message_id, \
             attempts = excluded.attempts, last_error = excluded.last_error, \
             failed_at = excluded.failed_at, retry_requested = FALSE",
            &[
                &id,
                &seq_value(dead.seq),
                &dead.message_id,
                &i64::from(dead.attempts),
                &dead.last_error,
                &micros(dead.failed_at),
            ],
        )
        .map_err(store_error)?;
    }
    Ok(moved)
}

fn settle(
    c: &mut postgres::Client,
    id: &str,
    seq: i64,
    outcome: &RetryOutcome,
    at: i64,
) -> Result<(), StoreError> {
    let mut tx = c.transaction().map_err(store_error)?;
    if let RetryOutcome::Failed { last_error } = outcome {
        tx.execute(
            "UPDATE dead_letters SET attempts = attempts + 1, last_error = $3, failed_at = $4, \
             retry_requested = FALSE WHERE subscription_id = $1 AND seq = $2",
            &[&id, &seq, last_error, &at],
        )
        .map_err(store_error)?;
    } else {
        let removed = tx
            .execute(
                "DELETE FROM dead_letters WHERE subscription_id = $1 AND seq = $2",
                &[&id, &seq],
            )
            .map_err(store_error)?;
        if removed == 1 && *outcome == RetryOutcome::Delivered {
            tx.execute(
                "UPDATE subscriptions SET delivered = delivered + 1 WHERE id = $1",
                &[&id],
            )
            .map_err(store_error)?;
        }
    }
    tx.commit().map_err(store_error)
}

impl SubscriptionStore for PostgresStore {
    fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription, StoreError> {
        create(&mut *self.reader()?, new)
    }

    fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        many(&mut *self.reader()?, "", &[])
    }

    fn subscription(&self, id: &SubscriptionId) -> Result<Option<Subscription>, StoreError> {
        one(&mut *self.reader()?, id.as_str())
    }

    fn change_subscription(
        &self,
        id: &SubscriptionId,
        what: &SubscriptionChange,
    ) -> Result<Option<Subscription>, StoreError> {
        change(&mut *self.reader()?, id.as_str(), what)
    }

    fn replay(&self, id: &SubscriptionId, from: Seq) -> Result<Option<Subscription>, StoreError> {
        replay(&mut *self.reader()?, id.as_str(), from)
    }

    fn delete_subscription(&self, id: &SubscriptionId) -> Result<bool, StoreError> {
        delete(&mut *self.reader()?, id.as_str())
    }

    fn claim(&self, what: &Claim<'_>) -> Result<Vec<Subscription>, StoreError> {
        let now = micros(what.now);
        let until = micros(what.now + what.ttl);
        claim(&mut *self.ticker()?, what.owner, now, until)
    }

    fn release(&self, owner: &str) -> Result<(), StoreError> {
        release(&mut *self.ticker()?, owner)
    }

    fn record_step(&self, fence: &Fence<'_>, what: &Step) -> Result<bool, StoreError> {
        let generation = i64::try_from(fence.generation).unwrap_or(i64::MAX);
        step(
            &mut *self.reader()?,
            fence.id.as_str(),
            fence.owner,
            generation,
            what,
        )
    }

    fn dead_letters(
        &self,
        id: &SubscriptionId,
        query: &DeadLetterQuery,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let sql = format!(
            "SELECT seq, message_id, attempts, last_error, failed_at, retry_requested \
             FROM dead_letters WHERE subscription_id = $1 AND seq > $2 {} ORDER BY seq LIMIT $3",
            if query.requested_only {
                "AND retry_requested"
            } else {
                ""
            }
        );
        let limit = i64::from(query.limit);
        self.reader()?
            .query(&sql, &[&id.as_str(), &seq_value(query.after), &limit])
            .map_err(store_error)?
            .iter()
            .map(|r| dead_letter((r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5))))
            .collect()
    }

    fn request_retry(&self, id: &SubscriptionId, seq: Seq) -> Result<bool, StoreError> {
        let n = self
            .reader()?
            .execute(
                "UPDATE dead_letters SET retry_requested = TRUE \
                 WHERE subscription_id = $1 AND seq = $2",
                &[&id.as_str(), &seq_value(seq)],
            )
            .map_err(store_error)?;
        Ok(n == 1)
    }

    fn settle_retry(
        &self,
        id: &SubscriptionId,
        seq: Seq,
        outcome: &RetryOutcome,
        at: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        settle(
            &mut *self.reader()?,
            id.as_str(),
            seq_value(seq),
            outcome,
            micros(at),
        )
    }
}
