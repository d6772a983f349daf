//! [`ForwardSettings`]: how forwarding behaves.

use std::sync::Arc;
use std::time::Duration;

use domain::{FeedItem, RetryPolicy};

/// Renders the body of a delivery: the full record of one message, as
/// `GET /messages/{id}` shows it (the HTTP adapter owns that format).
pub type Render = Arc<dyn Fn(&FeedItem) -> String + Send + Sync>;

/// How forwarding behaves (read once at start-up).
#[derive(Clone)]
pub struct ForwardSettings {
    /// `FORWARD_TIMEOUT`: one attempt's limit, connection included.
    pub timeout: Duration,
    /// `FORWARD_MAX_ATTEMPTS`, and the backoff between attempts.
    pub policy: RetryPolicy,
    /// `FORWARD_ALLOWED_HOSTS`: the hosts deliveries may go to (`None`: any).
    pub allowed_hosts: Option<Vec<String>>,
    /// How long a lease lasts without a heartbeat: how soon another replica
    /// takes over from one that died.
    pub lease: Duration,
    /// How often a caught-up subscription looks for new messages.
    pub poll: Duration,
    /// The full record, as JSON.
    pub render: Render,
}

impl std::fmt::Debug for ForwardSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardSettings")
            .field("timeout", &self.timeout)
            .field("policy", &self.policy)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("lease", &self.lease)
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

impl ForwardSettings {
    /// The default lease: another replica takes over within this long.
    pub const LEASE: Duration = Duration::from_secs(10);
    /// The default poll interval of a caught-up subscription.
    pub const POLL: Duration = Duration::from_millis(100);

    /// Whether deliveries may go to `url` (checked again before each
    /// attempt: the list may have changed since the subscription was made).
    #[must_use]
    pub fn allows(&self, url: &domain::TargetUrl) -> bool {
        self.allowed_hosts
            .as_ref()
            .is_none_or(|hosts| url.is_allowed(hosts))
    }
}
