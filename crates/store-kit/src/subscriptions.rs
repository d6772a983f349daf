//! Subscription rows: the columns both adapters keep for a subscription
//! and its dead letters, and the rules that turn them back into domain
//! values (a corrupt row is a [`StoreError`], never an invalid
//! subscription), plus the share of subscriptions one worker leases.

use domain::{
    DeadLetter, HeadFailure, Kind, Msisdn, SearchText, Seq, StoreError, Subscription,
    SubscriptionFilter, SubscriptionId, SubscriptionSecret, SubscriptionState, TargetUrl,
};
use time::OffsetDateTime;

/// Kinds are kept in one column, joined by this (a kind never holds it in
/// practice; one that did would only split into two kinds that never match).
pub const KIND_SEPARATOR: char = '\u{1f}';

/// The SELECT list both adapters read a [`SubscriptionRow`] from, in its
/// field order, for `FROM subscriptions s` (the dead letters counted).
pub const COLUMNS: &str = "id, url, secret, filter_from, filter_q, filter_kinds, state, \
    paused_reason, position, generation, head_seq, head_message_id, head_attempts, head_error, \
    head_next, delivered, \
    (SELECT COUNT(*) FROM dead_letters d WHERE d.subscription_id = s.id), \
    created_at, lease_owner, lease_until";

/// A subscription's columns, as read.
#[derive(Debug, Clone, Default)]
pub struct SubscriptionRow {
    /// `id`.
    pub id: String,
    /// `url`.
    pub url: String,
    /// `secret`.
    pub secret: String,
    /// `filter_from`.
    pub filter_from: Option<String>,
    /// `filter_q`.
    pub filter_q: Option<String>,
    /// `filter_kinds`, joined by [`KIND_SEPARATOR`].
    pub filter_kinds: String,
    /// `state`.
    pub state: String,
    /// `paused_reason`.
    pub paused_reason: Option<String>,
    /// `position`.
    pub position: i64,
    /// `generation`.
    pub generation: i64,
    /// `head_seq`, `head_message_id`, `head_attempts`, `head_error`,
    /// `head_next` (µs), all set or all null.
    pub head: Option<(i64, String, i64, String, i64)>,
    /// `delivered`.
    pub delivered: i64,
    /// Rows on the dead-letter list.
    pub dead_letters: i64,
    /// `created_at` (µs).
    pub created_at: i64,
    /// `lease_owner`, `lease_until` (µs).
    pub lease: Option<(String, i64)>,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Internal(format!("stored subscription has an invalid {what}").into())
}

/// Microseconds since the epoch, as both stores keep instants here.
#[must_use]
pub fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

/// An instant back from [`micros`].
///
/// # Errors
/// [`StoreError::Internal`] outside the representable range.
pub fn from_micros(us: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000).map_err(|_| corrupt("instant"))
}

/// The kinds column of a filter.
#[must_use]
pub fn join_kinds(filter: &SubscriptionFilter) -> String {
    let kinds: Vec<&str> = filter.kinds.iter().map(Kind::as_str).collect();
    kinds.join(&KIND_SEPARATOR.to_string())
}

/// A filter's `from` column.
#[must_use]
pub fn from_column(filter: &SubscriptionFilter) -> Option<&str> {
    filter.from.as_ref().map(Msisdn::as_str)
}

/// A filter's `q` column.
#[must_use]
pub fn q_column(filter: &SubscriptionFilter) -> Option<&str> {
    filter.q.as_ref().map(SearchText::as_str)
}

fn seq(value: i64) -> Result<Seq, StoreError> {
    Seq::new(value).map_err(|_| corrupt("position"))
}

fn count(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| corrupt("count"))
}

impl SubscriptionRow {
    /// The subscription the row holds.
    ///
    /// # Errors
    /// [`StoreError::Internal`] naming the column that breaks the rules.
    pub fn into_subscription(self) -> Result<Subscription, StoreError> {
        let filter = SubscriptionFilter {
            from: self
                .filter_from
                .map(|f| Msisdn::new(f).map_err(|_| corrupt("filter")))
                .transpose()?,
            q: self
                .filter_q
                .map(|q| SearchText::new(&q).map_err(|_| corrupt("filter")))
                .transpose()?,
            kinds: self
                .filter_kinds
                .split(KIND_SEPARATOR)
                .filter(|k| !k.is_empty())
                .map(|k| Kind::new(k).ok_or_else(|| corrupt("filter")))
                .collect::<Result<_, _>>()?,
        };
        let head = self
            .head
            .map(|(s, id, attempts, error, next)| {
                Ok::<_, StoreError>(HeadFailure {
                    seq: seq(s)?,
                    message_id: id,
                    attempts: u32::try_from(attempts).map_err(|_| corrupt("attempts"))?,
                    last_error: error,
                    next_attempt: from_micros(next)?,
                })
            })
            .transpose()?;
        Ok(Subscription {
            id: SubscriptionId::parse(&self.id).ok_or_else(|| corrupt("id"))?,
            url: TargetUrl::parse(&self.url).map_err(|_| corrupt("url"))?,
            secret: SubscriptionSecret::from_stored(&self.secret)
                .ok_or_else(|| corrupt("secret"))?,
            filter,
            state: SubscriptionState::from_name(&self.state).ok_or_else(|| corrupt("state"))?,
            paused_reason: self.paused_reason,
            position: seq(self.position)?,
            generation: count(self.generation)?,
            head,
            delivered: count(self.delivered)?,
            dead_letters: count(self.dead_letters)?,
            created_at: from_micros(self.created_at)?,
            lease: self
                .lease
                .map(|(owner, until)| Ok::<_, StoreError>((owner, from_micros(until)?)))
                .transpose()?,
        })
    }
}

/// A dead letter's columns: `seq`, `message_id`, `attempts`, `last_error`,
/// `failed_at` (µs), `retry_requested`.
///
/// # Errors
/// [`StoreError::Internal`] for a corrupt row.
pub fn dead_letter(
    (s, message_id, attempts, last_error, failed_at, retry_requested): (
        i64,
        String,
        i64,
        String,
        i64,
        bool,
    ),
) -> Result<DeadLetter, StoreError> {
    Ok(DeadLetter {
        seq: seq(s)?,
        message_id,
        attempts: u32::try_from(attempts).map_err(|_| corrupt("attempts"))?,
        last_error,
        failed_at: from_micros(failed_at)?,
        retry_requested,
    })
}

/// How many active subscriptions one of `live` workers leases: an equal
/// share, rounded up (at least one worker: the caller is live).
#[must_use]
pub fn share(active: u64, live: u64) -> u64 {
    active.div_ceil(live.max(1))
}

/// The columns of a head failure, for an UPDATE.
#[must_use]
pub fn head_columns(head: &HeadFailure) -> (i64, &str, i64, &str, i64) {
    (
        seq_value(head.seq),
        &head.message_id,
        i64::from(head.attempts),
        &head.last_error,
        micros(head.next_attempt),
    )
}

/// A position as a column value.
#[must_use]
pub fn seq_value(seq: Seq) -> i64 {
    i64::try_from(seq.get()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_up() {
        assert_eq!(
            [share(3, 2), share(4, 2), share(0, 3), share(5, 0)],
            [2, 2, 0, 5]
        );
    }

    #[test]
    fn a_corrupt_row_is_an_error() {
        let row = SubscriptionRow {
            id: "nope".into(),
            ..SubscriptionRow::default()
        };
        assert!(matches!(
            row.into_subscription(),
            Err(StoreError::Internal(_))
        ));
    }
}
