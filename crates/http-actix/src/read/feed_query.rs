//! Reading the query strings of `/messages/feed`, `/messages/stream` and
//! `/stats/daily`. Unknown parameters are ignored, an empty filter is no
//! filter, and each bad value is one 422 detail, as for `/messages`.

use domain::{DayRange, FeedError, FeedLimit, FeedQuery, Seq};

use super::messages_query::{instant, integer, restore_plus, search};
use crate::problem::ErrorDetail;

/// Parses `after`, `limit`, `from` and `q`.
///
/// # Errors
/// One 422 detail per parameter that is out of range or unparsable.
pub(crate) fn parse(query_string: &str) -> Result<FeedQuery, Vec<ErrorDetail>> {
    let mut query = FeedQuery::default();
    let mut errors = Vec::new();
    for (key, value) in form_urlencoded::parse(query_string.as_bytes()) {
        match &*key {
            "after" | "limit" => page(
                &key,
                &value,
                &mut query.after,
                &mut query.limit,
                &mut errors,
            ),
            "from" => query.from = Some(restore_plus(value.into_owned())).filter(|f| !f.is_empty()),
            "q" => match search(&value) {
                Ok(q) => query.q = q,
                Err(e) => errors.push(e),
            },
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(query)
    } else {
        Err(errors)
    }
}

/// Parses `GET /messages/export`'s `after`, `from`, `since` and `until`.
///
/// # Errors
/// One 422 detail per parameter that is out of range or unparsable.
pub(crate) fn export(query_string: &str) -> Result<FeedQuery, Vec<ErrorDetail>> {
    let mut query = FeedQuery::default();
    let mut errors = Vec::new();
    for (key, value) in form_urlencoded::parse(query_string.as_bytes()) {
        let slot = match &*key {
            "after" => {
                match Seq::parse(&value) {
                    Ok(seq) => query.after = seq,
                    Err(e) => errors.push(feed_error("after", e)),
                }
                continue;
            }
            "from" => {
                query.from = Some(restore_plus(value.into_owned())).filter(|f| !f.is_empty());
                continue;
            }
            "since" => &mut query.since,
            "until" => &mut query.until,
            _ => continue,
        };
        if !value.is_empty() {
            match instant(&key, &value) {
                Ok(ts) => *slot = Some(ts),
                Err(e) => errors.push(e),
            }
        }
    }
    if errors.is_empty() {
        Ok(query)
    } else {
        Err(errors)
    }
}

/// Parses `GET /conversations`' `limit` (1 to 100, as `/messages`) and
/// `cursor`.
///
/// # Errors
/// One 422 detail per parameter that is out of range or unparsable.
pub(crate) fn conversations(
    query_string: &str,
) -> Result<domain::ConversationQuery, Vec<ErrorDetail>> {
    let mut query = domain::ConversationQuery::default();
    let mut errors = Vec::new();
    for (key, value) in form_urlencoded::parse(query_string.as_bytes()) {
        match &*key {
            "limit" => match integer("limit", &value).and_then(|n| {
                domain::Limit::new(n)
                    .map_err(|e| ErrorDetail::new(&["query", "limit"], e.to_string(), e.code()))
            }) {
                Ok(limit) => query.limit = limit,
                Err(e) => errors.push(e),
            },
            "cursor" if !value.is_empty() => match domain::ConversationCursor::from_token(&value) {
                Ok(c) => query.after = Some(c),
                Err(e) => {
                    errors.push(ErrorDetail::new(
                        &["query", "cursor"],
                        e.to_string(),
                        e.code(),
                    ));
                }
            },
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(query)
    } else {
        Err(errors)
    }
}

/// A position parameter both feeds take: `after` (a `Seq`) or `limit`
/// (1 to 1000); a bad value becomes one 422 detail.
fn page(
    key: &str,
    value: &str,
    after: &mut Seq,
    limit: &mut FeedLimit,
    errors: &mut Vec<ErrorDetail>,
) {
    if key == "after" {
        match Seq::parse(value) {
            Ok(seq) => *after = seq,
            Err(e) => errors.push(feed_error("after", e)),
        }
    } else {
        match integer("limit", value)
            .and_then(|n| FeedLimit::new(n).map_err(|e| feed_error("limit", e)))
        {
            Ok(l) => *limit = l,
            Err(e) => errors.push(e),
        }
    }
}

/// Parses `GET /whatsapp/events`' `after`, `limit` and `field`.
///
/// # Errors
/// One 422 detail per parameter that is out of range or unparsable.
pub(crate) fn events(query_string: &str) -> Result<domain::EventQuery, Vec<ErrorDetail>> {
    let mut query = domain::EventQuery::default();
    let mut errors = Vec::new();
    for (key, value) in form_urlencoded::parse(query_string.as_bytes()) {
        match &*key {
            "after" | "limit" => page(
                &key,
                &value,
                &mut query.after,
                &mut query.limit,
                &mut errors,
            ),
            "field" => query.field = Some(value.into_owned()).filter(|f| !f.is_empty()),
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(query)
    } else {
        Err(errors)
    }
}

/// The stream's `follow`: `true` (the default) stays open for new
/// messages; `false` ends the stream once what is stored was sent.
///
/// # Errors
/// A 422 detail for anything but `true`, `false`, `1` or `0`.
pub(crate) fn follow(query_string: &str) -> Result<bool, Vec<ErrorDetail>> {
    let mut follow = true;
    for (key, value) in form_urlencoded::parse(query_string.as_bytes()) {
        if key == "follow" {
            follow = match &*value {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(vec![ErrorDetail::new(
                        &["query", "follow"],
                        "Input should be a valid boolean (true or false)",
                        "bool_parsing",
                    )]);
                }
            };
        }
    }
    Ok(follow)
}

/// `Last-Event-ID`, which an `EventSource` sends when it reconnects.
///
/// # Errors
/// A 422 detail when it is not a sequence number.
pub(crate) fn last_event_id(value: &[u8]) -> Result<Seq, Vec<ErrorDetail>> {
    std::str::from_utf8(value)
        .map_err(|_| FeedError::BadSeq)
        .and_then(Seq::parse)
        .map_err(|e| {
            vec![ErrorDetail::new(
                &["header", "last-event-id"],
                e.to_string(),
                e.code(),
            )]
        })
}

fn feed_error(name: &str, e: FeedError) -> ErrorDetail {
    ErrorDetail::new(&["query", name], e.to_string(), e.code())
}

/// `/stats/daily`'s range: `days` days ending with `until` (default: today
/// in UTC).
///
/// # Errors
/// One 422 detail per parameter that is out of range or unparsable.
pub(crate) fn days(query_string: &str, today: time::Date) -> Result<DayRange, Vec<ErrorDetail>> {
    let mut count = None;
    let mut until = today;
    let mut errors = Vec::new();
    for (key, value) in form_urlencoded::parse(query_string.as_bytes()) {
        match &*key {
            "days" => match integer("days", &value) {
                Ok(n) => count = Some(n),
                Err(e) => errors.push(e),
            },
            "until" => match parse_date(&value) {
                Some(day) => until = day,
                None => errors.push(ErrorDetail::new(
                    &["query", "until"],
                    "Input should be a date as YYYY-MM-DD",
                    "date_parsing",
                )),
            },
            _ => {}
        }
    }
    match DayRange::ending(until, count) {
        Ok(range) if errors.is_empty() => Ok(range),
        Ok(_) => Err(errors),
        Err(e) => {
            let detail = ErrorDetail::new(&["query", "days"], e.to_string(), "days_out_of_range");
            // In the order the parameters are checked: days before until.
            errors.insert(0, detail);
            Err(errors)
        }
    }
}

fn parse_date(text: &str) -> Option<time::Date> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = text.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let month = time::Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    time::Date::from_calendar_date(
        i32::try_from(num(0..4)?).ok()?,
        month,
        u8::try_from(num(8..10)?).ok()?,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_parameters() {
        let q = parse("after=5&limit=1000&from=+15550001&q=Hi&x=1").expect("valid");
        assert_eq!(q.after.get(), 5);
        assert_eq!(q.limit.get(), 1000);
        assert_eq!(q.from.as_deref(), Some("+15550001"));
        assert_eq!(q.q.as_ref().map(domain::SearchText::folded), Some("hi"));
        let errors = parse("after=-1&limit=1001").expect_err("invalid");
        assert_eq!(errors.len(), 2);
        assert!(parse("after=abc").is_err());
        assert!(parse("limit=0").is_err());
        assert!(parse("q=%00").is_err());
        assert_eq!(parse("from=&q=").expect("valid"), FeedQuery::default());
    }

    #[test]
    fn day_ranges() {
        let today = time::macros::date!(2026 - 11 - 26);
        assert_eq!(
            days("", today).map(|r| (r.first(), r.last())),
            Ok((time::macros::date!(2026 - 10 - 28), today))
        );
        assert_eq!(
            days("days=1&until=2025-01-15", today).map(|r| (r.first(), r.last())),
            Ok((
                time::macros::date!(2025 - 01 - 15),
                time::macros::date!(2025 - 01 - 15)
            ))
        );
        for bad in [
            "days=0",
            "days=367",
            "days=x",
            "until=2025-02-30",
            "until=15/01/2025",
        ] {
            assert!(days(bad, today).is_err(), "{bad}");
        }
    }
}
