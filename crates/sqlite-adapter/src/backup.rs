//! Backups of a SQLite store, taken while a server runs: SQLite's online
//! backup API copies every page inside one read transaction, so the copy is
//! the database at one instant (WAL lets the server's writer go on), and
//! a restore is a plain file replacement.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

/// Why a backup or restore failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The database (or the backup) cannot be opened.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// The copy failed part way; the target is not a usable backup.
    #[error("the backup to {path} failed: {source}")]
    Copy {
        /// The target.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// The file to restore from is not a hookbox database.
    #[error("{path} is not a hookbox database: {reason}")]
    NotADatabase {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file operation of the restore failed.
    #[error("cannot {what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What a backup copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupReport {
    /// Pages of the database, and so of the copy.
    pub pages: u64,
    /// The copy's schema version.
    pub schema_version: i64,
}

/// Copies the database at `from` to `to` (replaced if it exists) with
/// SQLite's online backup, in one step: one read transaction, so the copy
/// is the database as one commit left it, while the server's writer goes
/// on in the WAL.
///
/// # Errors
/// [`BackupError`] naming the file at fault.
pub fn backup(from: &Path, to: &Path) -> Result<BackupReport, BackupError> {
    let open = |path: &Path, flags| {
        Connection::open_with_flags(path, flags).map_err(|source| BackupError::Open {
            path: path.to_owned(),
            source,
        })
    };
    let source = open(
        from,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let _ = source.busy_timeout(Duration::from_secs(30));
    let copy_error = |source| BackupError::Copy {
        path: to.to_owned(),
        source,
    };
    let partial = to.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    {
        let mut target = open(
            &partial,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )?;
        {
            let copy = Backup::new(&source, &mut target).map_err(copy_error)?;
            // -1: every page in one step, inside one read transaction. A
            // step that meets a lock is tried again, for up to 30 s.
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            loop {
                match copy.step(-1).map_err(copy_error)? {
                    StepResult::Done => break,
                    StepResult::More => {}
                    _ if std::time::Instant::now() > deadline => {
                        return Err(copy_error(rusqlite::Error::SqliteFailure(
                            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                            Some("the database stayed locked for 30 s".to_owned()),
                        )));
                    }
                    _ => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        }
        // A backup stands alone: no WAL beside it.
        target
            .execute_batch("PRAGMA journal_mode = DELETE;")
            .map_err(copy_error)?;
    }
    std::fs::rename(&partial, to).map_err(|source| BackupError::Io {
        what: "move the backup into place at",
        path: to.to_owned(),
        source,
    })?;
    check(to)
}

/// Opens `path` read-only and reads what a backup report says; fails if it
/// is not an intact hookbox database.
fn check(path: &Path) -> Result<BackupReport, BackupError> {
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|source| {
            BackupError::Open {
                path: path.to_owned(),
                source,
            }
        })?;
    let not_db = |reason: String| BackupError::NotADatabase {
        path: path.to_owned(),
        reason,
    };
    let integrity: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| not_db(e.to_string()))?;
    if integrity != "ok" {
        return Err(not_db(integrity));
    }
    let schema_version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| not_db(e.to_string()))?;
    let has_messages: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages')",
            [],
            |r| r.get(0),
        )
        .map_err(|e| not_db(e.to_string()))?;
    if schema_version == 0 || !has_messages {
        return Err(not_db("it has no hookbox schema".to_owned()));
    }
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .map_err(|e| not_db(e.to_string()))?;
    Ok(BackupReport {
        pages: u64::try_from(pages).unwrap_or(0),
        schema_version,
    })
}

/// Puts the backup `from` in place of the database at `to`, which no
/// server may have open: checks the backup, copies it beside the target,
/// removes the target's `-wal` and `-shm` files (they belong to the old
/// file) and renames the copy over it. The same as doing it by hand.
///
/// # Errors
/// [`BackupError`] naming the file at fault; the target is untouched unless
/// the final rename succeeded.
pub fn restore(from: &Path, to: &Path) -> Result<BackupReport, BackupError> {
    let report = check(from)?;
    let io = |what, path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Io { what, path, source }
    };
    if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io("create the folder of", to))?;
    }
    let staged = to.with_extension("restoring");
    std::fs::copy(from, &staged).map_err(io("copy the backup to", &staged))?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", to.display()));
        match std::fs::remove_file(&side) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("remove", &side)(e)),
        }
    }
    std::fs::rename(&staged, to).map_err(io("move the restored file into place at", to))?;
    Ok(report)
}
