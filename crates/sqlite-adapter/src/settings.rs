//! [`SqliteConfig::from_lookup`]: the adapter reads its own settings, so a
//! binary that picks this store cannot forget to pass one on.

use std::path::PathBuf;

use crate::store::SqliteConfig;

/// The URL schemes this adapter serves (`sqlite:///…`).
pub const SCHEMES: &[&str] = &["sqlite"];

/// Why the environment does not make a valid [`SqliteConfig`]. Each message
/// is one line and names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// `DATABASE_URL` is not a `sqlite:///` URL with a file path.
    #[error(
        "DATABASE_URL must look like sqlite:////absolute/path.db or sqlite:///relative/path.db, got {0:?}"
    )]
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

impl From<store_kit::settings::Invalid> for SettingsError {
    fn from(e: store_kit::settings::Invalid) -> Self {
        Self::Invalid {
            name: e.name,
            expected: e.expected,
            value: e.value,
        }
    }
}

impl SqliteConfig {
    /// The settings for `database_url`, with the tunables read through
    /// `lookup` (the environment, or a map in tests):
    /// - `SEARCH_INDEX`: `on` (default) or `off`;
    /// - `WRITE_QUEUE`: inserts that may wait for the writer (default 4096);
    /// - `SQLITE_PAGE_SIZE`: the page size of a new file (default 4096).
    ///
    /// `sqlite:////abs/path.db` is absolute, `sqlite:///rel/path.db`
    /// relative to the working directory.
    ///
    /// # Errors
    /// [`SettingsError`] naming the first variable that is invalid.
    pub fn from_lookup(
        database_url: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let path = database_url
            .strip_prefix("sqlite:///")
            .filter(|rest| !rest.is_empty() && !rest.ends_with('/') && !rest.contains('?'))
            .map(PathBuf::from)
            .ok_or_else(|| SettingsError::DatabaseUrl(database_url.to_owned()))?;
        let mut config = Self::new(path);
        let shared = store_kit::settings::Shared::from_lookup(&lookup)?;
        config.search_index = shared.search_index.unwrap_or(config.search_index);
        config.write_queue = shared.write_queue.unwrap_or(config.write_queue);
        if let Some(value) = lookup("SQLITE_PAGE_SIZE").filter(|v| !v.trim().is_empty()) {
            config.page_size = page_size(&value).ok_or(SettingsError::Invalid {
                name: "SQLITE_PAGE_SIZE",
                expected: "a power of two from 512 to 65536 (bytes)",
                value,
            })?;
        }
        Ok(config)
    }
}

/// A page size SQLite accepts: a power of two from 512 to 65,536.
fn page_size(value: &str) -> Option<u32> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| n.is_power_of_two() && (512..=65_536).contains(n))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(url: &str, vars: &[(&str, &str)]) -> Result<SqliteConfig, SettingsError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        SqliteConfig::from_lookup(url, |k| map.get(k).map(|v| (*v).to_owned()))
    }

    #[test]
    fn database_urls() {
        let cases = [
            ("sqlite:////data/app.db", Some("/data/app.db")),
            ("sqlite:///app.db", Some("app.db")),
            ("sqlite:///data/sub/app.db", Some("data/sub/app.db")),
            ("sqlite://app.db", None),
            ("sqlite:///", None),
            ("sqlite:////data/", None),
            ("/data/app.db", None),
            ("sqlite:///app.db?mode=ro", None),
        ];
        for (url, expected) in cases {
            let got = config(url, &[]).map(|c| c.path);
            match expected {
                Some(p) => assert_eq!(got, Ok(PathBuf::from(p)), "{url}"),
                None => assert_eq!(got, Err(SettingsError::DatabaseUrl(url.to_owned()))),
            }
        }
    }

    #[test]
    fn tunables_reach_the_config() {
        let url = "sqlite:///a.db";
        let defaults = config(url, &[]).expect("valid");
        assert!(defaults.search_index);
        assert_eq!(defaults.write_queue, 4096);
        assert_eq!(defaults.page_size, 4096);
        let set = config(
            url,
            &[
                ("SEARCH_INDEX", "OFF"),
                ("WRITE_QUEUE", "7"),
                ("SQLITE_PAGE_SIZE", "1024"),
            ],
        )
        .expect("valid");
        assert!(!set.search_index);
        assert_eq!(set.write_queue, 7);
        assert_eq!(set.page_size, 1024);
        for (name, bad) in [
            ("SEARCH_INDEX", "maybe"),
            ("WRITE_QUEUE", "0"),
            ("WRITE_QUEUE", "-1"),
            ("SQLITE_PAGE_SIZE", "1000"),
            ("SQLITE_PAGE_SIZE", "256"),
            ("SQLITE_PAGE_SIZE", "131072"),
        ] {
            let e = config(url, &[(name, bad)]).expect_err(bad);
            assert!(e.to_string().starts_with(name), "{e}");
        }
    }
}
