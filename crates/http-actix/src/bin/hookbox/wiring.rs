//! The one place that names adapter crates: `DATABASE_URL`'s scheme picks
//! the store, and that adapter reads its own settings.

use std::sync::Arc;

use domain::MessageStore;
use sqlite_adapter::{SqliteConfig, SqliteStore};

/// `DATABASE_URL` when unset: `hookbox.db` in the working directory.
pub(crate) const DEFAULT_DATABASE_URL: &str = "sqlite:///hookbox.db";

/// The chosen store and its validated settings.
#[derive(Debug)]
pub(crate) enum StoreSettings {
    /// `sqlite:///…`: the embedded default.
    Sqlite(SqliteConfig),
}

/// Every scheme some adapter serves, for the error that lists them.
fn supported_schemes() -> Vec<&'static str> {
    sqlite_adapter::SCHEMES.to_vec()
}

impl StoreSettings {
    /// Reads `DATABASE_URL` and hands it, with `lookup`, to the adapter its
    /// scheme names.
    ///
    /// # Errors
    /// One line naming the variable at fault; for an unknown scheme, the
    /// supported ones. Never the URL's password.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let url = lookup("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some(s) if sqlite_adapter::SCHEMES.contains(&s) => {
                SqliteConfig::from_lookup(&url, lookup)
                    .map(Self::Sqlite)
                    .map_err(|e| e.to_string())
            }
            _ => Err(format!(
                "DATABASE_URL has an unsupported scheme; supported: {} (e.g. sqlite:////data/app.db)",
                supported_schemes()
                    .iter()
                    .map(|s| format!("{s}://"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// What the start-up log line says the database is.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Sqlite(config) => config.path.display().to_string(),
        }
    }

    /// Opens the store. Call outside the async runtime: adapters may block.
    ///
    /// # Errors
    /// The adapter's open error, as one line.
    pub(crate) fn open(&self) -> Result<Arc<dyn MessageStore>, String> {
        match self {
            Self::Sqlite(config) => SqliteStore::open(config)
                .map(|s| Arc::new(s) as Arc<dyn MessageStore>)
                .map_err(|e| e.to_string()),
        }
    }
}
