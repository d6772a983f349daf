//! [`Ingest`]: submit validated messages to the store, wake the stream when
//! something was created, and count each outcome. Both webhook routes use
//! it, so the two cannot count differently.

use std::sync::Arc;

use domain::{Event, InsertOutcome, Message, MessageStore, StatusUpdate, StoreError};

use crate::error::ApiError;
use crate::metrics::MESSAGES;
use crate::outcome::{BatchCounts, Source};
use crate::wake::NewMessages;

/// The submit-and-count service.
#[derive(Clone)]
pub(crate) struct Ingest {
    store: Arc<dyn MessageStore>,
    wake: NewMessages,
    /// `KEEP_RAW`: store each message's raw bytes.
    keep_raw: bool,
}

impl Ingest {
    pub(crate) fn new(store: Arc<dyn MessageStore>, wake: NewMessages, keep_raw: bool) -> Self {
        Self {
            store,
            wake,
            keep_raw,
        }
    }

    /// Whether raw bytes are kept (`KEEP_RAW`).
    pub(crate) fn keep_raw(&self) -> bool {
        self.keep_raw
    }

    /// Keeps status reports and events, in that order, each in one commit;
    /// how many reports were new, and each event's outcome.
    pub(crate) async fn record(
        &self,
        statuses: Vec<StatusUpdate>,
        events: Vec<Event>,
    ) -> Result<(u64, Vec<InsertOutcome>), ApiError> {
        if statuses.is_empty() && events.is_empty() {
            return Ok((0, Vec::new()));
        }
        let store = Arc::clone(&self.store);
        let answer = actix_web::web::block(move || {
            let new = store.record_statuses(statuses)?;
            let kept = store.record_events(events)?;
            Ok::<_, StoreError>((new, kept))
        })
        .await??;
        Ok(answer)
    }

    /// Stores `messages` in one commit. Each outcome is counted under
    /// `source` in `hookbox_messages_total` and in the returned tallies.
    /// Awaited, not on a blocking thread: every webhook in flight can join
    /// the writer's next commit.
    pub(crate) async fn submit(
        &self,
        messages: Vec<Message>,
        source: Source,
    ) -> Result<(Vec<InsertOutcome>, BatchCounts), ApiError> {
        let messages = if self.keep_raw {
            messages
        } else {
            messages.into_iter().map(Message::without_raw).collect()
        };
        let outcomes = self
            .store
            .submit(messages)
            .await
            .unwrap_or_else(|| {
                Err(StoreError::Unavailable(
                    "the store dropped the request".into(),
                ))
            })
            .map_err(ApiError::from)?;
        let mut counts = BatchCounts::default();
        for outcome in &outcomes {
            let label = if *outcome == InsertOutcome::Created {
                counts.stored += 1;
                "created"
            } else {
                counts.duplicates += 1;
                "duplicate"
            };
            metrics::counter!(MESSAGES, "source" => source.as_str(), "result" => label)
                .increment(1);
        }
        if counts.stored > 0 {
            self.wake.notify();
        }
        Ok((outcomes, counts))
    }
}
