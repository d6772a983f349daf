//! [`PostgresConfig::from_lookup`]: the adapter reads its own settings from
//! `DATABASE_URL` and its variables, so a binary cannot forget one.

use std::time::Duration;

/// The URL schemes this adapter serves.
pub const SCHEMES: &[&str] = &["postgres", "postgresql"];

/// How TLS is used, as libpq's `sslmode` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, without verifying the certificate
    /// (libpq's default; `allow` is taken as `prefer`).
    Prefer,
    /// TLS always; the certificate is verified only when `sslrootcert` is
    /// given (then as `verify-ca`), as libpq does.
    Require,
    /// TLS, the certificate chain verified against the roots.
    VerifyCa,
    /// TLS, the chain and the host name verified.
    VerifyFull,
}

/// How a [`crate::PostgresStore`] connects and behaves.
#[derive(Clone)]
pub struct PostgresConfig {
    /// The URL given to the client, without the TLS parameters it does not
    /// understand (`sslmode` beyond `require`, `sslrootcert`).
    pub(crate) client_url: String,
    /// The TLS mode.
    pub ssl_mode: SslMode,
    /// A PEM file of trusted roots (`sslrootcert`); the system's when unset.
    pub ssl_root_cert: Option<String>,
    /// Read connections kept open (`POSTGRES_POOL_SIZE`).
    pub pool_size: u32,
    /// How long a new connection may take (`POSTGRES_CONNECT_TIMEOUT`).
    pub connect_timeout: Duration,
    /// How long one statement may run, lock waits included
    /// (`POSTGRES_STATEMENT_TIMEOUT`); the server cancels it after that.
    pub statement_timeout: Duration,
    /// How long a read waits for a free pooled connection before the
    /// request is refused as unavailable.
    pub pool_wait: Duration,
    /// Keep the `pg_trgm` index that makes `q` fast (`SEARCH_INDEX`).
    pub search_index: bool,
    /// Inserts that may wait for the writer (`WRITE_QUEUE`).
    pub write_queue: usize,
    /// The most inserts one transaction carries.
    pub max_batch: usize,
    /// The most matching rows whose keys a replica keeps for one searched
    /// word (20,000); a word in more keeps only its count (see the crate's
    /// README). Tests lower it to reach the counted path.
    pub search_keep: usize,
}

impl std::fmt::Debug for PostgresConfig {
    /// Never shows the URL: it may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("target", &self.describe())
            .field("ssl_mode", &self.ssl_mode)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("search_index", &self.search_index)
            .field("write_queue", &self.write_queue)
            .finish_non_exhaustive()
    }
}

/// Why the environment does not make a valid [`PostgresConfig`]. One line,
/// naming the variable; never the URL's password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// `DATABASE_URL` is not a usable `postgres://` URL.
    #[error("DATABASE_URL is not a valid postgres:// URL: {0}")]
    DatabaseUrl(String),
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

impl PostgresConfig {
    /// The settings for `database_url` (`postgres://user:pass@host:port/db?…`
    /// with libpq's parameters, `sslmode` and `sslrootcert` included), with
    /// the tunables read through `lookup`:
    /// - `POSTGRES_POOL_SIZE`: read connections (default 8);
    /// - `POSTGRES_CONNECT_TIMEOUT`: e.g. `5s`, `500ms` (default 5 s);
    /// - `POSTGRES_STATEMENT_TIMEOUT`: e.g. `5s` (default 5 s);
    /// - `SEARCH_INDEX`: `on` (default) or `off`;
    /// - `WRITE_QUEUE`: inserts that may wait for the writer (default 4096).
    ///
    /// # Errors
    /// [`SettingsError`] naming the first variable that is invalid.
    pub fn from_lookup(
        database_url: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let (client_url, ssl_mode, ssl_root_cert) = split_tls(database_url)?;
        // The client validates the rest of the URL; its message never
        // includes the password.
        client_url
            .parse::<postgres::Config>()
            .map_err(|e| SettingsError::DatabaseUrl(e.to_string()))?;
        let mut config = Self {
            client_url,
            ssl_mode,
            ssl_root_cert,
            pool_size: 8,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
            pool_wait: Duration::from_secs(1),
            search_index: true,
            write_queue: 4096,
            max_batch: 512,
            search_keep: crate::matches::MAX_SET,
        };
        if let Some(v) = lookup("POSTGRES_POOL_SIZE") {
            config.pool_size = v
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "POSTGRES_POOL_SIZE",
                        "a number of connections from 1 to 1000",
                        v,
                    )
                })?;
        }
        if let Some(v) = lookup("POSTGRES_CONNECT_TIMEOUT") {
            config.connect_timeout = duration(&v).ok_or_else(|| {
                invalid("POSTGRES_CONNECT_TIMEOUT", "a duration like 5s or 500ms", v)
            })?;
        }
        if let Some(v) = lookup("POSTGRES_STATEMENT_TIMEOUT") {
            config.statement_timeout = duration(&v).ok_or_else(|| {
                invalid(
                    "POSTGRES_STATEMENT_TIMEOUT",
                    "a duration like 5s or 500ms",
                    v,
                )
            })?;
        }
        let shared = store_kit::settings::Shared::from_lookup(&lookup)?;
        config.search_index = shared.search_index.unwrap_or(config.search_index);
        config.write_queue = shared.write_queue.unwrap_or(config.write_queue);
        Ok(config)
    }

    /// `host:port/dbname`, for logs: no user, no password.
    #[must_use]
    pub fn describe(&self) -> String {
        let Ok(config) = self.client_url.parse::<postgres::Config>() else {
            return "postgres".to_owned();
        };
        let host = config
            .get_hosts()
            .first()
            .map(|h| match h {
                postgres::config::Host::Tcp(name) => name.clone(),
                postgres::config::Host::Unix(path) => path.display().to_string(),
            })
            .unwrap_or_default();
        let port = config.get_ports().first().copied().unwrap_or(5432);
        format!(
            "postgres://{host}:{port}/{}",
            config.get_dbname().unwrap_or_default()
        )
    }

    /// The client configuration with hookbox's connection settings applied.
    pub(crate) fn client_config(&self, role: &str) -> postgres::Config {
        let mut config: postgres::Config = self
            .client_url
            .parse()
            .unwrap_or_else(|_| postgres::Config::new());
        let ms = self.statement_timeout.as_millis();
        config
            .connect_timeout(self.connect_timeout)
            .application_name(&format!("hookbox-{role}"))
            .options(&format!("-c statement_timeout={ms}"));
        config
    }
}

/// Takes `sslmode` and `sslrootcert` out of the URL's query: the client
/// knows only `disable`, `prefer` and `require`, and no root file.
fn split_tls(url: &str) -> Result<(String, SslMode, Option<String>), SettingsError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut mode = SslMode::Prefer;
    let mut root = None;
    let mut kept = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "sslmode" => {
                mode = match value.as_ref() {
                    "disable" => SslMode::Disable,
                    "allow" | "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => {
                        return Err(SettingsError::DatabaseUrl(format!(
                            "sslmode must be disable, allow, prefer, require, verify-ca or verify-full, got {other:?}"
                        )));
                    }
                }
            }
            "sslrootcert" => root = Some(value.into_owned()),
            "sslcert" | "sslkey" => {
                return Err(SettingsError::DatabaseUrl(
                    "client certificates (sslcert, sslkey) are not supported".to_owned(),
                ));
            }
            _ => {
                kept.append_pair(&key, &value);
            }
        }
    }
    // The client sees TLS as on or off; verification is ours (see tls.rs).
    let client_mode = match mode {
        SslMode::Disable => "disable",
        SslMode::Prefer => "prefer",
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => "require",
    };
    kept.append_pair("sslmode", client_mode);
    if mode == SslMode::Require && root.is_some() {
        mode = SslMode::VerifyCa;
    }
    Ok((format!("{base}?{}", kept.finish()), mode, root))
}

/// `5s`, `500ms`, `2m`, or a bare number of milliseconds; more than zero.
fn duration(value: &str) -> Option<Duration> {
    let v = value.trim();
    let (digits, unit): (&str, u64) = if let Some(n) = v.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60_000)
    } else {
        (v, 1)
    };
    let n: u64 = digits.trim().parse().ok()?;
    (n > 0).then(|| Duration::from_millis(n.saturating_mul(unit)))
}

impl From<store_kit::settings::Invalid> for SettingsError {
    fn from(e: store_kit::settings::Invalid) -> Self {
        Self::Invalid {
            name: e.name,
            expected: e.expected,
            value: e.value,
        }
    }
}

fn invalid(name: &'static str, expected: &'static str, value: String) -> SettingsError {
    SettingsError::Invalid {
        name,
        expected,
        value,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(url: &str, vars: &[(&str, &str)]) -> Result<PostgresConfig, SettingsError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        PostgresConfig::from_lookup(url, |k| map.get(k).map(|v| (*v).to_owned()))
    }

    #[test]
    fn tls_parameters_are_taken_out_of_the_url() {
        let c = config("postgres://u:secretpw@db:6543/app?sslmode=verify-full&sslrootcert=/ca.pem&application_name=x", &[]).expect("valid");
        assert_eq!(c.ssl_mode, SslMode::VerifyFull);
        assert_eq!(c.ssl_root_cert.as_deref(), Some("/ca.pem"));
        assert!(c.client_url.contains("sslmode=require"), "{}", c.client_url);
        assert!(!c.client_url.contains("sslrootcert"));
        assert_eq!(c.describe(), "postgres://db:6543/app");
        assert!(!format!("{c:?}").contains("secretpw"));
        let c = config(
            "postgresql://localhost/app?sslmode=require&sslrootcert=/ca.pem",
            &[],
        )
        .expect("valid");
        assert_eq!(
            c.ssl_mode,
            SslMode::VerifyCa,
            "require with a root file verifies, as libpq"
        );
        assert_eq!(
            config("postgres://localhost/app", &[])
                .expect("valid")
                .ssl_mode,
            SslMode::Prefer
        );
        assert_eq!(
            config("postgres://localhost/app?sslmode=disable", &[])
                .expect("valid")
                .ssl_mode,
            SslMode::Disable
        );
        for bad in [
            "postgres://localhost/app?sslmode=sometimes",
            "postgres://localhost/app?sslcert=/c.pem",
            "postgres://localhost/app?nonsense=1",
            "postgres://u:secretpw@localhost:notaport/app",
        ] {
            let e = config(bad, &[]).expect_err(bad);
            assert!(e.to_string().starts_with("DATABASE_URL"), "{e}");
            assert!(!e.to_string().contains("secretpw"), "{e}");
        }
    }

    #[test]
    fn tunables_reach_the_config() {
        let url = "postgres://localhost/app";
        let d = config(url, &[]).expect("valid");
        assert_eq!(
            (d.pool_size, d.write_queue, d.search_index),
            (8, 4096, true)
        );
        let c = config(
            url,
            &[
                ("POSTGRES_POOL_SIZE", "3"),
                ("POSTGRES_CONNECT_TIMEOUT", "250ms"),
                ("POSTGRES_STATEMENT_TIMEOUT", "2s"),
                ("SEARCH_INDEX", "off"),
                ("WRITE_QUEUE", "9"),
            ],
        )
        .expect("valid");
        assert_eq!(c.pool_size, 3);
        assert_eq!(c.connect_timeout, Duration::from_millis(250));
        assert_eq!(c.statement_timeout, Duration::from_secs(2));
        assert!(!c.search_index);
        assert_eq!(c.write_queue, 9);
        for (name, bad) in [
            ("POSTGRES_POOL_SIZE", "0"),
            ("POSTGRES_CONNECT_TIMEOUT", "soon"),
            ("POSTGRES_STATEMENT_TIMEOUT", "0s"),
            ("SEARCH_INDEX", "maybe"),
            ("WRITE_QUEUE", "-3"),
        ] {
            let e = config(url, &[(name, bad)]).expect_err(bad);
            assert!(e.to_string().starts_with(name), "{e}");
        }
    }
}
