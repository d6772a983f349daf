//! What every subcommand shares: the environment as hookbox reads it, and
//! the one-line fatal error.

use std::process::ExitCode;

use http_actix::logging;

/// A variable of the process environment; empty (or blank) is unset.
pub(crate) fn environment(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[expect(
    clippy::print_stdout,
    reason = "the logger is not built yet; stdout must still carry JSON"
)]
pub(crate) fn fatal(message: &str) -> ExitCode {
    // The logger needs a valid configuration; this one line goes to both
    // streams so it shows in `docker logs` and on a terminal.
    let line = serde_json::json!({
        "ts": logging::now_rfc3339_ms(),
        "level": "ERROR",
        "msg": message,
    });
    println!("{line}");
    eprintln!("hookbox: {message}");
    ExitCode::from(2)
}
