//! Storage keys both stores use: per-day counters are kept under a day key,
//! and messages sort by [`domain::Timestamp::sort_key`], whose first eight
//! digits are the day key, so day keys and sort keys compare alike.

/// The key per-day counters are stored under: `YYYYMMDD`, the UTC day. It
/// is the first eight digits of every [`Timestamp::sort_key`] on that day,
/// so day keys and sort keys compare alike.
#[must_use]
pub fn day_key(day: time::Date) -> String {
    format!(
        "{:04}{:02}{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// The day key a sort key falls on (its first eight digits).
#[must_use]
pub fn day_of_sort_key(key: &str) -> &str {
    key.get(..8).unwrap_or(key)
}

/// A bound above every sort key of day `day` (a day key) and below every
/// key of a later day: keys are fixed-width digits and `~` sorts after them.
#[must_use]
pub fn after_day(day: &str) -> String {
    format!("{day}~")
}

/// The date a stored day key names; `None` when it is not one.
#[must_use]
pub fn date_of_day_key(key: &str) -> Option<time::Date> {
    if key.len() != 8 {
        return None;
    }
    let year = key.get(0..4)?.parse().ok()?;
    let month = time::Month::try_from(key.get(4..6)?.parse::<u8>().ok()?).ok()?;
    let day = key.get(6..8)?.parse().ok()?;
    time::Date::from_calendar_date(year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use domain::Timestamp;

    use super::*;

    #[test]
    fn day_keys_prefix_the_sort_keys_of_their_day() {
        let ts = Timestamp::parse("2025-03-10T01:30:00.5Z").expect("valid");
        assert_eq!(ts.day_key(), "20250310");
        assert_eq!(day_of_sort_key(&ts.sort_key()), ts.day_key());
        assert!(ts.sort_key() < after_day(&ts.day_key()));
        assert!(after_day(&ts.day_key()).as_str() < "20250311000000000000000");
        let date = time::Date::from_calendar_date(2025, time::Month::March, 10).expect("date");
        assert_eq!(day_key(date), "20250310");
        assert_eq!(date_of_day_key("20250310"), Some(date));
        for bad in [
            "2025031",
            "202503101",
            "20251310",
            "20250230",
            "2025-3-1",
            "",
        ] {
            assert_eq!(date_of_day_key(bad), None, "{bad:?}");
        }
    }
}
