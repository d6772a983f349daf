#![doc = include_str!("../README.md")]

mod connect;
mod error;
mod matches;
mod reads;
mod records;
mod schema;
mod settings;
mod store;
mod subscriptions;
mod tls;
mod writer;

pub use connect::ConnectError;
pub use error::{DbError, OpenError};
pub use schema::{COMPATIBLE_FROM, Migration, SCHEMA_VERSION, SearchIndex};
pub use settings::{PostgresConfig, SCHEMES, SettingsError, SslMode};
pub use store::PostgresStore;
pub use tls::TlsError;
