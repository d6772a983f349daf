//! [`Config`]: the HTTP side's settings, read from the environment once, at
//! start-up. The store's settings (`DATABASE_URL` and each adapter's own
//! variables) are read by the adapter the binary picks, in `main`'s wiring.

use domain::{SigningKeys, WebhookSecret};

/// hookbox's HTTP settings, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The secrets webhooks are verified with (`WEBHOOK_SECRET`,
    /// `WEBHOOK_SECRET_FILE`, `WEBHOOK_SECRET_PREVIOUS`).
    pub keys: SigningKeys,
    /// Listen address (`HOST`).
    pub host: String,
    /// Listen port (`PORT`); 0 picks a free one.
    pub port: u16,
    /// Least severe level logged (`LOG_LEVEL`).
    pub log_level: slog::Level,
    /// Largest accepted webhook body (`MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
}

/// Why the environment does not make a valid [`Config`]. Messages name the
/// variable and never include a secret's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Neither `WEBHOOK_SECRET` nor `WEBHOOK_SECRET_FILE` is set.
    #[error(
        "WEBHOOK_SECRET is not set (set it, or WEBHOOK_SECRET_FILE, to the shared HMAC secret)"
    )]
    MissingSecret,
    /// The secret is empty.
    #[error("{0} is empty; it must be a non-empty string")]
    EmptySecret(&'static str),
    /// Both ways of giving the secret are used.
    #[error("set WEBHOOK_SECRET or WEBHOOK_SECRET_FILE, not both")]
    SecretTwice,
    /// `WEBHOOK_SECRET_FILE` cannot be read.
    #[error("cannot read WEBHOOK_SECRET_FILE {path}: {reason}")]
    SecretFile {
        /// The file named.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// `WEBHOOK_SECRET_PREVIOUS` lists an empty secret.
    #[error(
        "WEBHOOK_SECRET_PREVIOUS has an empty entry; list non-empty secrets separated by commas"
    )]
    EmptyPreviousSecret,
    /// A variable does not parse.
    #[error("{name} must be {expected}, got {value:?}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What it is.
        value: String,
    },
}

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first variable that is missing or invalid.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    ///
    /// # Errors
    /// [`ConfigError`] naming the first variable that is missing or invalid.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let keys = signing_keys(&lookup)?;
        let host = lookup("HOST").unwrap_or_else(|| "0.0.0.0".to_owned());
        if host.trim().is_empty() {
            return Err(invalid("HOST", "a host name or IP address", host));
        }
        let port = match lookup("PORT") {
            None => 8000,
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| invalid("PORT", "a port number (0-65535)", v))?,
        };
        let log_level = match lookup("LOG_LEVEL") {
            None => slog::Level::Info,
            Some(v) => parse_level(&v)
                .ok_or_else(|| invalid("LOG_LEVEL", "one of DEBUG, INFO, WARN, ERROR", v))?,
        };
        let max_body_bytes = positive(
            &lookup,
            "MAX_BODY_BYTES",
            65_536,
            "a positive number of bytes",
        )?;
        Ok(Self {
            keys,
            host,
            port,
            log_level,
            max_body_bytes,
        })
    }
}

/// A positive whole number from `name`, or `default` when unset.
fn positive(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: usize,
    expected: &'static str,
) -> Result<usize, ConfigError> {
    match lookup(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| invalid(name, expected, v)),
    }
}

fn invalid(name: &'static str, expected: &'static str, value: String) -> ConfigError {
    ConfigError::Invalid {
        name,
        expected,
        value,
    }
}

fn signing_keys(lookup: &impl Fn(&str) -> Option<String>) -> Result<SigningKeys, ConfigError> {
    let primary = match (lookup("WEBHOOK_SECRET"), lookup("WEBHOOK_SECRET_FILE")) {
        (Some(_), Some(_)) => return Err(ConfigError::SecretTwice),
        (None, None) => return Err(ConfigError::MissingSecret),
        (Some(secret), None) => {
            WebhookSecret::new(secret).map_err(|_| ConfigError::EmptySecret("WEBHOOK_SECRET"))?
        }
        (None, Some(path)) => {
            let content = std::fs::read(&path).map_err(|e| ConfigError::SecretFile {
                path: path.clone(),
                reason: e.kind().to_string(),
            })?;
            let trimmed = content
                .strip_suffix(b"\n")
                .map(|c| c.strip_suffix(b"\r").unwrap_or(c))
                .unwrap_or(&content);
            WebhookSecret::new(trimmed)
                .map_err(|_| ConfigError::EmptySecret("WEBHOOK_SECRET_FILE"))?
        }
    };
    let previous = match lookup("WEBHOOK_SECRET_PREVIOUS") {
        None => Vec::new(),
        Some(list) if list.is_empty() => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|s| WebhookSecret::new(s).map_err(|_| ConfigError::EmptyPreviousSecret))
            .collect::<Result<_, _>>()?,
    };
    Ok(SigningKeys::new(primary).with_previous(previous))
}

fn parse_level(value: &str) -> Option<slog::Level> {
    match value.trim().to_ascii_uppercase().as_str() {
        "TRACE" => Some(slog::Level::Trace),
        "DEBUG" => Some(slog::Level::Debug),
        "INFO" => Some(slog::Level::Info),
        "WARN" | "WARNING" => Some(slog::Level::Warning),
        "ERROR" => Some(slog::Level::Error),
        "CRITICAL" => Some(slog::Level::Critical),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = config(&[("WEBHOOK_SECRET", "s")]).expect("valid");
        assert_eq!((c.host.as_str(), c.port), ("0.0.0.0", 8000));
        assert_eq!(c.log_level, slog::Level::Info);
        assert_eq!(c.max_body_bytes, 65_536);
    }

    #[test]
    fn secret_rules() {
        assert_eq!(config(&[]).map(|_| ()), Err(ConfigError::MissingSecret));
        assert_eq!(
            config(&[("WEBHOOK_SECRET", "")]).map(|_| ()),
            Err(ConfigError::EmptySecret("WEBHOOK_SECRET"))
        );
        assert_eq!(
            config(&[("WEBHOOK_SECRET", "a"), ("WEBHOOK_SECRET_FILE", "/x")]).map(|_| ()),
            Err(ConfigError::SecretTwice)
        );
        assert_eq!(
            config(&[("WEBHOOK_SECRET", "a"), ("WEBHOOK_SECRET_PREVIOUS", "b,,c")]).map(|_| ()),
            Err(ConfigError::EmptyPreviousSecret)
        );
        assert!(
            ConfigError::MissingSecret
                .to_string()
                .contains("WEBHOOK_SECRET")
        );
    }

    #[test]
    fn secret_from_file_trims_one_newline() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("secret");
        std::fs::write(&path, "file-secret\n").expect("write");
        let c = config(&[("WEBHOOK_SECRET_FILE", path.to_str().expect("utf-8"))]).expect("valid");
        let expected = WebhookSecret::new("file-secret")
            .expect("non-empty")
            .sign(b"x");
        assert_eq!(c.keys.primary().sign(b"x"), expected);
        let missing = config(&[("WEBHOOK_SECRET_FILE", "/no/such/file")]);
        assert!(matches!(missing, Err(ConfigError::SecretFile { .. })));
    }

    #[test]
    fn other_variables() {
        let ok = |k: &str, v: &str| config(&[("WEBHOOK_SECRET", "s"), (k, v)]).is_ok();
        assert!(ok("LOG_LEVEL", "debug"));
        assert!(ok("LOG_LEVEL", "Warn"));
        assert!(!ok("LOG_LEVEL", "loud"));
        assert!(ok("PORT", "0"));
        assert!(!ok("PORT", "65536"));
        assert!(!ok("PORT", "http"));
        assert!(ok("MAX_BODY_BYTES", "1024"));
        assert!(!ok("MAX_BODY_BYTES", "0"));
        assert!(!ok("MAX_BODY_BYTES", "-1"));
        assert!(!ok("HOST", " "));
    }

    #[test]
    fn errors_never_show_secrets() {
        let c = config(&[("WEBHOOK_SECRET", "hunter2"), ("PORT", "x")]).expect_err("bad port");
        assert!(!c.to_string().contains("hunter2"));
        let ok = config(&[("WEBHOOK_SECRET", "hunter2")]).expect("valid");
        assert!(!format!("{ok:?}").contains("hunter2"));
    }
}
