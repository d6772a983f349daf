//! What the subscription routes answer.

use domain::{DeadLetter, Subscription};
use serde::Serialize;

use crate::instants::rfc3339;

#[derive(Serialize)]
struct HeldBack<'a> {
    seq: u64,
    message_id: &'a str,
    attempts: u32,
    last_error: &'a str,
    next_attempt_at: String,
}

/// One subscription, with its lag.
#[derive(Serialize)]
pub(crate) struct SubscriptionDto<'a> {
    id: &'a str,
    url: &'a str,
    from: Option<&'a str>,
    q: Option<&'a str>,
    kinds: Vec<&'a str>,
    state: &'static str,
    paused_reason: Option<&'a str>,
    /// The last feed position handled; delivery goes on after it.
    position: u64,
    /// Matching messages after the position (exact up to `LAG_CAP`).
    lag: u64,
    lag_capped: bool,
    delivered: u64,
    dead_letters: u64,
    /// Whether a failing message holds back the ones after it.
    retrying: bool,
    held_back: Option<HeldBack<'a>>,
    last_error: Option<&'a str>,
    created_at: String,
    /// The replica delivering it (`<pid>-<start>`), while its lease runs.
    leased_by: Option<&'a str>,
    lease_expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
}

impl<'a> SubscriptionDto<'a> {
    pub(crate) fn new(sub: &'a Subscription, lag: u64) -> Self {
        Self {
            id: sub.id.as_str(),
            url: sub.url.as_str(),
            from: sub.filter.from.as_ref().map(domain::Msisdn::as_str),
            q: sub.filter.q.as_ref().map(domain::SearchText::as_str),
            kinds: sub.filter.kinds.iter().map(domain::Kind::as_str).collect(),
            state: sub.state.as_str(),
            paused_reason: sub.paused_reason.as_deref(),
            position: sub.position.get(),
            lag,
            lag_capped: lag >= domain::LAG_CAP,
            delivered: sub.delivered,
            dead_letters: sub.dead_letters,
            retrying: sub.head.is_some(),
            held_back: sub.head.as_ref().map(|h| HeldBack {
                seq: h.seq.get(),
                message_id: &h.message_id,
                attempts: h.attempts,
                last_error: &h.last_error,
                next_attempt_at: rfc3339(h.next_attempt),
            }),
            last_error: sub.head.as_ref().map(|h| h.last_error.as_str()),
            created_at: rfc3339(sub.created_at),
            leased_by: sub.lease.as_ref().map(|(owner, _)| owner.as_str()),
            lease_expires_at: sub.lease.as_ref().map(|(_, until)| rfc3339(*until)),
            secret: None,
        }
    }

    /// With the secret: the answer to `POST /subscriptions` alone.
    pub(crate) fn with_secret(mut self, sub: &'a Subscription) -> Self {
        self.secret = Some(sub.secret.expose());
        self
    }
}

/// `GET /subscriptions`.
#[derive(Serialize)]
pub(crate) struct ListDto<'a> {
    pub(crate) data: Vec<SubscriptionDto<'a>>,
}

#[derive(Serialize)]
struct DeadLetterDto<'a> {
    seq: u64,
    message_id: &'a str,
    attempts: u32,
    last_error: &'a str,
    failed_at: String,
    retry_requested: bool,
}

/// `GET /subscriptions/{id}/dead-letters`.
#[derive(Serialize)]
pub(crate) struct DeadLettersDto<'a> {
    data: Vec<DeadLetterDto<'a>>,
    next_after: Option<u64>,
}

impl<'a> DeadLettersDto<'a> {
    pub(crate) fn new(items: &'a [DeadLetter], limit: usize) -> Self {
        Self {
            data: items
                .iter()
                .map(|d| DeadLetterDto {
                    seq: d.seq.get(),
                    message_id: &d.message_id,
                    attempts: d.attempts,
                    last_error: &d.last_error,
                    failed_at: rfc3339(d.failed_at),
                    retry_requested: d.retry_requested,
                })
                .collect(),
            next_after: (items.len() == limit)
                .then(|| items.last().map(|d| d.seq.get()))
                .flatten(),
        }
    }
}
