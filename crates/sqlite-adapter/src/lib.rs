#![doc = include_str!("../README.md")]

mod backup;
mod deletes;
mod error;
mod reads;
mod records;
mod schema;
mod search;
mod settings;
mod store;
mod subscriptions;
pub mod wal;
mod writer;

pub use backup::{BackupError, BackupReport, backup, restore};
pub use error::OpenError;
pub use schema::SCHEMA_VERSION;
pub use settings::{SCHEMES, SettingsError};
pub use store::{SqliteConfig, SqliteStore};
