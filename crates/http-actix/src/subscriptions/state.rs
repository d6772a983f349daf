//! [`SubscriptionsState`]: what the subscription handlers share.

use std::sync::Arc;

use domain::{MessageStore, SubscriptionStore};

/// What the subscription handlers share.
pub(crate) struct SubscriptionsState {
    pub(crate) messages: Arc<dyn MessageStore>,
    /// `None`: this store does not keep subscriptions (404 on every route).
    pub(crate) subs: Option<Arc<dyn SubscriptionStore>>,
    /// `FORWARD_ALLOWED_HOSTS`.
    pub(crate) allowed_hosts: Option<Vec<String>>,
    /// For the audit line of each change.
    pub(crate) logger: slog::Logger,
}
