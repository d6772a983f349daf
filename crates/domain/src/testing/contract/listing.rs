//! `list`: order, filters, limits, offsets and keyset walks.

use crate::query::{Cursor, Limit, MessageQuery, Offset, SearchText};
use crate::store::MessageStore;
use crate::timestamp::Timestamp;

use super::seeds::{ids_and_total, insert, message, seed};

/// Listing orders by the instant of `ts` (fractional seconds, different
/// spellings of one instant compare equal), then by `message_id`; `since`
/// compares instants, not strings.
pub fn orders_by_instant_then_id(store: &dyn MessageStore) {
    let rows = [
        ("b", "2025-01-15T10:00:00Z"),
        ("a", "2025-01-15T10:00:00.000Z"),
        ("c", "2025-01-15T10:00:00.5Z"),
        ("d", "2025-01-15T10:00:00.05Z"),
        ("e", "2025-01-15T09:59:59.999999999Z"),
        ("f", "2024-12-31T23:59:59Z"),
        ("g", "0999-01-01T00:00:00Z"),
        ("h", "2025-01-15T10:00:00.000000001Z"),
    ];
    for (id, ts) in rows {
        insert(store, message(id, "+911", ts, None));
    }
    let (order, total) = ids_and_total(store, &MessageQuery::default());
    assert_eq!(order, ["g", "f", "e", "a", "b", "h", "d", "c"], "order");
    assert_eq!(total, 8);
    let since = MessageQuery {
        since: Some(Timestamp::parse("2025-01-15T10:00:00.000000000Z").expect("ts")),
        ..MessageQuery::default()
    };
    assert_eq!(
        ids_and_total(store, &since),
        (["a", "b", "h", "d", "c"].map(str::to_owned).to_vec(), 5),
        "since compares instants"
    );
}

/// Every filter alone and combined, with the exact `total`; `q` is a
/// case-insensitive (Unicode lower-case) substring with `%` and `_` literal.
#[expect(
    clippy::too_many_lines,
    reason = "a table of cases, one per filter and combination; split, the table would hide which combinations are covered"
)]
pub fn filters_alone_and_combined(store: &dyn MessageStore) {
    seed(store);
    let since = |s: &str| Some(Timestamp::parse(s).expect("ts"));
    let q = |needle: &str| SearchText::new(needle).ok();
    let from = |s: &str| Some(s.to_owned());
    let base = MessageQuery::default;
    let cases: Vec<(&str, MessageQuery, &[&str])> = vec![
        (
            "none",
            base(),
            &["m4", "m2", "m1", "m8", "m3", "m5", "m6", "m7"],
        ),
        (
            "from",
            MessageQuery {
                from: from("+911"),
                ..base()
            },
            &["m2", "m1", "m8", "m6"],
        ),
        (
            "from unknown",
            MessageQuery {
                from: from("+999"),
                ..base()
            },
            &[],
        ),
        (
            "from is exact",
            MessageQuery {
                from: from("+91"),
                ..base()
            },
            &[],
        ),
        (
            "since",
            MessageQuery {
                since: since("2025-01-15T09:30:00Z"),
                ..base()
            },
            &["m1", "m8", "m3", "m5", "m6", "m7"],
        ),
        (
            "since past the end",
            MessageQuery {
                since: since("2030-01-01T00:00:00Z"),
                ..base()
            },
            &[],
        ),
        (
            "q ascii case",
            MessageQuery {
                q: q("hello"),
                ..base()
            },
            &["m1", "m8", "m3"],
        ),
        (
            "q upper needle",
            MessageQuery {
                q: q("HeLLo W"),
                ..base()
            },
            &["m1"],
        ),
        (
            "q unicode case",
            MessageQuery {
                q: q("école"),
                ..base()
            },
            &["m7"],
        ),
        (
            "q unicode upper needle",
            MessageQuery {
                q: q("ÉLÈVE"),
                ..base()
            },
            &["m7"],
        ),
        (
            "q percent literal",
            MessageQuery {
                q: q("100%"),
                ..base()
            },
            &["m5"],
        ),
        (
            "q underscore literal",
            MessageQuery {
                q: q("e_t"),
                ..base()
            },
            &["m5"],
        ),
        (
            "q lone underscore",
            MessageQuery {
                q: q("_"),
                ..base()
            },
            &["m5"],
        ),
        (
            "q short needle",
            MessageQuery {
                q: q("h"),
                ..base()
            },
            &["m1", "m8", "m3", "m5", "m6"],
        ),
        (
            "q no match",
            MessageQuery {
                q: q("absent"),
                ..base()
            },
            &[],
        ),
        (
            "from+since",
            MessageQuery {
                from: from("+911"),
                since: since("2025-01-15T09:30:00Z"),
                ..base()
            },
            &["m1", "m8", "m6"],
        ),
        (
            "from+q",
            MessageQuery {
                from: from("+922"),
                q: q("hello"),
                ..base()
            },
            &["m3"],
        ),
        (
            "since+q",
            MessageQuery {
                since: since("2025-01-15T10:30:00Z"),
                q: q("hello"),
                ..base()
            },
            &["m3"],
        ),
        (
            "all three",
            MessageQuery {
                from: from("+911"),
                since: since("2025-01-15T10:00:00Z"),
                q: q("HELLO"),
                ..base()
            },
            &["m1", "m8"],
        ),
    ];
    for (name, query, want) in cases {
        let want: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
        let n = u64::try_from(want.len()).unwrap_or(0);
        assert_eq!(
            ids_and_total(store, &query),
            (want, n),
            "filter case {name:?}"
        );
    }
}

/// `limit` and `offset` cut the filtered order, and `total` ignores them;
/// an offset past the end is an empty page with the same total.
pub fn limit_offset_and_total(store: &dyn MessageStore) {
    seed(store);
    let page = |limit: i64, offset: i64, q: Option<&str>| MessageQuery {
        limit: Limit::new(limit).expect("limit"),
        offset: Offset::new(offset).expect("offset"),
        q: q.and_then(|q| SearchText::new(q).ok()),
        ..MessageQuery::default()
    };
    let s = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        ids_and_total(store, &page(2, 0, None)),
        (s(&["m4", "m2"]), 8)
    );
    assert_eq!(
        ids_and_total(store, &page(3, 2, None)),
        (s(&["m1", "m8", "m3"]), 8)
    );
    assert_eq!(ids_and_total(store, &page(100, 7, None)), (s(&["m7"]), 8));
    assert_eq!(ids_and_total(store, &page(5, 8, None)), (s(&[]), 8));
    assert_eq!(ids_and_total(store, &page(5, 1_000_000, None)), (s(&[]), 8));
    assert_eq!(
        ids_and_total(store, &page(1, 1, Some("hello"))),
        (s(&["m8"]), 3)
    );
}

/// Following `next` from the start, with and without filters, visits every
/// matching message exactly once, in order; so does stepping `offset`.
pub fn walks_visit_every_row_once(store: &dyn MessageStore) {
    seed(store);
    let filters = [
        MessageQuery::default(),
        MessageQuery {
            from: Some("+911".to_owned()),
            ..MessageQuery::default()
        },
        MessageQuery {
            q: SearchText::new("e").ok(),
            ..MessageQuery::default()
        },
        MessageQuery {
            since: Some(Timestamp::parse("2025-01-15T10:00:00Z").expect("ts")),
            ..MessageQuery::default()
        },
    ];
    for filter in filters {
        let (expected, total) = ids_and_total(store, &filter);
        for size in [1, 2, 3, 100] {
            let limit = Limit::new(size).expect("limit");
            let mut keyset = Vec::new();
            let mut after: Option<Cursor> = None;
            for _ in 0..=expected.len() {
                let page = store
                    .list(&MessageQuery {
                        limit,
                        after: after.clone(),
                        ..filter.clone()
                    })
                    .expect("list");
                assert_eq!(page.total, total, "total on every keyset page");
                keyset.extend(page.messages.iter().map(|m| m.id().as_str().to_owned()));
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            assert_eq!(keyset, expected, "keyset walk, limit {size}, {filter:?}");
            let mut offset_walk = Vec::new();
            let mut offset = 0_i64;
            loop {
                let page = store
                    .list(&MessageQuery {
                        limit,
                        offset: Offset::new(offset).expect("offset"),
                        ..filter.clone()
                    })
                    .expect("list");
                if page.messages.is_empty() {
                    break;
                }
                offset += i64::try_from(page.messages.len()).unwrap_or(i64::MAX);
                offset_walk.extend(page.messages.iter().map(|m| m.id().as_str().to_owned()));
            }
            assert_eq!(
                offset_walk, expected,
                "offset walk, limit {size}, {filter:?}"
            );
        }
    }
}
