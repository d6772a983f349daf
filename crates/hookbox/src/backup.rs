//! `hookbox backup --to FILE` and `hookbox restore --from FILE`: SQLite's
//! online backup, taken while the server runs, and the file replacement
//! that restores it while the server is stopped. On PostgreSQL the
//! database's own tools apply (`pg_dump`, `pg_restore`).

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

use crate::shell::{environment, fatal};
use crate::wiring::StoreSettings;

/// `hookbox backup`.
#[derive(Debug, clap::Args)]
pub(crate) struct BackupArgs {
    /// Where the copy goes (replaced if it exists).
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
}

/// `hookbox restore`.
#[derive(Debug, clap::Args)]
pub(crate) struct RestoreArgs {
    /// The backup to put in place of the database (`DATABASE_URL`). Stop
    /// the server first.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
}

/// The SQLite file `DATABASE_URL` names, or why there is none.
fn sqlite_file(what: &str) -> Result<PathBuf, ExitCode> {
    let settings = StoreSettings::from_lookup(environment)
        .map_err(|e| fatal(&format!("invalid configuration: {e}")))?;
    settings
        .sqlite_path()
        .map(std::path::Path::to_path_buf)
        .ok_or_else(|| {
            fatal(&format!(
                "{what} is for the SQLite store; on PostgreSQL use pg_dump and pg_restore \
             (pg_dump --format=custom \"$DATABASE_URL\" > hookbox.dump)"
            ))
        })
}

/// Runs `hookbox backup`.
#[expect(clippy::print_stdout, reason = "the command's output")]
pub(crate) fn backup(args: &BackupArgs) -> ExitCode {
    let file = match sqlite_file("hookbox backup") {
        Ok(file) => file,
        Err(code) => return code,
    };
    match sqlite_adapter::backup(&file, &args.to) {
        Ok(report) => {
            println!(
                "{}",
                json!({"status": "ok", "from": file.display().to_string(),
                       "to": args.to.display().to_string(), "pages": report.pages,
                       "schema_version": report.schema_version})
            );
            ExitCode::SUCCESS
        }
        Err(e) => fatal(&format!("backup failed: {e}")),
    }
}

/// Runs `hookbox restore`.
#[expect(clippy::print_stdout, reason = "the command's output")]
pub(crate) fn restore(args: &RestoreArgs) -> ExitCode {
    let file = match sqlite_file("hookbox restore") {
        Ok(file) => file,
        Err(code) => return code,
    };
    match sqlite_adapter::restore(&args.from, &file) {
        Ok(report) => {
            println!(
                "{}",
                json!({"status": "ok", "from": args.from.display().to_string(),
                       "to": file.display().to_string(), "schema_version": report.schema_version})
            );
            ExitCode::SUCCESS
        }
        Err(e) => fatal(&format!("restore failed: {e}")),
    }
}
