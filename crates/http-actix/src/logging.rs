//! The JSON logger: one object per line on stdout, written off the request
//! path by a background thread.

use std::io::Write;

use slog::{Drain, FnValue, Level, Logger, PushFnValue, Record, o};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

const TS_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Now, as RFC 3339 UTC with milliseconds (`2025-01-15T10:00:00.123Z`).
#[must_use]
pub fn now_rfc3339_ms() -> String {
    OffsetDateTime::now_utc()
        .format(TS_FORMAT)
        .unwrap_or_default()
}

/// Keeps the background writer alive; dropping it flushes what is queued.
pub type LogGuard = slog_async::AsyncGuard;

/// A logger writing JSON lines to `out` for records at `level` or above.
///
/// Every line has `ts`, `level` (`ERROR`, `WARN`, `INFO`, `DEBUG`) and `msg`.
/// Records are queued to a writer thread; when the queue is full the caller
/// waits rather than dropping lines.
pub fn json_logger(out: impl Write + Send + 'static, level: Level) -> (Logger, LogGuard) {
    let json = slog_json::Json::new(out)
        .set_newlines(true)
        .set_flush(true)
        .add_key_value(o!(
            "ts" => FnValue(|_: &Record<'_>| now_rfc3339_ms()),
            "level" => FnValue(|r: &Record<'_>| level_name(r.level())),
            "msg" => PushFnValue(|r: &Record<'_>, ser| ser.emit(r.msg())),
        ))
        .build()
        .fuse();
    let (drain, guard) = slog_async::Async::new(json)
        .chan_size(16_384)
        .overflow_strategy(slog_async::OverflowStrategy::Block)
        .thread_name("hookbox-log".into())
        .build_with_guard();
    // Lifecycle lines (started, stopped) are written at every level: the
    // start-up line carries the port, which an operator always needs.
    let drain = slog::Filter::new(drain.fuse(), move |r: &Record<'_>| {
        r.level().is_at_least(level) || r.tag() == LIFECYCLE
    })
    .fuse();
    (Logger::root(drain, o!()), guard)
}

/// The tag of lines written whatever `LOG_LEVEL` is:
/// `slog::info!(logger, # "lifecycle", "hookbox started")`.
pub const LIFECYCLE: &str = "lifecycle";

/// The names `LOG_LEVEL` accepts, used in the `level` field too.
#[must_use]
pub fn level_name(level: Level) -> &'static str {
    match level {
        Level::Critical => "CRITICAL",
        Level::Error => "ERROR",
        Level::Warning => "WARN",
        Level::Info => "INFO",
        Level::Debug => "DEBUG",
        Level::Trace => "TRACE",
    }
}

/// The logger hookbox runs with: JSON lines on stdout.
pub fn stdout_logger(level: Level) -> (Logger, LogGuard) {
    json_logger(std::io::stdout(), level)
}
