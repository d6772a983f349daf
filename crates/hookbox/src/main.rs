//! The `hookbox` binary: the command line, then the one subcommand asked
//! for. `hookbox` alone (or `hookbox serve`) reads the configuration, opens
//! the store and serves.

mod arenas;
mod backup;
mod check;
mod healthcheck;
mod shell;
mod sign;
mod transfer;
mod wiring;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use http_actix::{Application, Config, logging, metrics};
use shell::{environment, fatal};
use wiring::StoreSettings;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "hookbox",
    version,
    about = "hookbox: receives signed webhooks, stores each message once, serves them back.",
    long_about = "hookbox: receives signed webhooks, stores each message once, serves them back.\n\nConfiguration comes from the environment (WEBHOOK_SECRET, DATABASE_URL, PORT…; see the README). `hookbox` alone runs `serve`.",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default): configuration from the environment.
    Serve,
    /// Print the signature header(s) a sender puts on a body.
    Sign(sign::SignArgs),
    /// Probe the local server's /health/ready: exit 0 when ready, 1 if not.
    Healthcheck,
    /// Validate the configuration, open the store, print the resolved
    /// settings (no secrets): exit 0, or 2 with the error.
    CheckConfig,
    /// Apply the store's migrations and exit (for deploy pipelines).
    Migrate,
    /// Copy the SQLite database, consistently, while the server runs.
    Backup(backup::BackupArgs),
    /// Put a SQLite backup in place of the database (stop the server first).
    Restore(backup::RestoreArgs),
    /// Write every record (messages, statuses, events) as NDJSON.
    Export(transfer::ExportArgs),
    /// Store the records of an export; what is stored already is skipped.
    Import(transfer::ImportArgs),
}

fn main() -> ExitCode {
    // Help, version and usage errors end here, before anything is read,
    // bound or created.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(&e),
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve_from_env(),
        Command::Sign(args) => sign::print(&args),
        Command::Healthcheck => healthcheck::run(),
        Command::CheckConfig => check::check_config(),
        Command::Migrate => check::migrate(),
        Command::Backup(args) => backup::backup(&args),
        Command::Restore(args) => backup::restore(&args),
        Command::Export(args) => transfer::export(&args),
        Command::Import(args) => transfer::import(&args),
    }
}

/// Help and version go to stdout with exit 0; a usage error is one line
/// on stderr with exit 2.
fn usage(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        // Prints to stdout, as asked.
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let rendered = e.render().to_string();
    // clap's message, without the usage and tip that follow it.
    let message: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more"))
        .filter(|l| !l.is_empty())
        .collect();
    eprintln!("{} (see 'hookbox --help')", message.join(" "));
    ExitCode::from(2)
}

fn serve_from_env() -> ExitCode {
    arenas::limit_malloc_arenas();
    // Read once, HTTP side then store side, before anything starts. An
    // empty value is unset, for every variable: optional settings can sit
    // empty in a compose file or a manifest.
    let env = environment;
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
    let (store, subscriptions, notes) = settings.open_both()?;
    let app = actix_web::rt::System::new().block_on(async {
        let app = Application::build(
            config,
            store.clone(),
            Some(subscriptions),
            logger.clone(),
            metrics,
        )
            .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
        slog::info!(logger, # "lifecycle", "hookbox started";
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
    slog::info!(logger, # "lifecycle", "hookbox stopped");
    app
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
