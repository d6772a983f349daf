//! The adapter's errors, and how SQLite failures map onto the port's.

use std::path::PathBuf;

use domain::StoreError;
use rusqlite::ErrorCode;

/// Why [`crate::SqliteStore::open`] failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The database's folder could not be created.
    #[error("cannot create folder {path}: {source}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// SQLite could not open or set up the file.
    #[error("cannot open SQLite database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// A migration failed; the file is left at its previous version.
    #[error("cannot migrate {path} to schema version {version}: {source}")]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// The version being applied.
        version: i64,
        /// Why.
        source: rusqlite::Error,
    },
    /// The file was written by a newer hookbox.
    #[error(
        "{path} has schema version {found}, newer than this build's {expected}; refusing to touch it"
    )]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// The version found.
        found: i64,
        /// The newest version this build knows.
        expected: i64,
    },
    /// The read pool could not be built.
    #[error("cannot build the read pool for {path}: {source}")]
    Pool {
        /// The database file.
        path: PathBuf,
        /// Why.
        source: r2d2::Error,
    },
    /// The writer thread could not be started.
    #[error("cannot start the writer thread: {0}")]
    Thread(std::io::Error),
}

/// Maps a SQLite failure onto the port's error, by result code only: faults
/// a retry can outlive (busy, locked, full, I/O, read-only media, cannot
/// open) are [`StoreError::Unavailable`]; everything else is
/// [`StoreError::Internal`].
pub(crate) fn store_error(e: rusqlite::Error) -> StoreError {
    if is_transient(&e) {
        StoreError::Unavailable(Box::new(e))
    } else {
        StoreError::Internal(Box::new(e))
    }
}

fn is_transient(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::DiskFull
                | ErrorCode::SystemIoFailure
                | ErrorCode::ReadOnly
                | ErrorCode::CannotOpen
                | ErrorCode::OutOfMemory
        )
    )
}

/// The same fault, again, for each caller in a batch that shared it.
pub(crate) fn store_error_ref(e: &rusqlite::Error) -> StoreError {
    let copy = FaultCopy(e.to_string());
    if is_transient(e) {
        StoreError::Unavailable(Box::new(copy))
    } else {
        StoreError::Internal(Box::new(copy))
    }
}

/// A shared fault, described for the log of each caller it hit.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct FaultCopy(String);

pub(crate) fn pool_error(e: r2d2::Error) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::ffi;

    #[test]
    fn classifies_by_result_code() {
        let cases = [
            (ffi::SQLITE_BUSY, true),
            (ffi::SQLITE_LOCKED, true),
            (ffi::SQLITE_FULL, true),
            (ffi::SQLITE_IOERR, true),
            (ffi::SQLITE_IOERR_WRITE, true),
            (ffi::SQLITE_READONLY, true),
            (ffi::SQLITE_CANTOPEN, true),
            (ffi::SQLITE_CORRUPT, false),
            (ffi::SQLITE_CONSTRAINT, false),
            (ffi::SQLITE_MISMATCH, false),
        ];
        for (code, transient) in cases {
            // The message text is deliberately misleading: only the code counts.
            let e = rusqlite::Error::SqliteFailure(
                ffi::Error::new(code),
                Some("database is locked".into()),
            );
            assert_eq!(store_error_ref(&e).is_transient(), transient, "code {code}");
            assert_eq!(store_error(e).is_transient(), transient, "code {code}");
        }
        assert!(!store_error(rusqlite::Error::QueryReturnedNoRows).is_transient());
    }
}
