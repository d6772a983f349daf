//! What senders report besides messages: the delivery statuses of the
//! messages a business sent ([`StatusUpdate`], folded into a
//! [`DeliveryStatus`]), and every other change, kept raw as an [`Event`].

use sha2::{Digest, Sha256};

use crate::feed::Seq;
use crate::timestamp::Timestamp;

/// Where a sent message is. `sent` < `delivered` < `read`; `failed` is
/// final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DeliveryState {
    /// Accepted by the network.
    Sent,
    /// On the recipient's device.
    Delivered,
    /// Opened by the recipient.
    Read,
    /// Could not be delivered (final).
    Failed,
}

impl DeliveryState {
    /// Every state, in rank order.
    pub const ALL: [Self; 4] = [Self::Sent, Self::Delivered, Self::Read, Self::Failed];

    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
        }
    }

    /// The state with this wire name; `None` for any other status.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// One status report for one sent message, as the sender made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    message_id: String,
    recipient: Option<String>,
    state: DeliveryState,
    ts: Timestamp,
    errors: Vec<Vec<u8>>,
}

impl StatusUpdate {
    /// A report that `message_id` reached `state` at `ts`; `None` for an
    /// empty id, one over 1024 characters or one holding U+0000.
    #[must_use]
    pub fn new(message_id: &str, state: DeliveryState, ts: Timestamp) -> Option<Self> {
        let ok = !message_id.is_empty()
            && message_id.chars().count() <= crate::MAX_ENVELOPE_CHARS
            && !message_id.contains('\0');
        ok.then(|| Self {
            message_id: message_id.to_owned(),
            recipient: None,
            state,
            ts,
            errors: Vec::new(),
        })
    }

    /// With the recipient (`recipient_id`).
    #[must_use]
    pub fn with_recipient(mut self, recipient: Option<&str>) -> Self {
        self.recipient = recipient
            .filter(|r| !r.is_empty() && !r.contains('\0'))
            .map(str::to_owned);
        self
    }

    /// With the sender's error objects (raw JSON each), for a failure.
    #[must_use]
    pub fn with_errors(mut self, errors: Vec<Vec<u8>>) -> Self {
        self.errors = errors;
        self
    }

    /// The sent message's id.
    #[must_use]
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// Its recipient.
    #[must_use]
    pub fn recipient(&self) -> Option<&str> {
        self.recipient.as_deref()
    }

    /// The state reported.
    #[must_use]
    pub fn state(&self) -> DeliveryState {
        self.state
    }

    /// When the sender says it happened.
    #[must_use]
    pub fn ts(&self) -> &Timestamp {
        &self.ts
    }

    /// The error objects, raw.
    #[must_use]
    pub fn errors(&self) -> &[Vec<u8>] {
        &self.errors
    }
}

/// A sent message's status: every state seen once, ordered by the sender's
/// time, and where it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryStatus {
    /// The sent message's id.
    pub message_id: String,
    /// Its recipient, as first reported.
    pub recipient: Option<String>,
    /// Where it is: the furthest state seen, `failed` once seen.
    pub state: DeliveryState,
    /// Each state seen, once (its first report), by time, then rank.
    pub history: Vec<(DeliveryState, Timestamp)>,
    /// The error objects of its failure, raw JSON each.
    pub errors: Vec<Vec<u8>>,
}

impl DeliveryStatus {
    /// Folds the reports kept for one message (in any order; replays
    /// included) into its status: the first report of each state counts,
    /// later copies change nothing, so statuses arriving out of order
    /// (`delivered` before `sent`) or twice give the same answer. `None`
    /// when there is no report.
    #[must_use]
    pub fn fold(updates: &[StatusUpdate]) -> Option<Self> {
        let first = updates.first()?;
        let mut history: Vec<(DeliveryState, Timestamp)> = Vec::new();
        let mut errors = Vec::new();
        for update in updates {
            if history.iter().any(|(s, _)| *s == update.state) {
                continue;
            }
            history.push((update.state, update.ts.clone()));
            errors.extend(update.errors.iter().cloned());
        }
        history.sort_by(|(a, at), (b, bt)| at.cmp_instant(bt).then(a.cmp(b)));
        let state = history.iter().map(|(s, _)| *s).max().unwrap_or(first.state);
        Some(Self {
            message_id: first.message_id.clone(),
            recipient: updates.iter().find_map(|u| u.recipient.clone()),
            state,
            history,
            errors,
        })
    }
}

/// A change the sender reported that is not a message nor a status (a
/// template's review, an account update, a notification of another
/// object), kept raw so that nothing is lost. Replays are recognised by the
/// SHA-256 of the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    field: String,
    raw: Vec<u8>,
    digest: [u8; 32],
}

impl Event {
    /// An event of `field` (`message_template_status_update`, … or the
    /// notification's `object` when it is not a business account) with its
    /// raw JSON. An empty or NUL-holding field becomes `unknown`.
    #[must_use]
    pub fn new(field: &str, raw: Vec<u8>) -> Self {
        let field = if field.is_empty() || field.contains('\0') {
            "unknown"
        } else {
            field
        };
        let mut hasher = Sha256::new();
        hasher.update(field.as_bytes());
        hasher.update([0]);
        hasher.update(&raw);
        Self {
            field: field.chars().take(crate::MAX_ENVELOPE_CHARS).collect(),
            digest: hasher.finalize().into(),
            raw,
        }
    }

    /// What changed.
    #[must_use]
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The change as received.
    #[must_use]
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The SHA-256 of `field`, a zero byte and the raw bytes: the key that
    /// makes a replay a duplicate.
    #[must_use]
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }
}

/// A stored event with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Where it is in the order of storage (numbered apart from messages).
    pub seq: Seq,
    /// The event.
    pub event: Event,
    /// When hookbox stored it.
    pub received_at: time::OffsetDateTime,
}

/// Which events to read: after a position, at most `limit`, of one field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Events stored after this position.
    pub after: Seq,
    /// At most this many.
    pub limit: crate::FeedLimit,
    /// Of this field only.
    pub field: Option<String>,
}

/// One page of events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPage {
    /// By ascending `seq`.
    pub items: Vec<StoredEvent>,
    /// Where the next page starts: the last item's `seq`, or the query's
    /// `after` when the page is empty.
    pub next: Seq,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(state: DeliveryState, ts: &str) -> StatusUpdate {
        StatusUpdate::new("wamid.1", state, Timestamp::parse(ts).expect("ts")).expect("id")
    }

    #[test]
    fn statuses_only_move_forward_and_replays_change_nothing() {
        use DeliveryState::*;
        let delivered = update(Delivered, "2025-01-01T00:00:02Z");
        let sent = update(Sent, "2025-01-01T00:00:01Z").with_recipient(Some("16315551181"));
        let read = update(Read, "2025-01-01T00:00:03Z");
        let s = DeliveryStatus::fold(&[delivered.clone(), sent.clone()]).expect("status");
        assert_eq!(s.state, Delivered);
        assert_eq!(s.recipient.as_deref(), Some("16315551181"));
        let all = [delivered.clone(), sent, read.clone(), read, delivered];
        let s = DeliveryStatus::fold(&all).expect("status");
        assert_eq!(s.state, Read);
        let states: Vec<DeliveryState> = s.history.iter().map(|(s, _)| *s).collect();
        assert_eq!(states, [Sent, Delivered, Read]);
        let failed = update(Failed, "2025-01-01T00:00:04Z").with_errors(vec![b"{}".to_vec()]);
        let late_read = update(Read, "2025-01-01T00:00:05Z");
        let s = DeliveryStatus::fold(&[failed, late_read]).expect("status");
        assert_eq!((s.state, s.errors.len()), (Failed, 1));
        assert!(DeliveryStatus::fold(&[]).is_none());
    }

    #[test]
    fn events_are_keyed_by_their_bytes() {
        let a = Event::new("account_update", b"{\"a\":1}".to_vec());
        assert_eq!(
            a.digest(),
            Event::new("account_update", b"{\"a\":1}".to_vec()).digest()
        );
        assert_ne!(
            a.digest(),
            Event::new("account_update", b"{\"a\":2}".to_vec()).digest()
        );
        assert_ne!(
            a.digest(),
            Event::new("other", b"{\"a\":1}".to_vec()).digest()
        );
        assert_eq!(Event::new("", Vec::new()).field(), "unknown");
    }
}

/// Where a page of kept status reports starts: after this message's report
/// of this state, in `(message_id, state name)` byte order.
pub type StatusKey = (String, DeliveryState);

/// A request for kept status reports, to export them: one per (message,
/// state), by `message_id` then state name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusReportQuery {
    /// Only reports after this one; from the start when `None`.
    pub after: Option<StatusKey>,
    /// Page size.
    pub limit: crate::FeedLimit,
}

/// One page of kept status reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReportPage {
    /// The reports, in order.
    pub items: Vec<StatusUpdate>,
    /// Where the next page starts; `None` when this one is the last.
    pub next: Option<StatusKey>,
}

impl StatusReportPage {
    /// A page of `items`, read with one more than `limit` asked for: the
    /// extra one only says that a next page exists.
    #[must_use]
    pub fn from_overfetch(mut items: Vec<StatusUpdate>, limit: crate::FeedLimit) -> Self {
        let limit = usize::try_from(limit.get()).unwrap_or(usize::MAX);
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more {
            items.last().map(|u| (u.message_id().to_owned(), u.state()))
        } else {
            None
        };
        Self { items, next }
    }
}
