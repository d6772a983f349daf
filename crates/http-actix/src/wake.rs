//! [`NewMessages`]: how ingest tells the live stream that it stored
//! something, without either feature knowing the other. A leaf.

use std::sync::Arc;

/// A wake-up to call after a commit that created messages.
#[derive(Clone)]
pub(crate) struct NewMessages(Arc<dyn Fn() + Send + Sync>);

impl NewMessages {
    /// Calls `wake` on every [`Self::notify`].
    pub(crate) fn new(wake: impl Fn() + Send + Sync + 'static) -> Self {
        Self(Arc::new(wake))
    }

    /// Something new was stored.
    pub(crate) fn notify(&self) {
        (self.0)();
    }
}

impl std::fmt::Debug for NewMessages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewMessages")
    }
}
