//! Reading `GET /messages`'s query string into a [`MessageQuery`].

use domain::{Cursor, Limit, MessageQuery, Offset, Order, SearchText, Timestamp};

use crate::problem::ErrorDetail;

/// The parameters `GET /messages` takes; any other is a 422.
pub(crate) const KNOWN: &[&str] = &[
    "limit", "offset", "from", "to", "since", "until", "q", "cursor", "order",
];

/// The query's parameters as sent, after URL decoding.
#[derive(Debug, Default)]
struct RawParams {
    limit: Option<String>,
    offset: Option<String>,
    from: Option<String>,
    to: Option<String>,
    since: Option<String>,
    until: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    order: Option<String>,
}

/// A `q` parameter: empty means no filter; the rest is the domain's
/// [`SearchText`] rule (U+0000, which no stored text can hold, is refused
/// like a body's), as one 422 detail.
pub(super) fn search(value: &str) -> Result<Option<SearchText>, ErrorDetail> {
    if value.is_empty() {
        return Ok(None);
    }
    SearchText::new(value)
        .map(Some)
        .map_err(|problem| ErrorDetail::new(&["query", "q"], problem.to_string(), problem.code()))
}

/// Parses the query string. An unknown or repeated parameter is a 422
/// ([`crate::params::strict`]); an empty `from`, `to`, `since`, `until`,
/// `q`, `cursor` or `order` counts as absent (an empty `limit` or `offset`
/// is not an integer: 422).
///
/// # Errors
/// One 422 detail per parameter that is unknown, repeated, out of range
/// or unparsable.
pub fn parse(query_string: &str) -> Result<MessageQuery, Vec<ErrorDetail>> {
    crate::params::strict(query_string, "/messages", KNOWN)?;
    let mut raw = RawParams::default();
    for (key, value) in form_urlencoded::parse(query_string.as_bytes()) {
        let slot = match &*key {
            "limit" => &mut raw.limit,
            "offset" => &mut raw.offset,
            "from" => &mut raw.from,
            "to" => &mut raw.to,
            "since" => &mut raw.since,
            "until" => &mut raw.until,
            "q" => &mut raw.q,
            "cursor" => &mut raw.cursor,
            "order" => &mut raw.order,
            _ => continue,
        };
        *slot = Some(value.into_owned());
    }
    // An empty string filter means no filter; an empty number is an error.
    for text in [
        &mut raw.from,
        &mut raw.to,
        &mut raw.since,
        &mut raw.until,
        &mut raw.q,
        &mut raw.cursor,
        &mut raw.order,
    ] {
        if text.as_deref() == Some("") {
            *text = None;
        }
    }

    let mut errors = Vec::new();
    let mut query = MessageQuery::default();
    if let Some(v) = raw.limit {
        match integer("limit", &v).and_then(|n| Limit::new(n).map_err(|e| query_error("limit", &e)))
        {
            Ok(limit) => query.limit = limit,
            Err(e) => errors.push(e),
        }
    }
    if let Some(v) = raw.offset {
        match integer("offset", &v)
            .and_then(|n| Offset::new(n).map_err(|e| query_error("offset", &e)))
        {
            Ok(offset) => query.offset = offset,
            Err(e) => errors.push(e),
        }
    }
    query.from = raw.from.map(restore_plus);
    query.to = raw.to.map(restore_plus);
    for (name, value, slot) in [
        ("since", raw.since, &mut query.since),
        ("until", raw.until, &mut query.until),
    ] {
        if let Some(v) = value {
            match instant(name, &v) {
                Ok(ts) => *slot = Some(ts),
                Err(e) => errors.push(e),
            }
        }
    }
    if let Some(v) = raw.order {
        match Order::from_name(&v) {
            Some(order) => query.order = order,
            None => errors.push(
                ErrorDetail::new(
                    &["query", "order"],
                    "Input should be 'asc' or 'desc'",
                    "enum",
                )
                .with_input(v),
            ),
        }
    }
    match raw.q.as_deref().map(search).transpose() {
        Ok(q) => query.q = q.flatten(),
        Err(e) => errors.push(e),
    }
    if let Some(v) = raw.cursor {
        match Cursor::from_token(&v) {
            Ok(c) => query.after = Some(c),
            Err(e) => errors.push(query_error("cursor", &e)),
        }
    }
    if errors.is_empty() {
        Ok(query)
    } else {
        Err(errors)
    }
}

/// A `since` or `until`: the body's `ts` rule, its problem, wording and
/// code.
pub(crate) fn instant(name: &str, value: &str) -> Result<Timestamp, ErrorDetail> {
    Timestamp::parse(value).map_err(|e| {
        let problem = domain::Problem::Timestamp(e);
        ErrorDetail::new(&["query", name], problem.to_string(), problem.code())
    })
}

pub(crate) fn integer(name: &str, value: &str) -> Result<i64, ErrorDetail> {
    value.parse::<i64>().map_err(|_| {
        ErrorDetail::new(
            &["query", name],
            "Input should be a valid integer, unable to parse string as an integer",
            "int_parsing",
        )
    })
}

fn query_error(name: &str, e: &domain::QueryError) -> ErrorDetail {
    ErrorDetail::new(&["query", name], e.to_string(), e.code())
}

/// In a query string an unencoded `+` decodes to a space, so
/// `from=+919876543210` arrives as `" 919876543210"`: a leading space
/// followed by digits is read back as `+digits`.
pub(crate) fn restore_plus(from: String) -> String {
    match from.strip_prefix(' ') {
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            format!("+{digits}")
        }
        _ => from,
    }
}

/// The query string for the page after this one: the same filters and
/// limit, the `cursor` instead of `offset`.
pub(crate) fn next_query(query_string: &str, cursor: &Cursor) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(query_string.as_bytes()) {
        if key != "cursor" && key != "offset" {
            let value = if key == "from" {
                restore_plus(value.into_owned())
            } else {
                value.into_owned()
            };
            out.append_pair(&key, &value);
        }
    }
    out.append_pair("cursor", &cursor.to_token());
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locs(qs: &str) -> Vec<String> {
        match parse(qs) {
            Ok(_) => vec![],
            Err(e) => e
                .into_iter()
                .map(|d| format!("{}:{}", d.loc.join("."), d.kind))
                .collect(),
        }
    }

    #[test]
    fn accepts_and_rejects() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("limit=1&offset=0", &[]),
            ("limit=100", &[]),
            ("from=&since=&q=&cursor=", &[]),
            (
                "limit=&offset=",
                &["query.limit:int_parsing", "query.offset:int_parsing"],
            ),
            ("unknown=1", &["query.unknown:unknown_parameter"]),
            ("form=%2B1", &["query.form:unknown_parameter"]),
            ("limit=1&limit=2", &["query.limit:repeated_parameter"]),
            ("order=desc&to=%2B1&until=2025-01-15T09:30:00Z", &[]),
            ("order=newest", &["query.order:enum"]),
            ("until=tomorrow", &["query.until:value_error"]),
            ("limit=0", &["query.limit:limit_out_of_range"]),
            ("limit=101", &["query.limit:limit_out_of_range"]),
            ("limit=-1", &["query.limit:limit_out_of_range"]),
            ("limit=abc", &["query.limit:int_parsing"]),
            ("limit=1.5", &["query.limit:int_parsing"]),
            ("limit=99999999999999999999", &["query.limit:int_parsing"]),
            ("offset=-1", &["query.offset:greater_than_equal"]),
            (
                "offset=x&limit=x",
                &["query.limit:int_parsing", "query.offset:int_parsing"],
            ),
            ("since=2025-01-15T09:30:00Z", &[]),
            ("since=yesterday", &["query.since:value_error"]),
            (
                "since=2025-01-15T09:30:00+05:30",
                &["query.since:value_error"],
            ),
            ("cursor=nope", &["query.cursor:value_error"]),
        ];
        for (qs, expected) in cases {
            assert_eq!(locs(qs), *expected, "{qs:?}");
        }
    }

    #[test]
    fn reads_values() {
        let q =
            parse("limit=2&offset=3&from=+919876543210&q=Hello%20World&since=2025-01-15T09:30:00Z")
                .expect("valid");
        assert_eq!((q.limit.get(), q.offset.get()), (2, 3));
        assert_eq!(q.from.as_deref(), Some("+919876543210"));
        assert_eq!(q.q.as_ref().map(SearchText::as_str), Some("Hello World"));
        assert_eq!(
            q.since.as_ref().map(Timestamp::as_str),
            Some("2025-01-15T09:30:00Z")
        );
        let defaults = parse("").expect("valid");
        assert_eq!((defaults.limit.get(), defaults.offset.get()), (50, 0));
    }

    #[test]
    fn from_plus_handling() {
        let cases = [
            ("from=+919876543210", Some("+919876543210")),
            ("from=%2B919876543210", Some("+919876543210")),
            ("from=%20919876543210", Some("+919876543210")),
            ("from=919876543210", Some("919876543210")),
            ("from=+abc", Some(" abc")),
            ("from=", None),
        ];
        for (qs, expected) in cases {
            assert_eq!(parse(qs).expect("valid").from.as_deref(), expected, "{qs}");
        }
    }

    #[test]
    fn next_query_keeps_filters_and_replaces_offset() {
        let c = Cursor::from_token("c1").err();
        assert!(c.is_some());
        let m = domain::Message::new(
            domain::MessageId::new("m1").expect("id"),
            domain::Msisdn::new("+1").expect("from"),
            domain::Msisdn::new("+2").expect("to"),
            Timestamp::parse("2025-01-15T10:00:00Z").expect("ts"),
            None,
        );
        let cursor = Cursor::after(&m);
        let next = next_query("from=+1&limit=2&offset=4&q=a+b&cursor=old", &cursor);
        assert_eq!(
            next,
            format!("from=%2B1&limit=2&q=a+b&cursor={}", cursor.to_token())
        );
    }
}
