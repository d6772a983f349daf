//! The feed: every stored message once, in the order hookbox stored them
//! ([`FeedQuery`], [`FeedPage`]), and per-day counts ([`DayCount`]).
//!
//! `GET /messages` orders by the sender's `ts`, so a message that arrives
//! late with an old `ts` lands behind a reader's cursor. The feed orders by
//! [`Seq`], a number each store gives a message when it commits it: a reader
//! that follows [`FeedPage::next`] sees every message exactly once.

use crate::message::Message;
use crate::query::SearchText;
use crate::timestamp::Timestamp;

/// The feed's page size when none is asked for.
pub const DEFAULT_FEED_LIMIT: u32 = 100;
/// The feed's largest page size.
pub const MAX_FEED_LIMIT: u32 = 1000;

/// Why a feed parameter was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FeedError {
    /// `limit` is outside `1..=1000`.
    #[error("Input should be between 1 and {MAX_FEED_LIMIT}")]
    LimitOutOfRange,
    /// `after` (or `Last-Event-ID`) is not a sequence number.
    #[error("Input should be a whole number between 0 and {}", Seq::MAX)]
    BadSeq,
}

impl FeedError {
    /// A stable, machine-readable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::LimitOutOfRange => "limit_out_of_range",
            Self::BadSeq => "int_parsing",
        }
    }
}

/// A message's position in the order of storage. Numbers only grow: a
/// message committed later has a larger one, and a reader never sees a
/// number before every smaller one is visible. They need not be dense
/// (a store may skip numbers). `Seq::START` (0) is before every message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Seq(u64);

impl Seq {
    /// Before every message.
    pub const START: Self = Self(0);
    /// The largest number (stores keep it in a signed 64-bit column).
    pub const MAX: u64 = i64::MAX as u64;

    /// # Errors
    /// [`FeedError::BadSeq`] when negative or above [`Seq::MAX`].
    pub fn new(seq: i64) -> Result<Self, FeedError> {
        u64::try_from(seq).map(Self).map_err(|_| FeedError::BadSeq)
    }

    /// Parses a decimal number, as `after=` and `Last-Event-ID` carry it.
    ///
    /// # Errors
    /// [`FeedError::BadSeq`] for anything but `0..=Seq::MAX` in digits.
    pub fn parse(text: &str) -> Result<Self, FeedError> {
        let text = text.trim();
        if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FeedError::BadSeq);
        }
        text.parse::<i64>()
            .map_err(|_| FeedError::BadSeq)
            .and_then(Self::new)
    }

    /// The number.
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }

    /// The number as stores keep it.
    #[must_use]
    pub fn as_i64(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }

    /// The clock in microseconds since the epoch: every number a store
    /// gives from now on is at least this (see
    /// [`MessageStore::feed`](crate::MessageStore::feed)).
    #[must_use]
    pub fn at_least_now() -> Self {
        let micros = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000;
        Self(u64::try_from(micros).unwrap_or(0))
    }
}

impl std::fmt::Display for Seq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// How many messages one feed page holds: `1..=1000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedLimit(u32);

impl FeedLimit {
    /// The largest page.
    pub const MAX: Self = Self(MAX_FEED_LIMIT);

    /// # Errors
    /// [`FeedError::LimitOutOfRange`] outside `1..=1000`.
    pub fn new(limit: i64) -> Result<Self, FeedError> {
        u32::try_from(limit)
            .ok()
            .filter(|l| (1..=MAX_FEED_LIMIT).contains(l))
            .map(Self)
            .ok_or(FeedError::LimitOutOfRange)
    }

    /// The limit as a number.
    #[must_use]
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for FeedLimit {
    fn default() -> Self {
        Self(DEFAULT_FEED_LIMIT)
    }
}

/// A request for the next messages of the feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedQuery {
    /// Only messages stored after this position.
    pub after: Seq,
    /// Only messages from exactly this sender.
    pub from: Option<String>,
    /// Only messages whose text contains this, ignoring case.
    pub q: Option<SearchText>,
    /// Only messages whose instant is at or after this one (an export's
    /// filter: the feed's position still orders and places the page).
    pub since: Option<Timestamp>,
    /// Only messages whose instant is before this one (exclusive).
    pub until: Option<Timestamp>,
    /// Page size.
    pub limit: FeedLimit,
}

impl FeedQuery {
    /// Whether `message` passes the filters, `from`, `q`, `since` and
    /// `until`; `after` and `limit` place the page and filter nothing.
    /// Every store's feed keeps exactly these messages, and a live stream
    /// filters new ones with it.
    #[must_use]
    pub fn admits(&self, message: &Message) -> bool {
        self.from
            .as_deref()
            .is_none_or(|f| message.from().as_str() == f)
            && self.q.as_ref().is_none_or(|q| q.is_in(message.text()))
            && self
                .since
                .as_ref()
                .is_none_or(|s| message.ts().sort_key() >= s.sort_key())
            && self
                .until
                .as_ref()
                .is_none_or(|u| message.ts().sort_key() < u.sort_key())
    }
}

/// A stored message with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedItem {
    /// Where it is in the order of storage.
    pub seq: Seq,
    /// The message, with its envelope.
    pub message: Message,
    /// When hookbox stored it.
    pub received_at: time::OffsetDateTime,
}

/// One page of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedPage {
    /// Matching messages after the query's position, by ascending `seq`.
    pub items: Vec<FeedItem>,
    /// What to pass as `after` for the next page: the last item's `seq`,
    /// or the query's `after` when the page is empty.
    pub next: Seq,
}

/// Messages whose `ts` falls on one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    /// The day.
    pub day: time::Date,
    /// Stored messages with a `ts` on that day.
    pub count: u64,
}

/// The most days one daily report covers.
pub const MAX_DAYS: u16 = 366;
/// The days a daily report covers when not asked.
pub const DEFAULT_DAYS: u16 = 30;

/// The days of a daily report: `days` days (1 to [`MAX_DAYS`]) ending on
/// `last`, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    first: time::Date,
    last: time::Date,
}

/// Why a [`DayRange`] cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DayRangeError {
    /// `days` is not between 1 and [`MAX_DAYS`].
    #[error("Input should be between 1 and {MAX_DAYS}")]
    DaysOutOfRange,
}

impl DayRange {
    /// `days` days ending on `last` ([`DEFAULT_DAYS`] when `None`). A range
    /// reaching before the calendar's first day starts there.
    ///
    /// # Errors
    /// [`DayRangeError::DaysOutOfRange`] unless `1 <= days <= MAX_DAYS`.
    pub fn ending(last: time::Date, days: Option<i64>) -> Result<Self, DayRangeError> {
        let days = days.unwrap_or(i64::from(DEFAULT_DAYS));
        if !(1..=i64::from(MAX_DAYS)).contains(&days) {
            return Err(DayRangeError::DaysOutOfRange);
        }
        let first = last
            .checked_sub(time::Duration::days(days - 1))
            .unwrap_or(time::Date::MIN);
        Ok(Self { first, last })
    }

    /// The first day, inclusive.
    #[must_use]
    pub fn first(&self) -> time::Date {
        self.first
    }

    /// The last day, inclusive.
    #[must_use]
    pub fn last(&self) -> time::Date {
        self.last
    }
}

/// Every day from `first` to `last` (inclusive) with its count from
/// `counts` (the days a store reported), zero where it reported none.
#[must_use]
pub fn every_day(first: time::Date, last: time::Date, counts: &[DayCount]) -> Vec<DayCount> {
    let mut out = Vec::new();
    let mut day = Some(first);
    while let Some(d) = day.filter(|d| *d <= last) {
        let count = counts.iter().filter(|c| c.day == d).map(|c| c.count).sum();
        out.push(DayCount { day: d, count });
        day = d.next_day();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_ranges_cover_one_to_366_days() {
        let day =
            |d: u8| time::Date::from_calendar_date(2025, time::Month::March, d).expect("date");
        let r = DayRange::ending(day(10), Some(3)).expect("valid");
        assert_eq!((r.first(), r.last()), (day(8), day(10)));
        let default = DayRange::ending(day(31), None).expect("valid");
        assert_eq!(default.first(), day(2));
        for bad in [0, -1, 367] {
            assert_eq!(
                DayRange::ending(day(1), Some(bad)),
                Err(DayRangeError::DaysOutOfRange)
            );
        }
        assert!(DayRange::ending(day(1), Some(366)).is_ok());
        let early = DayRange::ending(time::Date::MIN, Some(5)).expect("valid");
        assert_eq!(early.first(), time::Date::MIN);
    }

    #[test]
    fn a_feed_query_admits_by_sender_and_folded_text_only() {
        let m = |from: &str, text: Option<&str>| {
            crate::testing::contract::message("m1", from, "2025-01-01T00:00:00Z", text)
        };
        let query = |from: Option<&str>, q: &str| FeedQuery {
            after: Seq::new(99).expect("seq"),
            from: from.map(str::to_owned),
            q: SearchText::new(q).ok(),
            limit: FeedLimit::default(),
            ..FeedQuery::default()
        };
        let hello = m("+111", Some("Hello WORLD 50%"));
        assert!(
            query(None, "").admits(&hello),
            "no filters; after is a position"
        );
        assert!(query(Some("+111"), "world").admits(&hello));
        assert!(query(None, "O W").admits(&hello));
        assert!(query(None, "50%").admits(&hello), "% is literal");
        assert!(!query(None, "5_%").admits(&hello), "_ is literal");
        assert!(!query(Some("+222"), "").admits(&hello));
        assert!(!query(Some("+111"), "planet").admits(&hello));
        assert!(
            !query(None, "a").admits(&m("+111", None)),
            "no text, no match"
        );
    }

    #[test]
    fn seq_parses_digits_only() {
        for (raw, ok) in [
            ("0", Some(0)),
            ("42", Some(42)),
            (" 7 ", Some(7)),
            ("9223372036854775807", Some(i64::MAX as u64)),
            ("9223372036854775808", None),
            ("-1", None),
            ("+1", None),
            ("1e3", None),
            ("", None),
            ("99999999999999999999", None),
        ] {
            assert_eq!(Seq::parse(raw).ok().map(Seq::get), ok, "{raw:?}");
        }
    }

    #[test]
    fn feed_limit_range() {
        for (l, ok) in [
            (0, false),
            (1, true),
            (1000, true),
            (1001, false),
            (-5, false),
        ] {
            assert_eq!(FeedLimit::new(l).is_ok(), ok, "{l}");
        }
        assert_eq!(FeedLimit::default().get(), DEFAULT_FEED_LIMIT);
    }

    #[test]
    fn every_day_fills_zeros() {
        let d = |n: u8| time::Date::from_calendar_date(2025, time::Month::January, n).expect("day");
        let filled = every_day(
            d(30 - 2),
            d(30),
            &[DayCount {
                day: d(29),
                count: 3,
            }],
        );
        let counts: Vec<u64> = filled.iter().map(|c| c.count).collect();
        assert_eq!(counts, vec![0, 3, 0]);
        assert!(every_day(d(3), d(2), &[]).is_empty());
    }
}
