//! What the supervisor and its delivery threads share.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use domain::{MessageStore, SubscriptionStore};
use slog::Logger;

use crate::settings::ForwardSettings;

/// What every delivery thread shares.
pub(crate) struct Shared {
    pub(crate) messages: Arc<dyn MessageStore>,
    pub(crate) subs: Arc<dyn SubscriptionStore>,
    pub(crate) settings: ForwardSettings,
    pub(crate) logger: Logger,
    pub(crate) owner: String,
}

/// How the supervisor steers one delivery thread.
#[derive(Debug, Default)]
pub(crate) struct Control {
    /// Set when the thread must stop (shutdown, or the lease moved).
    pub(crate) stop: AtomicBool,
    /// Until when (µs since the epoch) this process holds the lease: past
    /// it, the thread stops delivering, whatever else happens.
    pub(crate) lease_until: AtomicI64,
}

impl Control {
    pub(crate) fn live(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
            && now_micros() < self.lease_until.load(Ordering::Relaxed)
    }
}

pub(crate) fn now_micros() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}
