//! [`Config`]: the HTTP side's settings, read from the environment once, at
//! start-up. The store's settings (`DATABASE_URL` and each adapter's own
//! variables) are read by the adapter the binary picks, in `main`'s wiring.

use crate::proxies::TrustedProxies;
use std::time::Duration;

use domain::{SigningKeys, WebhookSecret};

use crate::tokens::ReadTokens;

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
    /// How far `webhook-timestamp` may be from the server's clock, either
    /// way (`WEBHOOK_TOLERANCE_SECONDS`).
    pub tolerance_seconds: u64,
    /// WhatsApp Cloud API, when configured (`WHATSAPP_*`).
    pub whatsapp: Option<WhatsAppConfig>,
    /// The bearer tokens that may erase, and read (`ADMIN_TOKENS`,
    /// `ADMIN_TOKENS_FILE`); `None` disables erasure.
    pub admin_tokens: Option<ReadTokens>,
    /// The origins a browser may call hookbox from
    /// (`CORS_ALLOWED_ORIGINS`); empty sends no CORS headers.
    pub cors_origins: Vec<String>,
    /// The proxies whose `X-Forwarded-For` names the client in the log
    /// line (`TRUSTED_PROXIES`); none by default.
    pub trusted_proxies: TrustedProxies,
    /// The bearer tokens reads require (`API_TOKENS`, `API_TOKENS_FILE`);
    /// `None` leaves reads open.
    pub read_tokens: Option<ReadTokens>,
    /// `GET /messages/stream`'s limits (`STREAM_*`).
    pub stream: StreamConfig,
    /// Delete messages received longer ago than this (`RETENTION`); `None`
    /// keeps everything.
    pub retention: Option<Duration>,
    /// Keep each message's raw bytes (`KEEP_RAW`, default on).
    pub keep_raw: bool,
    /// Forwarding to subscriptions (`FORWARD_*`).
    pub forward: ForwardConfig,
}

/// Forwarding's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardConfig {
    /// One attempt's limit (`FORWARD_TIMEOUT`, default 10 s).
    pub timeout: Duration,
    /// Attempts per message in all (`FORWARD_MAX_ATTEMPTS`, default 8:
    /// about four minutes of retries before the dead-letter list).
    pub max_attempts: u32,
    /// The hosts subscriptions may deliver to (`FORWARD_ALLOWED_HOSTS`);
    /// `None` allows any.
    pub allowed_hosts: Option<Vec<String>>,
}

impl Default for ForwardConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_attempts: 8,
            allowed_hosts: None,
        }
    }
}

/// The live stream's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// Open streams at most (`STREAM_MAX_CLIENTS`); one more gets 503.
    pub max_clients: usize,
    /// Events a client may fall behind by (`STREAM_CLIENT_BUFFER`) before
    /// it is told to resume and is closed.
    pub client_buffer: usize,
    /// How often an idle stream gets a comment (`STREAM_HEARTBEAT_SECONDS`).
    pub heartbeat: Duration,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            max_clients: 256,
            client_buffer: 1024,
            heartbeat: Duration::from_secs(15),
        }
    }
}

/// WhatsApp Cloud API's settings: both the app secret and the verify token
/// are needed to serve `/webhook/whatsapp`.
#[derive(Clone)]
pub struct WhatsAppConfig {
    /// The app secret Meta signs with (`WHATSAPP_APP_SECRET` or
    /// `WHATSAPP_APP_SECRET_FILE`, with `WHATSAPP_APP_SECRET_PREVIOUS`).
    pub keys: SigningKeys,
    /// The token typed into Meta's dashboard (`WHATSAPP_VERIFY_TOKEN`).
    pub verify_token: String,
    /// Largest accepted notification (`WHATSAPP_MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
}

impl std::fmt::Debug for WhatsAppConfig {
    /// Never shows the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatsAppConfig")
            .field("keys", &self.keys)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
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
    /// One of the WhatsApp pair is set without the other.
    #[error("{0} is set but {1} is not; WhatsApp needs both")]
    HalfWhatsApp(&'static str, &'static str),
    /// The secret is empty.
    #[error("{0} is empty; it must be a non-empty string")]
    EmptySecret(&'static str),
    /// Both ways of giving a secret are used.
    #[error("set {0} or {0}_FILE, not both")]
    SecretTwice(&'static str),
    /// A `…_FILE` cannot be read.
    #[error("cannot read {name} {path}: {reason}")]
    SecretFile {
        /// The variable.
        name: &'static str,
        /// The file named.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// A `…_PREVIOUS` list has an empty secret.
    #[error("{0} has an empty entry; list non-empty secrets separated by commas")]
    EmptyPreviousSecret(&'static str),
    /// `API_TOKENS` (or its file) holds an empty or blank token.
    #[error("{0} has an empty token; list non-empty tokens separated by commas")]
    EmptyToken(&'static str),
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
        // An empty value is unset, as for every variable.
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
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
        let tolerance = positive(
            &lookup,
            "WEBHOOK_TOLERANCE_SECONDS",
            usize::try_from(domain::DEFAULT_TOLERANCE_SECONDS).unwrap_or(300),
            "a positive number of seconds",
        )?;
        let whatsapp = whatsapp(&lookup)?;
        let read_tokens = tokens(&lookup, "API_TOKENS", "API_TOKENS_FILE")?;
        let admin_tokens = tokens(&lookup, "ADMIN_TOKENS", "ADMIN_TOKENS_FILE")?;
        let cors_origins = cors_origins(lookup("CORS_ALLOWED_ORIGINS"))?;
        let trusted_proxies = match lookup("TRUSTED_PROXIES") {
            None => TrustedProxies::default(),
            Some(v) => TrustedProxies::parse(&v).map_err(|_| {
                invalid(
                    "TRUSTED_PROXIES",
                    "a comma-separated list of IP addresses or CIDR blocks like 10.0.0.0/8",
                    v,
                )
            })?,
        };
        let stream = stream(&lookup)?;
        let retention = match lookup("RETENTION") {
            None => None,
            Some(v) if v.trim().is_empty() => None,
            Some(v) => Some(parse_period(&v).ok_or_else(|| {
                invalid(
                    "RETENTION",
                    "a positive duration with a unit, like 30d, 12h, 90m or 45s",
                    v,
                )
            })?),
        };
        let keep_raw = match lookup("KEEP_RAW").filter(|v| !v.trim().is_empty()) {
            None => true,
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "on" | "true" | "1" => true,
                "off" | "false" | "0" => false,
                _ => return Err(invalid("KEEP_RAW", "on or off", v)),
            },
        };
        let forward = forward(&lookup)?;
        Ok(Self {
            forward,
            keep_raw,
            keys,
            host,
            port,
            log_level,
            max_body_bytes,
            tolerance_seconds: u64::try_from(tolerance).unwrap_or(u64::MAX),
            whatsapp,
            read_tokens,
            admin_tokens,
            cors_origins,
            trusted_proxies,
            stream,
            retention,
        })
    }
}

/// The stream's limits: `STREAM_MAX_CLIENTS`, `STREAM_CLIENT_BUFFER`,
/// `STREAM_HEARTBEAT_SECONDS`.
fn stream(lookup: &impl Fn(&str) -> Option<String>) -> Result<StreamConfig, ConfigError> {
    let defaults = StreamConfig::default();
    Ok(StreamConfig {
        max_clients: positive(
            lookup,
            "STREAM_MAX_CLIENTS",
            defaults.max_clients,
            "a positive number of clients",
        )?,
        client_buffer: positive(
            lookup,
            "STREAM_CLIENT_BUFFER",
            defaults.client_buffer,
            "a positive number of events",
        )?,
        heartbeat: Duration::from_secs(
            u64::try_from(positive(
                lookup,
                "STREAM_HEARTBEAT_SECONDS",
                15,
                "a positive number of seconds",
            )?)
            .unwrap_or(15),
        ),
    })
}

/// `FORWARD_TIMEOUT`, `FORWARD_MAX_ATTEMPTS`, `FORWARD_ALLOWED_HOSTS`.
fn forward(lookup: &impl Fn(&str) -> Option<String>) -> Result<ForwardConfig, ConfigError> {
    let defaults = ForwardConfig::default();
    let timeout = match lookup("FORWARD_TIMEOUT") {
        None => defaults.timeout,
        Some(v) => parse_timeout(&v).ok_or_else(|| {
            invalid(
                "FORWARD_TIMEOUT",
                "a duration from 1ms to 300s, like 10s, 2.5s or 500ms (a bare number is seconds)",
                v,
            )
        })?,
    };
    let max_attempts = positive(
        lookup,
        "FORWARD_MAX_ATTEMPTS",
        defaults.max_attempts as usize,
        "a number of attempts from 1 to 100",
    )?;
    let max_attempts = u32::try_from(max_attempts)
        .ok()
        .filter(|n| *n <= 100)
        .ok_or_else(|| {
            invalid(
                "FORWARD_MAX_ATTEMPTS",
                "a number of attempts from 1 to 100",
                max_attempts.to_string(),
            )
        })?;
    let allowed_hosts = match lookup("FORWARD_ALLOWED_HOSTS") {
        None => None,
        Some(v) => {
            let hosts: Vec<String> = v
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .collect();
            if hosts
                .iter()
                .any(|h| h.is_empty() || h.contains(['/', ':']) && !h.starts_with('['))
            {
                return Err(invalid(
                    "FORWARD_ALLOWED_HOSTS",
                    "a comma-separated list of host names or addresses (no scheme or port), like hooks.example.com,*.internal,127.0.0.1",
                    v,
                ));
            }
            Some(hosts)
        }
    };
    Ok(ForwardConfig {
        timeout,
        max_attempts,
        allowed_hosts,
    })
}

/// `10`, `10s`, `2.5s` or `500ms`: from 1 ms to 300 s.
fn parse_timeout(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 0.001)
    } else {
        (text.strip_suffix('s').unwrap_or(text), 1.0)
    };
    let value: f64 = number.trim().parse().ok().filter(|v: &f64| v.is_finite())?;
    let seconds = value * scale;
    (0.001..=300.0)
        .contains(&seconds)
        .then(|| Duration::from_secs_f64(seconds))
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
    named_keys(
        lookup,
        "WEBHOOK_SECRET",
        "WEBHOOK_SECRET_FILE",
        "WEBHOOK_SECRET_PREVIOUS",
    )?
    .ok_or(ConfigError::MissingSecret)
}

/// A secret from `name` or the file `file_name` names (one trailing newline
/// trimmed), with older ones from `previous_name`; `None` when neither is set.
fn named_keys(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    file_name: &'static str,
    previous_name: &'static str,
) -> Result<Option<SigningKeys>, ConfigError> {
    let primary = match (lookup(name), lookup(file_name)) {
        (Some(_), Some(_)) => return Err(ConfigError::SecretTwice(name)),
        (None, None) => return Ok(None),
        (Some(secret), None) => {
            WebhookSecret::new(secret).map_err(|_| ConfigError::EmptySecret(name))?
        }
        (None, Some(path)) => {
            let content = std::fs::read(&path).map_err(|e| ConfigError::SecretFile {
                name: file_name,
                path: path.clone(),
                reason: e.kind().to_string(),
            })?;
            let trimmed = content
                .strip_suffix(b"\n")
                .map(|c| c.strip_suffix(b"\r").unwrap_or(c))
                .unwrap_or(&content);
            WebhookSecret::new(trimmed).map_err(|_| ConfigError::EmptySecret(file_name))?
        }
    };
    let previous = match lookup(previous_name) {
        None => Vec::new(),
        Some(list) if list.is_empty() => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|s| {
                WebhookSecret::new(s).map_err(|_| ConfigError::EmptyPreviousSecret(previous_name))
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(Some(SigningKeys::new(primary).with_previous(previous)))
}

/// The tokens from `name` (`API_TOKENS`, `ADMIN_TOKENS`) or the file
/// `file` names (tokens separated by commas or newlines there); none when
/// neither is set.
fn tokens(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    file: &'static str,
) -> Result<Option<ReadTokens>, ConfigError> {
    let (name, list) = match (lookup(name), lookup(file)) {
        (Some(_), Some(_)) => return Err(ConfigError::SecretTwice(name)),
        (None, None) => return Ok(None),
        (Some(list), None) => (name, list),
        (None, Some(path)) => {
            let content = std::fs::read_to_string(&path).map_err(|e| ConfigError::SecretFile {
                name: file,
                path: path.clone(),
                reason: e.kind().to_string(),
            })?;
            // One per line or comma-separated; blank lines are fine.
            let joined = content
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(",");
            (file, joined)
        }
    };
    let tokens: Vec<String> = list.split(',').map(|t| t.trim().to_owned()).collect();
    if tokens.iter().any(String::is_empty) {
        return Err(ConfigError::EmptyToken(name));
    }
    Ok(Some(ReadTokens::new(tokens)))
}

/// `CORS_ALLOWED_ORIGINS`: exact origins (`scheme://host[:port]`), comma
/// separated; unset or blank is none.
fn cors_origins(value: Option<String>) -> Result<Vec<String>, ConfigError> {
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let origins: Vec<String> = value.split(',').map(|o| o.trim().to_owned()).collect();
    let valid = |o: &str| {
        let rest = o
            .strip_prefix("https://")
            .or_else(|| o.strip_prefix("http://"));
        rest.is_some_and(|host| {
            !host.is_empty() && !host.contains(['/', '?', '#', ' ', '*']) && host.is_ascii()
        })
    };
    if origins.iter().all(|o| valid(o)) {
        Ok(origins)
    } else {
        Err(invalid(
            "CORS_ALLOWED_ORIGINS",
            "a comma-separated list of origins like https://app.example.com (scheme, host, optional port; no path)",
            value,
        ))
    }
}

/// WhatsApp's settings: none when neither the secret nor the token is set.
fn whatsapp(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<WhatsAppConfig>, ConfigError> {
    let keys = named_keys(
        lookup,
        "WHATSAPP_APP_SECRET",
        "WHATSAPP_APP_SECRET_FILE",
        "WHATSAPP_APP_SECRET_PREVIOUS",
    )?;
    let token = lookup("WHATSAPP_VERIFY_TOKEN");
    let max_body_bytes = positive(
        lookup,
        "WHATSAPP_MAX_BODY_BYTES",
        4 * 1024 * 1024,
        "a positive number of bytes",
    )?;
    match (keys, token) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(ConfigError::HalfWhatsApp(
            "WHATSAPP_APP_SECRET",
            "WHATSAPP_VERIFY_TOKEN",
        )),
        (None, Some(_)) => Err(ConfigError::HalfWhatsApp(
            "WHATSAPP_VERIFY_TOKEN",
            "WHATSAPP_APP_SECRET",
        )),
        (Some(_), Some(t)) if t.is_empty() => {
            Err(ConfigError::EmptySecret("WHATSAPP_VERIFY_TOKEN"))
        }
        (Some(keys), Some(verify_token)) => Ok(Some(WhatsAppConfig {
            keys,
            verify_token,
            max_body_bytes,
        })),
    }
}

/// Parses `30d`, `12h`, `90m` or `45s` (a positive whole number and one
/// unit).
#[must_use]
pub fn parse_period(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().checked_sub(1)?);
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = number.parse().ok().filter(|n| *n > 0)?;
    let seconds = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        _ => None,
    }?;
    // Past a century it is no retention at all; refuse the typo.
    (seconds <= 100 * 365 * 86_400).then(|| Duration::from_secs(seconds))
}

fn parse_level(value: &str) -> Option<slog::Level> {
    // Exactly the documented four, in any case.
    match value.trim().to_ascii_uppercase().as_str() {
        "DEBUG" => Some(slog::Level::Debug),
        "INFO" => Some(slog::Level::Info),
        "WARN" => Some(slog::Level::Warning),
        "ERROR" => Some(slog::Level::Error),
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
            Err(ConfigError::SecretTwice("WEBHOOK_SECRET"))
        );
        assert_eq!(
            config(&[("WEBHOOK_SECRET", "a"), ("WEBHOOK_SECRET_PREVIOUS", "b,,c")]).map(|_| ()),
            Err(ConfigError::EmptyPreviousSecret("WEBHOOK_SECRET_PREVIOUS"))
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
    fn whatsapp_needs_both_and_takes_its_own_limits() {
        let base = [("WEBHOOK_SECRET", "s")];
        let with = |extra: &[(&str, &str)]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            config(&v)
        };
        assert!(with(&[]).expect("valid").whatsapp.is_none());
        let w = with(&[
            ("WHATSAPP_APP_SECRET", "app"),
            ("WHATSAPP_VERIFY_TOKEN", "tok"),
        ])
        .expect("valid")
        .whatsapp
        .expect("configured");
        assert_eq!(w.max_body_bytes, 4 * 1024 * 1024);
        assert!(!format!("{w:?}").contains("tok"));
        assert_eq!(
            with(&[("WHATSAPP_APP_SECRET", "app")]).map(|_| ()),
            Err(ConfigError::HalfWhatsApp(
                "WHATSAPP_APP_SECRET",
                "WHATSAPP_VERIFY_TOKEN"
            ))
        );
        assert!(with(&[("WHATSAPP_VERIFY_TOKEN", "t")]).is_err());
        assert!(
            with(&[
                ("WHATSAPP_APP_SECRET", "a"),
                ("WHATSAPP_VERIFY_TOKEN", "t"),
                ("WHATSAPP_MAX_BODY_BYTES", "0")
            ])
            .is_err()
        );
        assert!(with(&[("WEBHOOK_TOLERANCE_SECONDS", "0")]).is_err());
        assert_eq!(
            with(&[("WEBHOOK_TOLERANCE_SECONDS", "60")])
                .expect("valid")
                .tolerance_seconds,
            60
        );
    }

    #[test]
    fn read_tokens_and_stream_limits() {
        let with = |extra: &[(&str, &str)]| {
            let mut v = vec![("WEBHOOK_SECRET", "s")];
            v.extend_from_slice(extra);
            config(&v)
        };
        let open = with(&[]).expect("valid");
        assert!(open.read_tokens.is_none());
        assert_eq!(open.stream, StreamConfig::default());
        let c = with(&[("API_TOKENS", "alpha, beta")]).expect("valid");
        let tokens = c.read_tokens.expect("tokens");
        assert!(tokens.accepts("alpha") && tokens.accepts("beta"));
        assert!(!tokens.accepts("alph") && !tokens.accepts("alpha,beta"));
        assert!(!format!("{tokens:?}").contains("alpha"));
        for bad in ["", "a,,b", " , a"] {
            assert_eq!(
                with(&[("API_TOKENS", bad)]).map(|_| ()),
                Err(ConfigError::EmptyToken("API_TOKENS")),
                "{bad:?}"
            );
        }
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("tokens");
        std::fs::write(&path, "one\n\ntwo,three\n").expect("write");
        let file = with(&[("API_TOKENS_FILE", path.to_str().expect("utf-8"))])
            .expect("valid")
            .read_tokens
            .expect("tokens");
        assert!(["one", "two", "three"].iter().all(|t| file.accepts(t)));
        assert!(with(&[("API_TOKENS", "a"), ("API_TOKENS_FILE", "/x")]).is_err());
        let s = with(&[
            ("STREAM_MAX_CLIENTS", "3"),
            ("STREAM_CLIENT_BUFFER", "16"),
            ("STREAM_HEARTBEAT_SECONDS", "1"),
        ])
        .expect("valid")
        .stream;
        assert_eq!(
            (s.max_clients, s.client_buffer, s.heartbeat.as_secs()),
            (3, 16, 1)
        );
        assert!(with(&[("STREAM_MAX_CLIENTS", "0")]).is_err());
        assert_eq!(
            with(&[("RETENTION", "12h")]).expect("valid").retention,
            Some(Duration::from_secs(43_200))
        );
        assert!(with(&[]).expect("valid").retention.is_none());
        let bad = with(&[("RETENTION", "forever")]).expect_err("invalid");
        assert!(bad.to_string().starts_with("RETENTION must be"), "{bad}");
        assert!(with(&[("STREAM_HEARTBEAT_SECONDS", "x")]).is_err());
        assert!(with(&[]).expect("valid").keep_raw);
        assert!(!with(&[("KEEP_RAW", "OFF")]).expect("valid").keep_raw);
        let bad = with(&[("KEEP_RAW", "sometimes")]).expect_err("invalid");
        assert!(
            bad.to_string().starts_with("KEEP_RAW must be on or off"),
            "{bad}"
        );
    }

    #[test]
    fn errors_never_show_secrets() {
        let c = config(&[("WEBHOOK_SECRET", "hunter2"), ("PORT", "x")]).expect_err("bad port");
        assert!(!c.to_string().contains("hunter2"));
        let ok = config(&[("WEBHOOK_SECRET", "hunter2")]).expect("valid");
        assert!(!format!("{ok:?}").contains("hunter2"));
    }
}
