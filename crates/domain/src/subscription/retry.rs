//! What a consumer's answer means ([`Verdict`]) and when to try again
//! ([`RetryPolicy`]): exponential backoff with jitter, the first retry
//! after about a second, doubling up to a ceiling, for a bounded number of
//! attempts.

use std::time::Duration;

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// A 2xx: the position moves on.
    Delivered,
    /// `410 Gone`: the consumer asks to stop; the subscription pauses.
    Gone,
    /// Anything else: retried, after `after` when the consumer said
    /// (`429` with `Retry-After`), else after the backoff.
    Failed {
        /// What went wrong, for the subscription's `last_error`.
        error: String,
        /// The wait the consumer asked for.
        after: Option<Duration>,
    },
}

impl Verdict {
    /// The verdict on an HTTP status (`retry_after`: the header's value).
    #[must_use]
    pub fn from_status(status: u16, retry_after: Option<&str>, now: time::OffsetDateTime) -> Self {
        match status {
            200..=299 => Self::Delivered,
            410 => Self::Gone,
            300..=399 => Self::Failed {
                error: format!("HTTP {status} (redirects are not followed)"),
                after: None,
            },
            429 => Self::Failed {
                error: "HTTP 429".into(),
                after: retry_after.and_then(|v| parse_retry_after(v, now)),
            },
            _ => Self::Failed {
                error: format!("HTTP {status}"),
                after: None,
            },
        }
    }
}

/// The longest `Retry-After` honoured: a consumer cannot park a
/// subscription for longer than this per attempt.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// A `Retry-After` value: delay-seconds, or an HTTP date (RFC 9110),
/// capped at an hour. `None` when it is neither.
#[must_use]
pub fn parse_retry_after(value: &str, now: time::OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER));
    }
    let at =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = (at - now).max(time::Duration::ZERO);
    Some(Duration::try_from(wait).ok()?.min(MAX_RETRY_AFTER))
}

/// How often and how patiently a message is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    first: Duration,
    ceiling: Duration,
}

impl RetryPolicy {
    /// The first retry's nominal wait.
    pub const FIRST: Duration = Duration::from_secs(1);
    /// The longest nominal wait between attempts.
    pub const CEILING: Duration = Duration::from_secs(300);

    /// At most `max_attempts` attempts in all (at least 1).
    #[must_use]
    pub fn new(max_attempts: u32) -> Option<Self> {
        (max_attempts >= 1).then_some(Self {
            max_attempts,
            first: Self::FIRST,
            ceiling: Self::CEILING,
        })
    }

    /// Attempts in all, the first included.
    #[must_use]
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// After `attempts` failed attempts, how long to wait before the next,
    /// or `None` when that was the last. `jitter` in `[0, 1)` spreads the
    /// wait over ±20 % of the nominal one; a consumer's `Retry-After`
    /// (`asked`) replaces it.
    #[must_use]
    pub fn wait(&self, attempts: u32, jitter: f64, asked: Option<Duration>) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let doublings = attempts.saturating_sub(1).min(30);
        let nominal = self.first.saturating_mul(1 << doublings).min(self.ceiling);
        let spread = nominal.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0));
        Some(asked.unwrap_or(spread))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_become_verdicts() {
        let now = time::OffsetDateTime::UNIX_EPOCH;
        assert_eq!(Verdict::from_status(204, None, now), Verdict::Delivered);
        assert_eq!(Verdict::from_status(410, None, now), Verdict::Gone);
        assert_eq!(
            Verdict::from_status(429, Some("7"), now),
            Verdict::Failed {
                error: "HTTP 429".into(),
                after: Some(Duration::from_secs(7))
            }
        );
        assert!(matches!(
            Verdict::from_status(302, None, now),
            Verdict::Failed { after: None, .. }
        ));
        assert!(matches!(
            Verdict::from_status(500, Some("5"), now),
            Verdict::Failed { after: None, .. }
        ));
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let now = time::macros::datetime!(2026-12-01 00:00:00 UTC);
        assert_eq!(parse_retry_after(" 3 ", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Tue, 01 Dec 2026 00:00:30 +0000", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("99999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_doubles_from_a_second_up_to_the_ceiling() {
        let p = RetryPolicy::new(30).expect("policy");
        assert_eq!(p.wait(1, 0.5, None), Some(Duration::from_secs(1)));
        assert_eq!(p.wait(2, 0.5, None), Some(Duration::from_secs(2)));
        assert_eq!(p.wait(3, 0.5, None), Some(Duration::from_secs(4)));
        assert_eq!(p.wait(20, 0.5, None), Some(RetryPolicy::CEILING));
        let low = p.wait(1, 0.0, None).expect("wait");
        let high = p.wait(1, 0.999, None).expect("wait");
        assert!(low >= Duration::from_millis(800) && high < Duration::from_millis(1200));
        assert_eq!(
            p.wait(1, 0.5, Some(Duration::from_secs(9))),
            Some(Duration::from_secs(9))
        );
        assert_eq!(RetryPolicy::new(3).expect("p").wait(3, 0.5, None), None);
        assert_eq!(RetryPolicy::new(0), None);
    }
}
