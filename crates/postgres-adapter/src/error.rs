//! Errors: what can go wrong opening the store, and how database errors
//! become [`StoreError`]s, classified by SQLSTATE code, never by message.

use domain::StoreError;
use postgres::error::SqlState;

use crate::connect::ConnectError;
use crate::tls::TlsError;

/// Why [`crate::PostgresStore::open`] failed. Never shows the password.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// TLS could not be set up.
    #[error("cannot set up TLS for {target}: {source}")]
    Tls {
        /// `host:port/db`.
        target: String,
        /// Why.
        source: TlsError,
    },
    /// The first connection failed (unreachable, refused, bad credentials,
    /// no answer in time).
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// `host:port/db`.
        target: String,
        /// Why.
        source: ConnectError,
    },
    /// A migration failed.
    #[error(
        "cannot migrate {target} to schema version {version}: {}",
        detail(source)
    )]
    Migrate {
        /// `host:port/db`.
        target: String,
        /// The version being applied.
        version: i32,
        /// The client's error.
        source: postgres::Error,
    },
    /// The database was migrated by a newer hookbox.
    #[error(
        "{target} has schema version {found}, newer than this build's {expected}; run a newer hookbox"
    )]
    SchemaTooNew {
        /// `host:port/db`.
        target: String,
        /// The version found.
        found: i32,
        /// This build's version.
        expected: i32,
    },
    /// The read pool could not be built.
    #[error("cannot open the read pool for {target}: {source}")]
    Pool {
        /// `host:port/db`.
        target: String,
        /// r2d2's error.
        source: r2d2::Error,
    },
    /// The writer thread could not start.
    #[error("cannot start the writer thread: {0}")]
    Thread(std::io::Error),
}

/// The server's message and SQLSTATE, not just the client's "db error".
fn detail(e: &postgres::Error) -> String {
    e.as_db_error().map_or_else(
        || e.to_string(),
        |d| format!("{} (SQLSTATE {})", d.message(), d.code().code()),
    )
}

/// A client error shown with the server's message and SQLSTATE (the
/// client alone prints "db error"); the client's error stays its source.
#[derive(Debug)]
pub struct DbError(postgres::Error);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&detail(&self.0))
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        Self(e)
    }
}

/// SQLSTATE classes and codes a retry can outlive.
fn transient_code(code: &SqlState) -> bool {
    let c = code.code();
    // 08: connection exception; 53: insufficient resources (disk full,
    // out of memory, too many connections); 57P0x: shutdown or starting up;
    // 40001/40P01: serialization failure, deadlock; 57014: statement timeout
    // (a lock held too long, an overloaded server); 55P03: lock not available.
    c.starts_with("08")
        || c.starts_with("53")
        || c.starts_with("57P0")
        || matches!(c, "40001" | "40P01" | "57014" | "55P03")
}

/// Whether the same transaction may simply be run again (another replica's
/// transaction won a race).
/// Why a write did not happen: the database failed, or its schema is one
/// this build may not write (a newer, incompatible migration ran).
#[derive(Debug)]
pub(crate) enum WriteError {
    Db(postgres::Error),
    /// The schema version found.
    Refused(i32),
}

impl From<postgres::Error> for WriteError {
    fn from(e: postgres::Error) -> Self {
        Self::Db(e)
    }
}

/// A failed write as the port's error: a refusal is
/// [`StoreError::SchemaMismatch`] (a 503, not ready), nothing written.
pub(crate) fn write_error(e: WriteError) -> StoreError {
    match e {
        WriteError::Db(e) => store_error(e),
        WriteError::Refused(found) => StoreError::SchemaMismatch {
            found: i64::from(found),
            expected: i64::from(crate::schema::SCHEMA_VERSION),
        },
    }
}

pub(crate) fn retry_at_once(e: &postgres::Error) -> bool {
    e.code()
        .is_some_and(|c| matches!(c.code(), "40001" | "40P01"))
}

/// A client error as the port's error: transient for lost connections and
/// the codes above, internal for the rest (SQL bugs, constraint surprises).
pub(crate) fn store_error(e: postgres::Error) -> StoreError {
    let transient = match e.code() {
        Some(code) => transient_code(code),
        // No SQLSTATE: the connection broke, timed out or never opened.
        None => true,
    };
    if transient {
        StoreError::Unavailable(Box::new(DbError(e)))
    } else {
        StoreError::Internal(Box::new(DbError(e)))
    }
}

/// A connection that could not be opened: always worth a retry later.
pub(crate) fn connect_error(e: ConnectError) -> StoreError {
    match e {
        ConnectError::Client(e) => store_error(e),
        other => StoreError::Unavailable(Box::new(other)),
    }
}

/// A pool checkout that timed out: every connection is busy, or new ones
/// cannot be opened (the database is down). Either way, retry later.
pub(crate) fn pool_error(e: r2d2::Error) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified_by_class() {
        for code in [
            "08006", "53100", "53300", "57P01", "57P03", "40001", "40P01", "57014", "55P03",
        ] {
            assert!(transient_code(&SqlState::from_code(code)), "{code}");
        }
        for code in ["42P01", "23505", "22P02", "XX000", "42501"] {
            assert!(!transient_code(&SqlState::from_code(code)), "{code}");
        }
    }
}
