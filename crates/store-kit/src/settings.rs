//! The settings both adapters read, parsed alike: `SEARCH_INDEX` and
//! `WRITE_QUEUE`. Each adapter folds [`Invalid`] into its own error.

/// A variable that does not parse; the message names it and what it must
/// be. Never used for secrets: the value is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The variable.
    pub name: &'static str,
    /// What it must be.
    pub expected: &'static str,
    /// What it is.
    pub value: String,
}

/// What both adapters read; `None` where the variable is unset (or empty),
/// leaving the adapter's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shared {
    /// `SEARCH_INDEX`: `on` or `off` (also `true`/`false`, `1`/`0`).
    pub search_index: Option<bool>,
    /// `WRITE_QUEUE`: inserts that may wait for the writer, at least 1.
    pub write_queue: Option<usize>,
}

impl Shared {
    /// Reads both through `lookup`.
    ///
    /// # Errors
    /// [`Invalid`] for the first variable that does not parse.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, Invalid> {
        Ok(Self {
            search_index: switch(lookup, "SEARCH_INDEX")?,
            write_queue: positive(lookup, "WRITE_QUEUE", "a positive number of requests")?,
        })
    }
}

/// An on/off variable.
///
/// # Errors
/// [`Invalid`] for anything but `on`, `off`, `true`, `false`, `1`, `0`
/// (any case, white space trimmed).
pub fn switch(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<bool>, Invalid> {
    let Some(v) = lookup(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    match v.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" => Ok(Some(true)),
        "off" | "false" | "0" => Ok(Some(false)),
        _ => Err(Invalid {
            name,
            expected: "on or off",
            value: v,
        }),
    }
}

/// A positive whole number.
///
/// # Errors
/// [`Invalid`] for anything but a whole number of at least 1.
pub fn positive(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    expected: &'static str,
) -> Result<Option<usize>, Invalid> {
    let Some(v) = lookup(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    v.trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .map(Some)
        .ok_or(Invalid {
            name,
            expected,
            value: v,
        })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn shared(vars: &[(&str, &str)]) -> Result<Shared, Invalid> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        Shared::from_lookup(&|k: &str| map.get(k).map(|v| (*v).to_owned()))
    }

    #[test]
    fn both_settings_parse_alike() {
        assert_eq!(shared(&[]), Ok(Shared::default()));
        let s = shared(&[("SEARCH_INDEX", " OFF "), ("WRITE_QUEUE", "7")]).expect("valid");
        assert_eq!((s.search_index, s.write_queue), (Some(false), Some(7)));
        assert_eq!(
            shared(&[("SEARCH_INDEX", "1")]).map(|s| s.search_index),
            Ok(Some(true))
        );
        for (name, bad) in [
            ("SEARCH_INDEX", "maybe"),
            ("WRITE_QUEUE", "0"),
            ("WRITE_QUEUE", "-1"),
        ] {
            let e = shared(&[(name, bad)]).expect_err(bad);
            assert_eq!((e.name, e.value.as_str()), (name, bad));
        }
    }
}
