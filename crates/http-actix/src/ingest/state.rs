//! What each ingest route needs.

use super::service::Ingest;
use crate::config::WhatsAppConfig;
use domain::SigningKeys;
use slog::Logger;

/// What `POST /webhook` needs.
pub(crate) struct WebhookState {
    pub(crate) ingest: Ingest,
    pub(crate) keys: SigningKeys,
    pub(crate) max_body_bytes: usize,
    pub(crate) tolerance_seconds: u64,
}

/// What `/webhook/whatsapp` needs; `config` is `None` while WhatsApp is
/// not configured (the routes then answer 404).
pub(crate) struct WhatsAppState {
    pub(crate) ingest: Ingest,
    pub(crate) config: Option<WhatsAppConfig>,
    pub(crate) logger: Logger,
}
