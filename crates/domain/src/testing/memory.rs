//! [`MemoryStore`]: the port's rules over a `Vec`, for tests: the HTTP
//! layer's fake, and the oracle real stores are compared with.

use std::sync::Mutex;

use crate::conversation::{Conversation, ConversationPage, ConversationQuery};
use crate::delivery::{
    DeliveryStatus, Event, EventPage, EventQuery, StatusReportPage, StatusReportQuery,
    StatusUpdate, StoredEvent,
};
use crate::erasure::Erasure;
use crate::feed::{DayCount, FeedItem, FeedPage, FeedQuery, Seq};
use crate::message::{Message, MessageId};
use crate::query::{Cursor, MessageQuery, Order, Page};
use crate::record::RawLookup;
use crate::stats::{SenderCount, Stats, TOP_SENDERS};
use crate::store::{InsertOutcome, MessageStore, StoreError};

/// Every message in memory, kept in the port's order. Not for production:
/// each call copies or scans everything.
#[derive(Debug, Default)]
pub struct MemoryStore {
    messages: Mutex<Messages>,
}

#[derive(Debug, Default)]
struct Messages {
    /// Sorted by (instant, `message_id`).
    sorted: Vec<Message>,
    /// In the order stored, with their numbers (1, 2, 3…) and times.
    stored: Vec<FeedItem>,
    /// The largest number given (purges never give one back).
    last_seq: i64,
    /// Status reports, in the order kept, with when.
    statuses: Vec<(StatusUpdate, time::OffsetDateTime)>,
    /// Events, in the order stored.
    events: Vec<StoredEvent>,
    /// The largest event number given.
    last_event_seq: i64,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn all(&self) -> Result<std::sync::MutexGuard<'_, Messages>, StoreError> {
        self.messages
            .lock()
            .map_err(|_| StoreError::Internal("memory store lock poisoned".into()))
    }
}

/// The port's order: instant, then `message_id` byte-wise.
fn order_key(m: &Message) -> (String, &str) {
    (m.ts().sort_key(), m.id().as_str())
}

impl MessageStore for MemoryStore {
    fn insert(&self, message: Message) -> Result<InsertOutcome, StoreError> {
        let mut all = self.all()?;
        if all.sorted.iter().any(|m| m.id() == message.id()) {
            return Ok(InsertOutcome::Duplicate);
        }
        let key = order_key(&message);
        let at = all.sorted.partition_point(|m| order_key(m) < key);
        all.sorted.insert(at, message.clone());
        all.last_seq = (all.last_seq + 1).max(Seq::at_least_now().as_i64());
        let seq = Seq::new(all.last_seq).unwrap_or_default();
        all.stored.push(FeedItem {
            seq,
            message,
            received_at: time::OffsetDateTime::now_utc(),
        });
        Ok(InsertOutcome::Created)
    }

    fn insert_all(&self, messages: Vec<Message>) -> Result<Vec<InsertOutcome>, StoreError> {
        messages.into_iter().map(|m| self.insert(m)).collect()
    }

    fn list(&self, query: &MessageQuery) -> Result<Page, StoreError> {
        let all = self.all()?;
        let mut matching: Vec<&Message> = all.sorted.iter().filter(|m| query.admits(m)).collect();
        if query.order == Order::Desc {
            matching.reverse();
        }
        let total = u64::try_from(matching.len()).unwrap_or(u64::MAX);
        let limit = usize::try_from(query.limit.get()).unwrap_or(usize::MAX);
        let offset = usize::try_from(query.offset.get()).unwrap_or(usize::MAX);
        let mut rest = matching
            .into_iter()
            .filter(|m| query.after.as_ref().is_none_or(|c| query.is_past(c, m)))
            .skip(offset);
        let messages: Vec<Message> = rest.by_ref().take(limit).cloned().collect();
        let next = if rest.next().is_some() {
            messages.last().map(Cursor::after)
        } else {
            None
        };
        Ok(Page {
            messages,
            total,
            next,
        })
    }

    fn get(&self, id: &MessageId) -> Result<Option<FeedItem>, StoreError> {
        let all = self.all()?;
        Ok(all
            .stored
            .iter()
            .find(|item| item.message.id() == id)
            .cloned())
    }

    fn erase(&self, what: &Erasure, max: u32) -> Result<u64, StoreError> {
        let mut all = self.all()?;
        let gone: Vec<MessageId> = all
            .stored
            .iter()
            .filter(|item| what.covers(&item.message))
            .take(usize::try_from(max).unwrap_or(usize::MAX))
            .map(|item| item.message.id().clone())
            .collect();
        all.stored.retain(|item| !gone.contains(item.message.id()));
        all.sorted.retain(|m| !gone.contains(m.id()));
        Ok(u64::try_from(gone.len()).unwrap_or(u64::MAX))
    }

    fn conversations(&self, query: &ConversationQuery) -> Result<ConversationPage, StoreError> {
        let all = self.all()?;
        let mut latest: Vec<Conversation> = Vec::new();
        for item in all.stored.iter().rev() {
            match latest.iter_mut().find(|c| c.from == *item.message.from()) {
                Some(c) => c.message_count += 1,
                None => latest.push(Conversation {
                    from: item.message.from().clone(),
                    message_count: 1,
                    last: item.clone(),
                }),
            }
        }
        let limit = usize::try_from(query.limit.get()).unwrap_or(usize::MAX);
        let conversations: Vec<Conversation> = latest
            .into_iter()
            .filter(|c| query.after.is_none_or(|a| c.last.seq < a.seq()))
            .take(limit.saturating_add(1))
            .collect();
        Ok(ConversationPage::from_overfetch(conversations, query.limit))
    }

    fn stats(&self) -> Result<Stats, StoreError> {
        let all = self.all()?;
        let mut senders: Vec<SenderCount> = Vec::new();
        for m in &all.sorted {
            match senders.iter_mut().find(|s| &s.from == m.from()) {
                Some(s) => s.count += 1,
                None => senders.push(SenderCount {
                    from: m.from().clone(),
                    count: 1,
                }),
            }
        }
        let senders_count = u64::try_from(senders.len()).unwrap_or(u64::MAX);
        senders.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.from.as_str().cmp(b.from.as_str()))
        });
        senders.truncate(TOP_SENDERS);
        Ok(Stats {
            total_messages: u64::try_from(all.sorted.len()).unwrap_or(u64::MAX),
            senders_count,
            top_senders: senders,
            first_message_ts: all.sorted.first().map(|m| m.ts().clone()),
            last_message_ts: all.sorted.last().map(|m| m.ts().clone()),
        })
    }

    fn feed(&self, query: &FeedQuery) -> Result<FeedPage, StoreError> {
        let all = self.all()?;
        let items: Vec<FeedItem> = all
            .stored
            .iter()
            .filter(|item| item.seq > query.after && query.admits(&item.message))
            .take(usize::try_from(query.limit.get()).unwrap_or(usize::MAX))
            .cloned()
            .collect();
        let next = items.last().map_or(query.after, |item| item.seq);
        Ok(FeedPage { items, next })
    }

    fn purge(&self, received_before: time::OffsetDateTime, max: u32) -> Result<u64, StoreError> {
        let mut all = self.all()?;
        let old = all
            .stored
            .iter()
            .take_while(|item| item.received_at < received_before)
            .take(usize::try_from(max).unwrap_or(usize::MAX))
            .count();
        let gone: Vec<FeedItem> = all.stored.drain(..old).collect();
        all.sorted
            .retain(|m| !gone.iter().any(|g| g.message.id() == m.id()));
        Ok(u64::try_from(old).unwrap_or(u64::MAX))
    }

    fn last_seq(&self) -> Result<Seq, StoreError> {
        Ok(Seq::new(self.all()?.last_seq).unwrap_or_default())
    }

    fn daily_counts(
        &self,
        first: time::Date,
        last: time::Date,
    ) -> Result<Vec<DayCount>, StoreError> {
        let all = self.all()?;
        let mut days: Vec<DayCount> = Vec::new();
        for day in all.sorted.iter().map(|m| m.ts().instant().date()) {
            if day < first || day > last {
                continue;
            }
            match days.last_mut() {
                Some(c) if c.day == day => c.count += 1,
                _ => days.push(DayCount { day, count: 1 }),
            }
        }
        Ok(days)
    }

    fn check_ready(&self) -> Result<(), StoreError> {
        self.all().map(|_| ())
    }

    fn raw(&self, id: &MessageId) -> Result<RawLookup, StoreError> {
        let all = self.all()?;
        Ok(
            match all.stored.iter().find(|item| item.message.id() == id) {
                None => RawLookup::NotFound,
                Some(item) => item
                    .message
                    .envelope()
                    .raw()
                    .map_or(RawLookup::NotKept, |raw| RawLookup::Bytes(raw.to_vec())),
            },
        )
    }

    fn record_statuses(&self, updates: Vec<StatusUpdate>) -> Result<u64, StoreError> {
        let mut all = self.all()?;
        let mut new = 0;
        for update in updates {
            let known = all
                .statuses
                .iter()
                .any(|(u, _)| u.message_id() == update.message_id() && u.state() == update.state());
            if !known {
                all.statuses.push((update, time::OffsetDateTime::now_utc()));
                new += 1;
            }
        }
        Ok(new)
    }

    fn status(&self, message_id: &str) -> Result<Option<DeliveryStatus>, StoreError> {
        let all = self.all()?;
        let kept: Vec<StatusUpdate> = all
            .statuses
            .iter()
            .filter(|(u, _)| u.message_id() == message_id)
            .map(|(u, _)| u.clone())
            .collect();
        Ok(DeliveryStatus::fold(&kept))
    }

    fn status_reports(&self, query: &StatusReportQuery) -> Result<StatusReportPage, StoreError> {
        let all = self.all()?;
        let key = |u: &StatusUpdate| (u.message_id().to_owned(), u.state().as_str());
        let mut kept: Vec<StatusUpdate> = all.statuses.iter().map(|(u, _)| u.clone()).collect();
        kept.sort_by(|a, b| key(a).cmp(&key(b)));
        let after = query.after.as_ref().map(|(id, s)| (id.clone(), s.as_str()));
        let items: Vec<StatusUpdate> = kept
            .into_iter()
            .filter(|u| after.as_ref().is_none_or(|a| key(u) > *a))
            .take(usize::try_from(query.limit.get()).unwrap_or(usize::MAX) + 1)
            .collect();
        Ok(StatusReportPage::from_overfetch(items, query.limit))
    }

    fn record_events(&self, events: Vec<Event>) -> Result<Vec<InsertOutcome>, StoreError> {
        let mut all = self.all()?;
        let mut outcomes = Vec::with_capacity(events.len());
        for event in events {
            if all
                .events
                .iter()
                .any(|e| e.event.digest() == event.digest())
            {
                outcomes.push(InsertOutcome::Duplicate);
                continue;
            }
            all.last_event_seq += 1;
            let seq = Seq::new(all.last_event_seq).unwrap_or_default();
            all.events.push(StoredEvent {
                seq,
                event,
                received_at: time::OffsetDateTime::now_utc(),
            });
            outcomes.push(InsertOutcome::Created);
        }
        Ok(outcomes)
    }

    fn events(&self, query: &EventQuery) -> Result<EventPage, StoreError> {
        let all = self.all()?;
        let items: Vec<StoredEvent> = all
            .events
            .iter()
            .filter(|e| e.seq > query.after)
            .filter(|e| query.field.as_deref().is_none_or(|f| e.event.field() == f))
            .take(usize::try_from(query.limit.get()).unwrap_or(usize::MAX))
            .cloned()
            .collect();
        let next = items.last().map_or(query.after, |e| e.seq);
        Ok(EventPage { items, next })
    }

    fn purge_records(
        &self,
        received_before: time::OffsetDateTime,
        max: u32,
    ) -> Result<u64, StoreError> {
        let mut all = self.all()?;
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        let statuses = all
            .statuses
            .iter()
            .take_while(|(_, at)| *at < received_before)
            .take(max)
            .count();
        all.statuses.drain(..statuses);
        let events = all
            .events
            .iter()
            .take_while(|e| e.received_at < received_before)
            .take(max)
            .count();
        all.events.drain(..events);
        Ok(u64::try_from(statuses + events).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod contract {
    crate::message_store_contract!(super::MemoryStore::new);
}
