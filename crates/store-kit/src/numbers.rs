//! Feed numbers both stores hand out: each new one is at least the clock
//! in microseconds since the epoch, `max(last + 1, now_µs)`. A store
//! restored from an older backup, or filled by an import into a fresh
//! database, still numbers above every position a consumer was given
//! before, as long as the clock moves forward: a consumer's `after` is
//! never handed out again, so it cannot skip a new message.

/// The clock in microseconds since the epoch.
#[must_use]
pub fn now_micros() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

/// What to count on from when the largest number given so far is `last`:
/// the next number is the result plus one, so it is both above `last`
/// and at least the clock.
#[must_use]
pub fn base(last: i64) -> i64 {
    last.max(now_micros() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_clock_and_never_go_back() {
        let now = now_micros();
        assert!(base(0) + 1 >= now, "a fresh store starts at the clock");
        let ahead = now + 10_000_000;
        assert_eq!(base(ahead), ahead, "a store ahead of the clock counts on");
    }
}
