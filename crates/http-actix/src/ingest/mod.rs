//! The write side: `POST /webhook` (X-Signature and Standard Webhooks) and
//! `/webhook/whatsapp`, over one submit-and-count [`Ingest`] service.

mod body;
pub(crate) mod decode;
mod service;
mod webhook;
mod webhook_body;
mod whatsapp;
pub(crate) mod whatsapp_body;

use domain::SigningKeys;
use slog::Logger;

use crate::config::WhatsAppConfig;

pub(crate) use service::Ingest;
pub(crate) use webhook::webhook;
pub(crate) use whatsapp::{whatsapp_notify, whatsapp_verify};

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
