//! `purge`: the oldest received go, every count stays exact.

use crate::feed::FeedQuery;
use crate::query::{MessageQuery, SearchText};
use crate::store::{InsertOutcome, MessageStore};
use crate::timestamp::Timestamp;

use super::seeds::{feed_ids, insert, message, walk_feed};
use crate::testing::MemoryStore;

/// `purge` deletes the oldest received messages in batches of at most
/// `max`, and leaves listing, stats, search, the feed and per-day counts
/// exactly as if the purged messages had never been stored; numbers are
/// not reused, and a purged id can be stored again.
#[expect(
    clippy::too_many_lines,
    reason = "one scenario, step by step: every read compared with the reference after each purge"
)]
pub fn purge_removes_the_oldest_received_and_keeps_the_rest_exact(store: &dyn MessageStore) {
    assert_eq!(
        store
            .purge(time::OffsetDateTime::now_utc(), 10)
            .expect("purge"),
        0,
        "nothing to purge"
    );
    let old = [
        ("p1", "+911", "2025-01-10T00:00:00Z", Some("alpha old")),
        ("p2", "+922", "2025-01-20T00:00:00Z", Some("beta")),
        ("p3", "+911", "2025-01-12T00:00:00Z", None),
    ];
    let new = [
        ("p4", "+933", "2025-01-15T00:00:00Z", Some("alpha new")),
        ("p5", "+911", "2025-01-16T00:00:00Z", Some("gamma")),
    ];
    for (id, from, ts, text) in old {
        insert(store, message(id, from, ts, text));
    }
    std::thread::sleep(std::time::Duration::from_millis(30));
    let cutoff = time::OffsetDateTime::now_utc();
    std::thread::sleep(std::time::Duration::from_millis(30));
    let reference = MemoryStore::new();
    for (id, from, ts, text) in new {
        insert(store, message(id, from, ts, text));
        insert(&reference, message(id, from, ts, text));
    }
    // Searched before the purge too: a store that keeps matches between
    // requests must not count or return the purged ones afterwards.
    let alpha = MessageQuery {
        q: SearchText::new("ALPHA").ok(),
        ..MessageQuery::default()
    };
    assert_eq!(
        store.list(&alpha).expect("list").total,
        2,
        "before the purge"
    );
    let last = store.last_seq().expect("last_seq");
    assert_eq!(store.purge(cutoff, 2).expect("purge"), 2, "a batch of 2");
    assert_eq!(
        store.purge(cutoff, 2).expect("purge"),
        1,
        "the last old one"
    );
    assert_eq!(store.purge(cutoff, 2).expect("purge"), 0, "none older left");
    let agree = |store: &dyn MessageStore, what: &str| {
        for query in [
            MessageQuery::default(),
            MessageQuery {
                q: SearchText::new("ALPHA").ok(),
                ..MessageQuery::default()
            },
            MessageQuery {
                from: Some("+911".to_owned()),
                ..MessageQuery::default()
            },
            MessageQuery {
                since: Some(Timestamp::parse("2025-01-11T00:00:00Z").expect("ts")),
                ..MessageQuery::default()
            },
        ] {
            assert_eq!(
                store.list(&query).expect("list"),
                reference.list(&query).expect("list"),
                "{what}: {query:?}"
            );
        }
        assert_eq!(
            store.stats().expect("stats"),
            reference.stats().expect("stats"),
            "{what}: stats"
        );
        let january =
            |d| time::Date::from_calendar_date(2025, time::Month::January, d).expect("day");
        assert_eq!(
            store.daily_counts(january(1), january(31)).expect("daily"),
            reference
                .daily_counts(january(1), january(31))
                .expect("daily"),
            "{what}: per-day counts"
        );
        let ids = |s: &dyn MessageStore| -> Vec<String> {
            walk_feed(s, &FeedQuery::default())
                .into_iter()
                .map(|(_, id)| id)
                .collect()
        };
        assert_eq!(ids(store), ids(&reference), "{what}: feed");
    };
    agree(store, "after the purge");
    assert_eq!(
        store.last_seq().expect("last_seq"),
        last,
        "numbers are not reused"
    );
    // A purged id is unknown again; a kept one is still a duplicate.
    let again = message("p1", "+944", "2025-01-11T00:00:00Z", Some("alpha again"));
    assert_eq!(insert(store, again.clone()), InsertOutcome::Created);
    insert(&reference, again);
    assert_eq!(
        insert(store, message("p4", "+911", "2025-01-01T00:00:00Z", None)),
        InsertOutcome::Duplicate
    );
    agree(store, "after storing a purged id again");
    let tail = store
        .feed(&FeedQuery {
            after: last,
            ..FeedQuery::default()
        })
        .expect("feed");
    assert_eq!(feed_ids(&tail), ["p1"], "stored again, after everything");
}
