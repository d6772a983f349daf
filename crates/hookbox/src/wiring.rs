//! The one place that names adapter crates: `DATABASE_URL`'s scheme picks
//! the store, and that adapter reads its own settings.

use std::sync::Arc;

use domain::{MessageStore, SubscriptionStore};
use postgres_adapter::{Migration, PostgresConfig, PostgresStore, SearchIndex};
use sqlite_adapter::{SqliteConfig, SqliteStore};

/// `DATABASE_URL` when unset: `hookbox.db` in the working directory.
pub(crate) const DEFAULT_DATABASE_URL: &str = "sqlite:///hookbox.db";

/// The chosen store and its validated settings.
#[derive(Debug)]
pub(crate) enum StoreSettings {
    /// `sqlite:///…`: the embedded default.
    Sqlite(SqliteConfig),
    /// `postgres://…` or `postgresql://…`: one database for many replicas.
    Postgres(PostgresConfig),
}

/// Every scheme some adapter serves, for the error that lists them.
fn supported_schemes() -> Vec<&'static str> {
    sqlite_adapter::SCHEMES
        .iter()
        .chain(postgres_adapter::SCHEMES)
        .copied()
        .collect()
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
            Some(s) if postgres_adapter::SCHEMES.contains(&s) => {
                PostgresConfig::from_lookup(&url, lookup)
                    .map(Self::Postgres)
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
            Self::Postgres(config) => config.describe(),
        }
    }

    /// The store's resolved settings, for `check-config` (no secrets: a
    /// PostgreSQL URL is shown as host, port and database).
    pub(crate) fn summary(&self) -> serde_json::Value {
        match self {
            Self::Sqlite(c) => serde_json::json!({
                "kind": "sqlite",
                "path": c.path.display().to_string(),
                "search_index": c.search_index,
                "write_queue": c.write_queue,
            }),
            Self::Postgres(c) => serde_json::json!({
                "kind": "postgres",
                "target": c.describe(),
                "ssl_mode": format!("{:?}", c.ssl_mode),
                "pool_size": c.pool_size,
                "connect_timeout_ms": c.connect_timeout.as_millis(),
                "statement_timeout_ms": c.statement_timeout.as_millis(),
                "search_index": c.search_index,
                "write_queue": c.write_queue,
            }),
        }
    }

    /// The SQLite file, when the store is SQLite.
    pub(crate) fn sqlite_path(&self) -> Option<&std::path::Path> {
        match self {
            Self::Sqlite(c) => Some(&c.path),
            Self::Postgres(_) => None,
        }
    }

    /// Opens the store; what opening it did (a migration, a search index
    /// that cannot be had) comes back as notes for the log. Call outside the
    /// async runtime: adapters may block, and the PostgreSQL client runs
    /// its own.
    ///
    /// # Errors
    /// The adapter's open error, as one line.
    pub(crate) fn open(&self) -> Result<(Arc<dyn MessageStore>, Vec<StoreNote>), String> {
        self.open_both()
            .map(|(messages, _, notes)| (messages, notes))
    }

    /// [`Self::open`], with the same store as a [`SubscriptionStore`] too.
    ///
    /// # Errors
    /// The adapter's open error, as one line.
    pub(crate) fn open_both(&self) -> Result<Opened, String> {
        match self {
            Self::Sqlite(config) => SqliteStore::open(config)
                .map(|s| {
                    let s = Arc::new(s);
                    (
                        s.clone() as Arc<dyn MessageStore>,
                        s as Arc<dyn SubscriptionStore>,
                        Vec::new(),
                    )
                })
                .map_err(|e| e.to_string()),
            Self::Postgres(config) => {
                let store = PostgresStore::open(config).map_err(|e| e.to_string())?;
                let mut notes = Vec::new();
                let database = store.target().to_owned();
                match store.migration() {
                    Migration::Done { from } if from != postgres_adapter::SCHEMA_VERSION => {
                        notes.push(StoreNote::Migrated {
                            from,
                            to: postgres_adapter::SCHEMA_VERSION,
                        });
                    }
                    Migration::Newer { found } => notes.push(StoreNote::Newer { found }),
                    _ => {}
                }
                if let SearchIndex::Unavailable(reason) = store.search_index() {
                    notes.push(StoreNote::SearchIndexUnavailable {
                        database,
                        reason: reason.clone(),
                    });
                }
                let store = Arc::new(store);
                Ok((store.clone(), store, notes))
            }
        }
    }
}

/// An opened store through both its ports, and what opening it did.
pub(crate) type Opened = (
    Arc<dyn MessageStore>,
    Arc<dyn SubscriptionStore>,
    Vec<StoreNote>,
);

/// What opening a store did that an operator should see.
#[derive(Debug)]
pub(crate) enum StoreNote {
    /// This replica migrated the schema (the others found it done): said
    /// in the start-up line's `schema` field.
    Migrated { from: i32, to: i32 },
    /// A newer build migrated the database to `found`, keeping this build
    /// compatible: it serves on.
    Newer { found: i32 },
    /// `SEARCH_INDEX=on`, but the database refused `pg_trgm`: a WARN line.
    SearchIndexUnavailable { database: String, reason: String },
}

/// The start-up line's `schema` field: `current`, or what this replica
/// migrated.
pub(crate) fn schema_field(notes: &[StoreNote]) -> String {
    notes
        .iter()
        .find_map(|n| match n {
            StoreNote::Migrated { from, to } => {
                Some(format!("migrated from version {from} to {to}"))
            }
            StoreNote::Newer { found } => Some(format!(
                "newer (version {found}) and compatible with this build's {}",
                postgres_adapter::SCHEMA_VERSION
            )),
            StoreNote::SearchIndexUnavailable { .. } => None,
        })
        .unwrap_or_else(|| "current".to_owned())
}

impl StoreNote {
    /// The lines logged after the start-up line: a WARN for a missing index.
    pub(crate) fn log(&self, logger: &slog::Logger) {
        if let Self::SearchIndexUnavailable { database, reason } = self {
            slog::warn!(logger, "search index unavailable: q scans the table";
                "database" => database.clone(), "reason" => reason.clone());
        }
    }
}
