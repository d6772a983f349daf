//! [`Ingest`]: submit validated messages to the store, wake the stream when
//! something was created, and count each outcome. Both webhook routes use
//! it, so the two cannot count differently.

use std::sync::Arc;

use domain::{InsertOutcome, Message, MessageStore, StoreError};

use crate::error::ApiError;
use crate::metrics::MESSAGES;
use crate::outcome::{BatchCounts, Source};
use crate::wake::NewMessages;

/// The submit-and-count service.
#[derive(Clone)]
pub(crate) struct Ingest {
    store: Arc<dyn MessageStore>,
    wake: NewMessages,
}

impl Ingest {
    pub(crate) fn new(store: Arc<dyn MessageStore>, wake: NewMessages) -> Self {
        Self { store, wake }
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
