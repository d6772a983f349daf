//! The [`SubscriptionStore`] port: subscriptions, their positions, leases
//! and dead letters, kept where every replica sees them.

use std::time::Duration;

use super::record::{
    HeadFailure, Subscription, SubscriptionFilter, SubscriptionId, SubscriptionSecret,
    SubscriptionState,
};
use super::target::TargetUrl;
use crate::feed::Seq;
use crate::store::StoreError;

/// Where a new subscription starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Start {
    /// After every message stored so far.
    #[default]
    Now,
    /// With the first stored message.
    Beginning,
    /// With this feed position (inclusive).
    At(Seq),
}

impl Start {
    /// The position a subscription starting here has handled, given the
    /// feed's last position.
    #[must_use]
    pub fn position(self, last: Seq) -> Seq {
        match self {
            Self::Now => last,
            Self::Beginning => Seq::START,
            Self::At(seq) => {
                Seq::new(i64::try_from(seq.get()).unwrap_or(i64::MAX) - 1).unwrap_or(Seq::START)
            }
        }
    }
}

/// A subscription to create.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    /// Its id.
    pub id: SubscriptionId,
    /// Where deliveries go.
    pub url: TargetUrl,
    /// What signs them.
    pub secret: SubscriptionSecret,
    /// Which messages it delivers.
    pub filter: SubscriptionFilter,
    /// Where it starts.
    pub start: Start,
    /// Now.
    pub created_at: time::OffsetDateTime,
}

/// What a `PATCH` changes; `None` leaves a part as it is.
#[derive(Debug, Clone, Default)]
pub struct SubscriptionChange {
    /// A new target.
    pub url: Option<TargetUrl>,
    /// New filters (all three at once).
    pub filter: Option<SubscriptionFilter>,
    /// Pause or resume.
    pub state: Option<SubscriptionState>,
}

/// A message whose every attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its feed position.
    pub seq: Seq,
    /// Its id.
    pub message_id: String,
    /// Attempts made.
    pub attempts: u32,
    /// What the last one came to.
    pub last_error: String,
    /// When it was given up on (or last retried).
    pub failed_at: time::OffsetDateTime,
    /// Whether a client asked for another attempt that has not run yet.
    pub retry_requested: bool,
}

/// Which dead letters to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadLetterQuery {
    /// Only those after this position.
    pub after: Seq,
    /// At most this many, by ascending position.
    pub limit: u32,
    /// Only those with a retry requested.
    pub requested_only: bool,
}

/// A worker asking for its share of the active subscriptions.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    /// The worker's name, unique per process.
    pub owner: &'a str,
    /// Now.
    pub now: time::OffsetDateTime,
    /// How long the leases (and the worker's heartbeat) last.
    pub ttl: Duration,
}

/// What a worker's write is valid for: the subscription, still leased to
/// `owner`, still at `generation`.
#[derive(Debug, Clone, Copy)]
pub struct Fence<'a> {
    /// The subscription.
    pub id: &'a SubscriptionId,
    /// The worker holding its lease.
    pub owner: &'a str,
    /// The generation the worker read.
    pub generation: u64,
}

/// What a worker records.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Everything up to `position` is handled, `count` more of them
    /// delivered; any head failure is cleared.
    Delivered {
        /// The new position.
        position: Seq,
        /// Messages delivered since the last step.
        count: u64,
    },
    /// The head message failed and will be retried.
    Failing(HeadFailure),
    /// The head message failed for the last time: onto the dead-letter list
    /// (replacing an earlier entry for the same position), and the position
    /// moves past it.
    Buried(DeadLetter),
    /// The consumer said `410 Gone`: the subscription pauses.
    Paused {
        /// Why (`"gone"`).
        reason: String,
    },
}

/// How a requested dead-letter retry went.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryOutcome {
    /// Delivered: the dead letter is removed and counted as delivered.
    Delivered,
    /// The message is no longer stored (erased or purged): the dead letter
    /// is removed, nothing delivered.
    Dropped,
    /// Failed again: one more attempt, the error kept, the request cleared.
    Failed {
        /// What it came to.
        last_error: String,
    },
}

/// Storage for subscriptions. Every store of messages that supports
/// forwarding implements it; the contract suite
/// (`subscription_store_contract!`) checks each promise.
///
/// Subscriptions are listed by creation (oldest first, then id). Writes
/// from workers carry a [`Fence`] and change nothing once the lease or the
/// generation has moved, so a worker that lost its lease, or read a
/// subscription before a change, cannot undo a newer decision.
pub trait SubscriptionStore: Send + Sync {
    /// Creates a subscription, resolving its start against the feed's last
    /// position in the same transaction.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot write.
    fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription, StoreError>;

    /// Every subscription, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot read.
    fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError>;

    /// One subscription, or `None`.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot read.
    fn subscription(&self, id: &SubscriptionId) -> Result<Option<Subscription>, StoreError>;

    /// Applies a change and moves the generation; resuming clears the pause
    /// reason and makes a held-back message due at once. `None` when there
    /// is no such subscription.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot write.
    fn change_subscription(
        &self,
        id: &SubscriptionId,
        change: &SubscriptionChange,
    ) -> Result<Option<Subscription>, StoreError>;

    /// Moves the position back (or forward) so that delivery goes on with
    /// `from` (inclusive); clears the head failure and moves the
    /// generation. `None` when there is no such subscription.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot write.
    fn replay(&self, id: &SubscriptionId, from: Seq) -> Result<Option<Subscription>, StoreError>;

    /// Deletes a subscription and its dead letters; `false` when there was
    /// none.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot write.
    fn delete_subscription(&self, id: &SubscriptionId) -> Result<bool, StoreError>;

    /// Records the worker's heartbeat (until `now + ttl`) and returns the
    /// active subscriptions leased to it: its share, the active ones
    /// divided by the live workers, rounded up. It renews the leases it
    /// holds, lets go of any beyond its share, and takes free or expired
    /// ones up to it. A subscription is leased to one worker at a time.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot write.
    fn claim(&self, claim: &Claim<'_>) -> Result<Vec<Subscription>, StoreError>;

    /// Lets go of every lease and the heartbeat of `owner` (at shutdown),
    /// so that another worker takes over at once.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot write.
    fn release(&self, owner: &str) -> Result<(), StoreError>;

    /// Records a worker's step; `false` (and nothing written) when the
    /// fence no longer holds: the lease moved, the generation moved, or the
    /// subscription is gone.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot write.
    fn record_step(&self, fence: &Fence<'_>, step: &Step) -> Result<bool, StoreError>;

    /// The subscription's dead letters by ascending position.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot read.
    fn dead_letters(
        &self,
        id: &SubscriptionId,
        query: &DeadLetterQuery,
    ) -> Result<Vec<DeadLetter>, StoreError>;

    /// Asks for one more attempt at a dead letter; `false` when there is no
    /// such dead letter.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot write.
    fn request_retry(&self, id: &SubscriptionId, seq: Seq) -> Result<bool, StoreError>;

    /// Records how a requested retry went.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot write.
    fn settle_retry(
        &self,
        id: &SubscriptionId,
        seq: Seq,
        outcome: &RetryOutcome,
        at: time::OffsetDateTime,
    ) -> Result<(), StoreError>;
}
