//! [`ReadState`]: what the read handlers share.

use domain::MessageStore;
use std::sync::Arc;

use super::stream::Hub;

/// What the read handlers share.
pub(crate) struct ReadState {
    pub(crate) store: Arc<dyn MessageStore>,
    pub(crate) hub: Arc<Hub>,
    /// For the audit line of each erasure.
    pub(crate) logger: slog::Logger,
}
