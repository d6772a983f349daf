#![doc = include_str!("../README.md")]

// Leaves: import only `domain` (and each other, without cycles).
pub mod config;
mod instants;
pub mod logging;
pub mod metrics;
pub mod outcome;
mod params;
mod peer;
pub mod problem;
pub mod proxies;
pub mod tokens;
mod wake;

// The one place errors become responses; imports only leaves.
pub mod error;

// Built on `error` and the leaves.
mod guard;
pub mod middleware;

// Feature modules: never import each other.
mod ingest;
mod jobs;
mod ops;
mod read;
mod subscriptions;

// The route table and the app factory: the only modules that name features.
mod routes;

/// The records `GET /messages/export` writes, one per NDJSON line, for
/// tools that write the same format (`hookbox export`).
pub mod wire {
    pub use crate::read::{record_json, record_line};
}
pub mod startup;

pub use config::{Config, ConfigError};
pub use startup::Application;

/// The request decoders on their own, for fuzzing and for other services
/// that accept the same webhooks: exactly what the handlers run, minus I/O.
pub mod inputs {
    pub use crate::ingest::decode::{body_details, validate_webhook_body};
    pub use crate::read::messages_query::parse as parse_messages_query;
}

/// WhatsApp Cloud API's notification decoder, for fuzzing.
pub mod whatsapp {
    pub use crate::ingest::whatsapp_body::{Decoded, Skipped, decode};
}
