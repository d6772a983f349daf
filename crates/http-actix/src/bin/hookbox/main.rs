//! The `hookbox` binary: read the configuration, open the store, serve.
//! `hookbox healthcheck` probes `/health/ready` for container health checks.

mod sign;
mod wiring;

use std::process::ExitCode;

use http_actix::{Application, Config, logging, metrics};
use wiring::StoreSettings;

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        Some("healthcheck") => return http_actix::startup::healthcheck(),
        Some("sign") => return print_signature(),
        _ => {}
    }
    http_actix::arenas::limit_malloc_arenas();
    // Read once, HTTP side then store side, before anything starts.
    let env = |name: &str| std::env::var(name).ok();
    let config = match Config::from_lookup(env) {
        Ok(config) => config,
        Err(e) => return fatal(&format!("invalid configuration: {e}")),
    };
    let store = match StoreSettings::from_lookup(env) {
        Ok(store) => store,
        Err(e) => return fatal(&format!("invalid configuration: {e}")),
    };
    let (logger, log_guard) = logging::stdout_logger(config.log_level);
    let code = match serve(&config, &store, &logger) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            slog::error!(logger, "hookbox failed"; "error" => e.clone());
            eprintln!("hookbox: {e}");
            ExitCode::FAILURE
        }
    };
    drop(logger);
    drop(log_guard);
    code
}

fn serve(config: &Config, settings: &StoreSettings, logger: &slog::Logger) -> Result<(), String> {
    let metrics = metrics::install().map_err(|e| format!("cannot install metrics: {e}"))?;
    // Opened here, outside the runtime: adapters may block while opening.
    let (store, notes) = settings.open()?;
    let app = actix_web::rt::System::new().block_on(async {
        let app = Application::build(config, store.clone(), logger.clone(), metrics)
            .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
        slog::info!(logger, "hookbox started";
            "host" => config.host.clone(), "port" => app.port(),
            "database" => settings.describe(),
            "schema" => wiring::schema_field(&notes),
            "version" => env!("CARGO_PKG_VERSION"));
        for note in &notes {
            note.log(logger);
        }
        match &config.read_tokens {
            None => slog::warn!(logger,
                "reads are unauthenticated: anyone who can reach this port can read every message; set API_TOKENS to require a bearer token"),
            Some(tokens) => slog::info!(logger, "reads require a bearer token";
                "tokens" => tokens.len()),
        }
        app.run_until_stopped().await.map_err(|e| e.to_string())
    });
    // Dropping the last reference finishes queued writes and closes the file.
    drop(store);
    slog::info!(logger, "hookbox stopped");
    app
}

#[expect(
    clippy::print_stdout,
    reason = "a command-line helper whose output is the headers"
)]
fn print_signature() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(2).collect();
    match sign::run(&args) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hookbox sign: {e}");
            ExitCode::from(2)
        }
    }
}

#[expect(
    clippy::print_stdout,
    reason = "the logger is not built yet; stdout must still carry JSON"
)]
fn fatal(message: &str) -> ExitCode {
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
