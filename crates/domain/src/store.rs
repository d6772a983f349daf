//! The [`MessageStore`] port: what hookbox needs from storage.

use crate::conversation::{ConversationPage, ConversationQuery};
use crate::delivery::{
    DeliveryStatus, Event, EventPage, EventQuery, StatusReportPage, StatusReportQuery, StatusUpdate,
};
use crate::erasure::Erasure;
use crate::feed::{DayCount, FeedItem, FeedPage, FeedQuery};
use crate::message::{Message, MessageId};
use crate::query::{MessageQuery, Page};
use crate::receipt::Receipt;
use crate::record::RawLookup;
use crate::stats::Stats;

/// What a [`MessageStore::submit`] receipt resolves to.
pub type SubmitResult = Result<Vec<InsertOutcome>, StoreError>;

/// Any underlying error, kept for logs; never shown to clients.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InsertOutcome {
    /// The message is now stored.
    Created,
    /// A message with the same id was already stored; nothing changed.
    Duplicate,
}

/// Why the store could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A temporary condition (locked, full, I/O): the caller may retry later.
    #[error("storage temporarily unavailable")]
    Unavailable(#[source] BoxError),
    /// Too much work is queued; the caller should back off and retry.
    #[error("storage overloaded")]
    Overloaded,
    /// The storage schema is not the version this build expects.
    #[error("storage schema is at version {found}, this build expects {expected}")]
    SchemaMismatch {
        /// The version found.
        found: i64,
        /// The version this build expects.
        expected: i64,
    },
    /// Anything else: a bug or corrupted data.
    #[error("storage failure")]
    Internal(#[source] BoxError),
}

impl StoreError {
    /// Whether the same call may succeed later without any change.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Overloaded)
    }

    /// The same error again, for each caller of one failed batch: causes
    /// are kept as their messages (a boxed error cannot be cloned).
    #[must_use]
    pub fn duplicate(&self) -> Self {
        match self {
            Self::Unavailable(cause) => Self::Unavailable(cause.to_string().into()),
            Self::Overloaded => Self::Overloaded,
            Self::SchemaMismatch { found, expected } => Self::SchemaMismatch {
                found: *found,
                expected: *expected,
            },
            Self::Internal(cause) => Self::Internal(cause.to_string().into()),
        }
    }
}

/// What a store's own gauges read now (its write queue, its connection
/// pool), for a metrics scrape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreGauges {
    /// Writes queued for the writer, not yet taken.
    pub write_queue_depth: u64,
    /// How many writes the queue holds before refusing (`WRITE_QUEUE`).
    pub write_queue_capacity: u64,
    /// A pool's open connections and the idle ones among them, where the
    /// store keeps a pool of connections to a server.
    pub pool: Option<PoolGauges>,
    /// Bytes this process has appended to the store's write-ahead log since
    /// it opened the store, where the store keeps one of its own (the
    /// embedded store's WAL; a server's log is the server's to report).
    pub log_bytes: Option<u64>,
}

/// A connection pool's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolGauges {
    /// Connections open now.
    pub connections: u64,
    /// Of those, the ones not in use.
    pub idle: u64,
    /// The most it opens.
    pub max: u64,
}

/// Durable, idempotent storage of messages.
///
/// Implementations are synchronous and shared across threads (callers in an
/// async runtime run them on a blocking pool). Every method is safe to call
/// concurrently with every other.
pub trait MessageStore: Send + Sync {
    /// Stores `message` unless a message with the same id is already stored.
    ///
    /// When this returns `Ok`, the outcome is durable: a created message is
    /// committed. The first message stored under an id wins; later ones with
    /// the same id change nothing, whatever their content.
    ///
    /// # Errors
    /// - [`StoreError::Overloaded`] when the store refuses new work for now;
    ///   nothing was stored.
    /// - [`StoreError::Unavailable`] on a temporary fault (disk full, I/O,
    ///   locked); nothing was stored.
    /// - [`StoreError::Internal`] on anything else.
    fn insert(&self, message: Message) -> Result<InsertOutcome, StoreError>;

    /// Stores `messages` in one transaction: when this returns `Ok`, every
    /// one of them is durable; on an error, none of them was stored. One
    /// outcome per message, in order; within the call, the first message
    /// under an id is the one stored and later ones are `Duplicate`.
    ///
    /// # Errors
    /// As [`MessageStore::insert`], for the whole call.
    fn insert_all(&self, messages: Vec<Message>) -> Result<Vec<InsertOutcome>, StoreError>;

    /// [`MessageStore::insert_all`] without waiting: the [`Receipt`]
    /// resolves to its result (the same promises) once the store has
    /// committed, and to `None` only if the store dropped the request
    /// unanswered (shutting down). Awaiting it holds no thread, so callers
    /// in an async runtime can have many inserts in flight and the store
    /// can commit them together. The default runs `insert_all` at once.
    ///
    /// # Errors
    /// In the receipt, as [`MessageStore::insert_all`].
    fn submit(&self, messages: Vec<Message>) -> Receipt<SubmitResult> {
        Receipt::ready(self.insert_all(messages))
    }

    /// One page of the messages matching `query`, with the exact total.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] on a temporary fault,
    /// [`StoreError::Internal`] otherwise.
    fn list(&self, query: &MessageQuery) -> Result<Page, StoreError>;

    /// The message stored under `id`, with its full record and feed
    /// position; `None` when none is (never stored, purged or erased).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] on a temporary fault,
    /// [`StoreError::Internal`] otherwise.
    fn get(&self, id: &MessageId) -> Result<Option<FeedItem>, StoreError>;

    /// Deletes up to `max` of the messages `what` names, in one
    /// transaction, and returns how many it deleted: fewer than `max`
    /// means none is left. Call it again for the next batch; small batches
    /// keep inserts from waiting long.
    ///
    /// An erased message is gone from everything: listing (search
    /// included), [`MessageStore::get`], [`MessageStore::raw`], the feed and
    /// the conversations. Everything else stays exact: totals, per-sender
    /// counts (a sender with no message left is gone), per-day counts,
    /// `first_message_ts`/`last_message_ts`, `q` totals, and the feed
    /// positions of every other message (numbers are never reused). An
    /// erased id is unknown again: posting it again stores it again.
    ///
    /// # Errors
    /// As [`MessageStore::purge`]; nothing was deleted.
    fn erase(&self, what: &Erasure, max: u32) -> Result<u64, StoreError>;

    /// One page of conversations: each sender with a stored message, with
    /// their count and latest message (by `seq`), the latest first. Read
    /// from kept per-sender rows, whatever the number of messages.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] on a temporary fault,
    /// [`StoreError::Internal`] otherwise.
    fn conversations(&self, query: &ConversationQuery) -> Result<ConversationPage, StoreError>;

    /// Analytics over every stored message.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] on a temporary fault,
    /// [`StoreError::Internal`] otherwise.
    fn stats(&self) -> Result<Stats, StoreError>;

    /// The messages stored after `query.after` that pass its filters, by
    /// ascending [`Seq`](crate::Seq), at most `query.limit` of them.
    ///
    /// Every created message gets a `Seq` when it commits, larger than that
    /// of every message committed before it; a reader never sees a number
    /// while a smaller one is still to become visible. So a reader that
    /// starts at [`Seq::START`](crate::Seq::START) and follows
    /// [`FeedPage::next`] sees every message exactly once, in the order the
    /// store committed them, even while writes go on and whatever their
    /// `ts`. Duplicates get no number of their own.
    ///
    /// Each new number is also at least the commit's time in microseconds
    /// since the epoch ([`Seq::at_least_now`](crate::Seq::at_least_now)): a
    /// store restored from an older backup, or filled by an import, still
    /// numbers above every position handed out before (while the clock
    /// moves forward), so a reader's `after` never comes back.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] on a temporary fault,
    /// [`StoreError::Internal`] otherwise.
    fn feed(&self, query: &FeedQuery) -> Result<FeedPage, StoreError>;

    /// The largest [`Seq`](crate::Seq) given to a committed message so far
    /// (purged ones included): [`Seq::START`](crate::Seq::START) when none
    /// was. A live reader starts here without walking the whole feed.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] on a temporary fault,
    /// [`StoreError::Internal`] otherwise.
    fn last_seq(&self) -> Result<crate::Seq, StoreError>;

    /// How many stored messages come after `after` in the feed (only those
    /// from `from`, when given), counted up to `cap`: a subscription's lag.
    /// The default walks feed pages; stores count in their index.
    ///
    /// # Errors
    /// As [`MessageStore::feed`].
    fn count_after(
        &self,
        after: crate::Seq,
        from: Option<&str>,
        cap: u64,
    ) -> Result<u64, StoreError> {
        let mut query = FeedQuery {
            after,
            from: from.map(str::to_owned),
            limit: crate::FeedLimit::MAX,
            ..FeedQuery::default()
        };
        let mut count = 0_u64;
        loop {
            let page = self.feed(&query)?;
            count += page.items.len() as u64;
            if page.items.len() < crate::FeedLimit::MAX.get() as usize || count >= cap {
                return Ok(count.min(cap));
            }
            query.after = page.next;
        }
    }

    /// How many stored messages have a `ts` on each UTC day from `first`
    /// to `last` inclusive: the days with at least one, ascending.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] on a temporary fault,
    /// [`StoreError::Internal`] otherwise.
    fn daily_counts(
        &self,
        first: time::Date,
        last: time::Date,
    ) -> Result<Vec<DayCount>, StoreError>;

    /// Deletes up to `max` of the messages the store received before
    /// `received_before` (the time hookbox stored them, not their `ts`),
    /// oldest first, and returns how many it deleted: fewer than `max`
    /// means none older is left. Call it again for the next batch; small
    /// batches keep inserts from waiting long.
    ///
    /// Everything else stays exact: listing, totals, per-sender and per-day
    /// counts, `first_message_ts`/`last_message_ts`, search, and the feed
    /// (a purged message is gone from it; numbers are never reused). A
    /// purged id is unknown again: posting it again stores it again.
    ///
    /// # Errors
    /// [`StoreError::Overloaded`] when the store refuses new work for now,
    /// [`StoreError::Unavailable`] on a temporary fault,
    /// [`StoreError::Internal`] otherwise; nothing was deleted.
    fn purge(&self, received_before: time::OffsetDateTime, max: u32) -> Result<u64, StoreError>;

    /// The raw bytes `id` was received with (the sender's JSON for the
    /// message, exactly as received).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] on a temporary fault,
    /// [`StoreError::Internal`] otherwise.
    fn raw(&self, id: &MessageId) -> Result<RawLookup, StoreError>;

    /// Keeps status reports of sent messages, durably when this returns
    /// `Ok`. A report of a state already kept for that message (a replay,
    /// or a later copy) changes nothing; returns how many were new.
    ///
    /// # Errors
    /// As [`MessageStore::insert_all`], for the whole call; on an error
    /// none was kept.
    fn record_statuses(&self, updates: Vec<StatusUpdate>) -> Result<u64, StoreError>;

    /// A sent message's status, folded from every report kept for it by
    /// [`DeliveryStatus::fold`]; `None` when none was.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] on a temporary fault,
    /// [`StoreError::Internal`] otherwise.
    fn status(&self, message_id: &str) -> Result<Option<DeliveryStatus>, StoreError>;

    /// The kept status reports themselves (one per message and state), by
    /// `message_id` then state name, after `query.after`, at most
    /// `query.limit`: what an export carries.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] on a temporary fault,
    /// [`StoreError::Internal`] otherwise.
    fn status_reports(&self, query: &StatusReportQuery) -> Result<StatusReportPage, StoreError>;

    /// Keeps events, in one transaction; one outcome each, in order. An
    /// event whose [`Event::digest`] is kept already (a replay, or a copy
    /// earlier in the call) is `Duplicate`. Created events are numbered as
    /// the feed numbers messages (their own sequence): a reader following
    /// [`EventPage::next`] sees each once, in commit order.
    ///
    /// # Errors
    /// As [`MessageStore::insert_all`], for the whole call.
    fn record_events(&self, events: Vec<Event>) -> Result<Vec<InsertOutcome>, StoreError>;

    /// The events stored after `query.after` (of `query.field` only, when
    /// set), by ascending `seq`, at most `query.limit`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] on a temporary fault,
    /// [`StoreError::Internal`] otherwise.
    fn events(&self, query: &EventQuery) -> Result<EventPage, StoreError>;

    /// Retention for what is not a message: deletes up to `max` status
    /// reports and up to `max` events received before `received_before`,
    /// oldest first, and returns how many it deleted in all (fewer than
    /// `max` means none older is left). Messages, and with them their raw
    /// bytes, go by [`MessageStore::purge`].
    ///
    /// # Errors
    /// As [`MessageStore::purge`].
    fn purge_records(
        &self,
        received_before: time::OffsetDateTime,
        max: u32,
    ) -> Result<u64, StoreError>;

    /// Its gauges now; cheap (no round trip), called at every scrape. The
    /// default reads all zero.
    fn gauges(&self) -> StoreGauges {
        StoreGauges::default()
    }

    /// Whether the store can serve now: a real round trip to the storage, and
    /// the schema at the expected version.
    ///
    /// # Errors
    /// [`StoreError::SchemaMismatch`] when the schema is not current;
    /// [`StoreError::Unavailable`] (or [`StoreError::Internal`]) when storage
    /// cannot be reached or cannot accept writes.
    fn check_ready(&self) -> Result<(), StoreError>;
}
