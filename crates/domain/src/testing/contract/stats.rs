//! `stats`, `daily_counts`, an empty store and readiness.

use crate::feed::DayCount;
use crate::query::MessageQuery;
use crate::store::MessageStore;
use crate::timestamp::Timestamp;

use super::seeds::{insert, message, seed};

/// `/stats`: totals, the top ten senders by count then number (ties cut at
/// ten), and the first and last `ts` by instant, as the sender wrote them.
pub fn stats_ties_cut_and_edges(store: &dyn MessageStore) {
    let mut n = 0;
    let mut add = |from: &str, ts: &str| {
        n += 1;
        insert(store, message(&format!("s{n}"), from, ts, None));
    };
    for _ in 0..3 {
        add("+9100", "2025-03-01T00:00:00Z");
    }
    for i in 1..=11 {
        add(&format!("+91{i:02}"), "2025-02-01T00:00:00.5Z");
    }
    add("+9105", "2025-01-01T00:00:00Z");
    add("+9199", "2025-06-01T00:00:00Z");
    let stats = store.stats().expect("stats");
    assert_eq!((stats.total_messages, stats.senders_count), (16, 13));
    let top: Vec<(&str, u64)> = stats
        .top_senders
        .iter()
        .map(|s| (s.from.as_str(), s.count))
        .collect();
    assert_eq!(
        top,
        [
            ("+9100", 3),
            ("+9105", 2),
            ("+9101", 1),
            ("+9102", 1),
            ("+9103", 1),
            ("+9104", 1),
            ("+9106", 1),
            ("+9107", 1),
            ("+9108", 1),
            ("+9109", 1),
        ],
        "top ten, ties by number"
    );
    let sum: u64 = stats.top_senders.iter().map(|s| s.count).sum();
    assert!(sum <= stats.total_messages);
    let edge = |t: Option<Timestamp>| t.map(|t| t.as_str().to_owned());
    assert_eq!(
        edge(stats.first_message_ts),
        Some("2025-01-01T00:00:00Z".to_owned())
    );
    assert_eq!(
        edge(stats.last_message_ts),
        Some("2025-06-01T00:00:00Z".to_owned())
    );
}

/// First and last compare instants (`.9` after `.10`), break ties by id,
/// and keep the text as received.
pub fn stats_edges_compare_instants_and_keep_text(store: &dyn MessageStore) {
    insert(store, message("a", "+911", "2025-01-15T10:00:00.9Z", None));
    insert(store, message("b", "+911", "2025-01-15T10:00:00.10Z", None));
    insert(store, message("d", "+911", "2025-01-15T09:00:00Z", None));
    insert(
        store,
        message("c", "+911", "2025-01-15T09:00:00.000Z", None),
    );
    let stats = store.stats().expect("stats");
    let edge = |t: Option<Timestamp>| t.map(|t| t.as_str().to_owned());
    assert_eq!(
        edge(stats.first_message_ts),
        Some("2025-01-15T09:00:00.000Z".to_owned())
    );
    assert_eq!(
        edge(stats.last_message_ts),
        Some("2025-01-15T10:00:00.9Z".to_owned())
    );
}

/// An empty store: zero stats, no edges, an empty first page.
pub fn empty_store(store: &dyn MessageStore) {
    let stats = store.stats().expect("stats");
    assert_eq!((stats.total_messages, stats.senders_count), (0, 0));
    assert!(stats.top_senders.is_empty());
    assert_eq!(
        (stats.first_message_ts, stats.last_message_ts),
        (None, None)
    );
    let page = store.list(&MessageQuery::default()).expect("list");
    assert_eq!((page.messages.len(), page.total, page.next), (0, 0, None));
}

/// A freshly opened store is ready, and stays ready after writes and reads.
pub fn readiness(store: &dyn MessageStore) {
    store.check_ready().expect("ready when fresh");
    seed(store);
    store.list(&MessageQuery::default()).expect("list");
    store.check_ready().expect("ready after use");
}

/// Per-day counts go by the day of each message's instant, list only
/// days with messages inside the range, ascending, and skip duplicates.
pub fn daily_counts_by_utc_day(store: &dyn MessageStore) {
    let day = |y: i32, m: u8, d: u8| {
        time::Date::from_calendar_date(y, time::Month::try_from(m).expect("month"), d).expect("day")
    };
    for (id, ts) in [
        ("d1", "2025-01-14T23:59:59.999Z"),
        ("d2", "2025-01-14T00:00:00.000000001Z"),
        ("d3", "2025-01-15T00:00:00Z"),
        ("d4", "2025-01-16T00:00:00.000Z"),
        ("d5", "2025-01-20T12:00:00Z"),
        ("d6", "2025-02-01T12:00:00Z"),
    ] {
        insert(store, message(id, "+911", ts, None));
    }
    insert(store, message("d3", "+911", "2025-01-20T00:00:00Z", None));
    let counts = store
        .daily_counts(day(2025, 1, 14), day(2025, 1, 31))
        .expect("daily_counts");
    assert_eq!(
        counts,
        vec![
            DayCount {
                day: day(2025, 1, 14),
                count: 2
            },
            DayCount {
                day: day(2025, 1, 15),
                count: 1
            },
            DayCount {
                day: day(2025, 1, 16),
                count: 1
            },
            DayCount {
                day: day(2025, 1, 20),
                count: 1
            },
        ]
    );
    let one = store
        .daily_counts(day(2025, 2, 1), day(2025, 2, 1))
        .expect("daily_counts");
    assert_eq!(
        one,
        vec![DayCount {
            day: day(2025, 2, 1),
            count: 1
        }]
    );
    assert!(
        store
            .daily_counts(day(2024, 1, 1), day(2024, 12, 31))
            .expect("daily_counts")
            .is_empty()
    );
}
