//! `hookbox check-config` and `hookbox migrate`: for deploy pipelines.
//!
//! `check-config` reads the whole configuration as `serve` would, opens the
//! store, and prints the resolved settings as one JSON object, secrets shown
//! only as whether they are set; exit 0, or 2 with the one-line error.
//! `migrate` opens the store (which applies its migrations) and exits: it
//! needs only `DATABASE_URL` and the store's own settings.

use std::process::ExitCode;

use http_actix::Config;
use serde_json::json;

use crate::shell::{environment, fatal};
use crate::wiring::StoreSettings;

/// `hookbox check-config`.
#[expect(clippy::print_stdout, reason = "the command's output")]
pub(crate) fn check_config() -> ExitCode {
    let config = match Config::from_lookup(environment) {
        Ok(config) => config,
        Err(e) => return fatal(&format!("invalid configuration: {e}")),
    };
    let settings = match StoreSettings::from_lookup(environment) {
        Ok(settings) => settings,
        Err(e) => return fatal(&format!("invalid configuration: {e}")),
    };
    let (store, notes) = match settings.open() {
        Ok(opened) => opened,
        Err(e) => return fatal(&format!("cannot open the store: {e}")),
    };
    if let Err(e) = store.check_ready() {
        return fatal(&format!("the store is not ready: {e}"));
    }
    let set = |present: bool| if present { "set" } else { "unset" };
    let resolved = json!({
        "status": "ok",
        "database": settings.describe(),
        "schema": crate::wiring::schema_field(&notes),
        "host": config.host,
        "port": config.port,
        "log_level": http_actix::logging::level_name(config.log_level),
        "max_body_bytes": config.max_body_bytes,
        "webhook_tolerance_seconds": config.tolerance_seconds,
        "webhook_secret": "set",
        "previous_webhook_secrets": config.keys.previous_count(),
        "whatsapp": set(config.whatsapp.is_some()),
        "api_tokens": config.read_tokens.as_ref().map_or(0, http_actix::tokens::ReadTokens::len),
        "admin_tokens": config.admin_tokens.as_ref().map_or(0, http_actix::tokens::ReadTokens::len),
        "cors_allowed_origins": config.cors_origins,
        "trusted_proxies": set(config.trusted_proxies != http_actix::proxies::TrustedProxies::default()),
        "stream_max_clients": config.stream.max_clients,
        "stream_client_buffer": config.stream.client_buffer,
        "stream_heartbeat_seconds": config.stream.heartbeat.as_secs(),
        "retention_seconds": config.retention.map(|r| r.as_secs()),
        "keep_raw": config.keep_raw,
        "forward_timeout_ms": config.forward.timeout.as_millis(),
        "forward_max_attempts": config.forward.max_attempts,
        "forward_allowed_hosts": config.forward.allowed_hosts,
        "store": settings.summary(),
    });
    println!("{resolved}");
    ExitCode::SUCCESS
}

/// `hookbox migrate`.
#[expect(clippy::print_stdout, reason = "the command's output")]
pub(crate) fn migrate() -> ExitCode {
    let settings = match StoreSettings::from_lookup(environment) {
        Ok(settings) => settings,
        Err(e) => return fatal(&format!("invalid configuration: {e}")),
    };
    match settings.open() {
        Ok((store, notes)) => {
            drop(store);
            println!(
                "{}",
                json!({"status": "ok", "database": settings.describe(),
                       "schema": crate::wiring::schema_field(&notes)})
            );
            ExitCode::SUCCESS
        }
        Err(e) => fatal(&format!("cannot migrate: {e}")),
    }
}
