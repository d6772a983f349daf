//! [`Timestamp`]: an RFC 3339 instant in UTC, kept exactly as the sender wrote it.

use std::cmp::Ordering;
use std::fmt;

use time::{Date, Month, PrimitiveDateTime, Time};

/// Why a string is not a [`Timestamp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// Not of the form `YYYY-MM-DDTHH:MM:SS[.fffffffff]Z`.
    #[error("must be an RFC 3339 UTC timestamp like 2025-01-15T10:00:00Z")]
    Format,
    /// Carries a numeric offset (or a lower-case `z`) instead of `Z`.
    #[error("must be in UTC with an upper-case Z suffix, not an offset")]
    NotUtc,
    /// Well formed, but no such calendar date or time of day (say `2025-02-30`).
    #[error("is not a real calendar date and time")]
    NotACalendarInstant,
    /// Not a whole, non-negative number of Unix seconds in years 1970-9999.
    #[error("must be Unix seconds (digits only) between 1970 and 9999")]
    UnixSeconds,
}

/// An instant in UTC, parsed from RFC 3339 text ending in an upper-case `Z`.
///
/// The sender's text is kept verbatim (it is echoed back as received), while
/// ordering and comparisons use the instant: `10:00:00.5Z` sorts after
/// `10:00:00Z`, and `10:00:00Z` equals `10:00:00.000Z` as an instant.
/// Fractional seconds may have 1 to 9 digits; leap seconds (`:60`) are not
/// representable and are rejected.
#[derive(Clone)]
pub struct Timestamp {
    raw: String,
    instant: PrimitiveDateTime,
}

impl Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`.
    ///
    /// # Errors
    /// [`TimestampError`] says which rule the text breaks.
    pub fn parse(raw: &str) -> Result<Self, TimestampError> {
        let instant = parse_instant(raw)?;
        Ok(Self {
            raw: raw.to_owned(),
            instant,
        })
    }

    /// From Unix seconds written as digits (WhatsApp's `timestamp`), as
    /// RFC 3339 UTC with `Z` and no fraction: `1504902988` becomes
    /// `2017-09-08T20:36:28Z`.
    ///
    /// # Errors
    /// [`TimestampError::UnixSeconds`] for anything but 1 to 12 ASCII
    /// digits naming an instant before the year 10000.
    pub fn from_unix_seconds(seconds: &str) -> Result<Self, TimestampError> {
        if seconds.is_empty() || seconds.len() > 12 || !seconds.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(TimestampError::UnixSeconds);
        }
        let n: i64 = seconds.parse().map_err(|_| TimestampError::UnixSeconds)?;
        let t = time::OffsetDateTime::from_unix_timestamp(n)
            .map_err(|_| TimestampError::UnixSeconds)?;
        if t.year() > 9999 {
            return Err(TimestampError::UnixSeconds);
        }
        let text = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        Self::parse(&text)
    }

    /// The text exactly as received.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The instant, in UTC, at nanosecond precision.
    #[must_use]
    pub fn instant(&self) -> PrimitiveDateTime {
        self.instant
    }

    /// A fixed-width, digits-only key (`YYYYMMDDHHMMSSnnnnnnnnn`) whose byte
    /// order is the chronological order, for stores that sort text.
    #[must_use]
    pub fn sort_key(&self) -> String {
        let i = self.instant;
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}{:09}",
            i.year(),
            u8::from(i.month()),
            i.day(),
            i.hour(),
            i.minute(),
            i.second(),
            i.nanosecond()
        )
    }

    /// The UTC day's key (`YYYYMMDD`) of this instant: its sort key's
    /// first eight digits.
    #[must_use]
    pub fn day_key(&self) -> String {
        let mut key = self.sort_key();
        key.truncate(8);
        key
    }

    /// Compares instants, ignoring how they were written.
    #[must_use]
    pub fn cmp_instant(&self, other: &Self) -> Ordering {
        self.instant.cmp(&other.instant)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Timestamp").field(&self.raw).finish()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Two timestamps are equal when they were written the same way; use
/// [`Timestamp::cmp_instant`] to compare instants.
impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Eq for Timestamp {}

fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        bytes
            .iter()
            .fold(0_u32, |acc, b| acc * 10 + u32::from(b - b'0')),
    )
}

fn parse_instant(raw: &str) -> Result<PrimitiveDateTime, TimestampError> {
    let b = raw.as_bytes();
    // The fixed part: "YYYY-MM-DDTHH:MM:SS" is 19 bytes.
    if b.len() < 20 {
        return Err(TimestampError::Format);
    }
    let fixed_ok = b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[16] == b':';
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        digits(&b[0..4]),
        digits(&b[5..7]),
        digits(&b[8..10]),
        digits(&b[11..13]),
        digits(&b[14..16]),
        digits(&b[17..19]),
    ) else {
        return Err(TimestampError::Format);
    };
    if !fixed_ok {
        return Err(TimestampError::Format);
    }

    let mut rest = &b[19..];
    let mut nanos = 0_u32;
    if let Some(after_dot) = rest.strip_prefix(b".") {
        let len = after_dot.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 || len > 9 {
            return Err(TimestampError::Format);
        }
        let frac = digits(&after_dot[..len]).ok_or(TimestampError::Format)?;
        nanos = frac * 10_u32.pow(9 - u32::try_from(len).map_err(|_| TimestampError::Format)?);
        rest = &after_dot[len..];
    }
    match rest {
        b"Z" => {}
        b"z" => return Err(TimestampError::NotUtc),
        [b'+' | b'-', ..] => return Err(TimestampError::NotUtc),
        _ => return Err(TimestampError::Format),
    }

    let month = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or(TimestampError::NotACalendarInstant)?;
    let year = i32::try_from(year).map_err(|_| TimestampError::Format)?;
    let as_u8 = |v: u32| u8::try_from(v).map_err(|_| TimestampError::NotACalendarInstant);
    let date = Date::from_calendar_date(year, month, as_u8(day)?)
        .map_err(|_| TimestampError::NotACalendarInstant)?;
    let time = Time::from_hms_nano(as_u8(hour)?, as_u8(minute)?, as_u8(second)?, nanos)
        .map_err(|_| TimestampError::NotACalendarInstant)?;
    Ok(PrimitiveDateTime::new(date, time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds() {
        let ok = |s: &str| Timestamp::from_unix_seconds(s).map(|t| t.as_str().to_owned());
        assert_eq!(ok("1504902988"), Ok("2017-09-08T20:36:28Z".to_owned()));
        assert_eq!(ok("0"), Ok("1970-01-01T00:00:00Z".to_owned()));
        assert_eq!(ok("253402300799"), Ok("9999-12-31T23:59:59Z".to_owned()));
        for bad in [
            "",
            "-1",
            "1.5",
            "12a",
            " 1",
            "253402300800",
            "9999999999999",
        ] {
            assert_eq!(
                Timestamp::from_unix_seconds(bad),
                Err(TimestampError::UnixSeconds),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn parses_or_rejects() {
        use TimestampError::*;
        let cases: &[(&str, Result<&str, TimestampError>)] = &[
            ("2025-01-15T10:00:00Z", Ok("20250115100000000000000")),
            ("2025-01-15T10:00:00.5Z", Ok("20250115100000500000000")),
            (
                "2025-01-15T10:00:00.123456789Z",
                Ok("20250115100000123456789"),
            ),
            ("2024-02-29T23:59:59Z", Ok("20240229235959000000000")),
            ("0001-01-01T00:00:00Z", Ok("00010101000000000000000")),
            (
                "9999-12-31T23:59:59.999999999Z",
                Ok("99991231235959999999999"),
            ),
            ("2025-01-15T10:00:00.1234567891Z", Err(Format)),
            ("2025-01-15T10:00:00.Z", Err(Format)),
            ("2025-01-15T10:00:00", Err(Format)),
            ("2025-01-15 10:00:00Z", Err(Format)),
            ("2025-01-15t10:00:00Z", Err(Format)),
            ("2025-1-15T10:00:00Z", Err(Format)),
            ("20250115T100000Z", Err(Format)),
            ("", Err(Format)),
            ("2025-01-15T10:00:00ZZ", Err(Format)),
            ("+2025-01-15T10:00:00Z", Err(Format)),
            ("2025-01-15T10:00:00+05:30", Err(NotUtc)),
            ("2025-01-15T10:00:00+00:00", Err(NotUtc)),
            ("2025-01-15T10:00:00-01:00", Err(NotUtc)),
            ("2025-01-15T10:00:00z", Err(NotUtc)),
            ("2025-02-30T10:00:00Z", Err(NotACalendarInstant)),
            ("2023-02-29T10:00:00Z", Err(NotACalendarInstant)),
            ("2025-13-01T10:00:00Z", Err(NotACalendarInstant)),
            ("2025-00-01T10:00:00Z", Err(NotACalendarInstant)),
            ("2025-01-00T10:00:00Z", Err(NotACalendarInstant)),
            ("2025-01-15T24:00:00Z", Err(NotACalendarInstant)),
            ("2025-01-15T10:60:00Z", Err(NotACalendarInstant)),
            ("2025-01-15T10:00:60Z", Err(NotACalendarInstant)),
            ("２０２５-01-15T10:00:00Z", Err(Format)),
        ];
        for (input, expected) in cases {
            let got = Timestamp::parse(input).map(|t| t.sort_key());
            assert_eq!(
                got.as_deref().map_err(|e| *e),
                expected.as_ref().map(|s| *s).map_err(|e| *e),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn keeps_text_and_orders_by_instant() {
        let a = Timestamp::parse("2025-01-15T10:00:00Z").expect("valid");
        let b = Timestamp::parse("2025-01-15T10:00:00.000Z").expect("valid");
        let c = Timestamp::parse("2025-01-15T10:00:00.5Z").expect("valid");
        assert_eq!(b.as_str(), "2025-01-15T10:00:00.000Z");
        assert_ne!(a, b);
        assert_eq!(a.cmp_instant(&b), Ordering::Equal);
        assert_eq!(a.cmp_instant(&c), Ordering::Less);
        assert!(a.sort_key() < c.sort_key());
    }
}
