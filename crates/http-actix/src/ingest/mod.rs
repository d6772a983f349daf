//! The write side: `POST /webhook` (X-Signature and Standard Webhooks) and
//! `/webhook/whatsapp`, over one submit-and-count [`Ingest`] service.

mod body;
pub(crate) mod decode;
mod service;
mod state;
mod webhook;
mod webhook_body;
mod whatsapp;
pub(crate) mod whatsapp_body;

pub(crate) use service::Ingest;
pub(crate) use state::{WebhookState, WhatsAppState};
pub(crate) use webhook::webhook;
pub(crate) use whatsapp::{whatsapp_notify, whatsapp_verify};
