//! `feed`: storage order, exactly once, while writers commit.

use std::collections::HashSet;

use crate::feed::{FeedLimit, FeedQuery, Seq};
use crate::query::SearchText;
use crate::store::{InsertOutcome, MessageStore};

use super::seeds::{feed_ids, insert, message, walk_feed};

/// The feed lists created messages in the order they were stored (not by
/// `ts`), each once, with numbers that only grow; duplicates get none;
/// `next` resumes exactly; `from` and `q` filter as they do for `list`.
#[expect(
    clippy::too_many_lines,
    reason = "one scenario, step by step: the feed after each write, read in order"
)]
pub fn feed_follows_the_order_of_storage(store: &dyn MessageStore) {
    let empty = store.feed(&FeedQuery::default()).expect("feed");
    assert_eq!((empty.items.len(), empty.next), (0, Seq::START));
    assert_eq!(store.last_seq().expect("last_seq"), Seq::START, "empty");
    let before = Seq::at_least_now();
    // Stored with ever older `ts`: the feed keeps the order of storage.
    let stored = [
        ("f1", "+911", "2025-03-01T00:00:00Z", Some("Hello one")),
        ("f2", "+922", "2025-02-01T00:00:00Z", Some("two 100%")),
        ("f3", "+911", "2025-01-01T00:00:00Z", None),
        ("f4", "+933", "2024-12-01T00:00:00.5Z", Some("HELLO four")),
        ("f5", "+911", "2020-01-01T00:00:00Z", Some("five a_b")),
    ];
    for (i, (id, from, ts, text)) in stored.iter().enumerate() {
        assert_eq!(
            insert(store, message(id, from, ts, *text)),
            InsertOutcome::Created
        );
        if i == 2 {
            // A duplicate between them takes no place in the feed.
            assert_eq!(
                insert(store, message("f1", "+944", "2026-01-01T00:00:00Z", None)),
                InsertOutcome::Duplicate
            );
        }
    }
    let first = store.feed(&FeedQuery::default()).expect("feed");
    assert!(
        first.items.iter().all(|i| i.seq >= before),
        "every number is at least the clock in microseconds at its commit"
    );
    let all = walk_feed(
        store,
        &FeedQuery {
            limit: FeedLimit::new(2).expect("limit"),
            ..FeedQuery::default()
        },
    );
    let ids: Vec<&str> = all.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(ids, ["f1", "f2", "f3", "f4", "f5"], "order of storage");
    assert_eq!(
        Some(store.last_seq().expect("last_seq")),
        all.last().map(|(s, _)| *s),
        "last_seq is the last number given"
    );
    let first = store.feed(&FeedQuery::default()).expect("feed");
    assert_eq!(
        first.items[0].message,
        message("f1", "+911", "2025-03-01T00:00:00Z", Some("Hello one")),
        "the feed carries the message as first stored"
    );
    // Resuming after any item gives exactly the rest.
    for (k, (seq, _)) in all.iter().enumerate() {
        let rest = store
            .feed(&FeedQuery {
                after: *seq,
                ..FeedQuery::default()
            })
            .expect("feed");
        assert_eq!(feed_ids(&rest), ids[k + 1..].to_vec(), "after {seq}");
    }
    // Past the end: nothing, and next stays.
    let end = all.last().map(|(s, _)| *s).unwrap_or_default();
    let past = Seq::new(end.as_i64() + 1000).expect("seq");
    let page = store
        .feed(&FeedQuery {
            after: past,
            ..FeedQuery::default()
        })
        .expect("feed");
    assert_eq!((page.items.len(), page.next), (0, past));
    // Filters, alone and together, as `list` applies them.
    let cases: [(Option<&str>, Option<&str>, &[&str]); 6] = [
        (Some("+911"), None, &["f1", "f3", "f5"]),
        (None, Some("hello"), &["f1", "f4"]),
        (None, Some("%"), &["f2"]),
        (None, Some("_"), &["f5"]),
        (Some("+911"), Some("HELLO"), &["f1"]),
        (Some("+999"), None, &[]),
    ];
    for (from, q, want) in cases {
        let query = FeedQuery {
            from: from.map(str::to_owned),
            q: q.and_then(|q| SearchText::new(q).ok()),
            limit: FeedLimit::new(1).expect("limit"),
            ..FeedQuery::default()
        };
        let got: Vec<String> = walk_feed(store, &query)
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        assert_eq!(got, want.to_vec(), "feed from={from:?} q={q:?}");
    }
    // A message stored now comes after everything, whatever its `ts`.
    insert(store, message("f6", "+911", "1999-01-01T00:00:00Z", None));
    let tail = store
        .feed(&FeedQuery {
            after: end,
            ..FeedQuery::default()
        })
        .expect("feed");
    assert_eq!(feed_ids(&tail), ["f6"]);
    assert!(tail.next > end);
    // insert_all numbers its created messages in order.
    let outcomes = store
        .insert_all(vec![
            message("g1", "+911", "2025-01-01T00:00:00Z", None),
            message("f2", "+911", "2025-01-01T00:00:00Z", None),
            message("g2", "+911", "2024-01-01T00:00:00Z", None),
        ])
        .expect("insert_all");
    assert_eq!(
        outcomes,
        [
            InsertOutcome::Created,
            InsertOutcome::Duplicate,
            InsertOutcome::Created
        ]
    );
    let tail = store
        .feed(&FeedQuery {
            after: tail.next,
            ..FeedQuery::default()
        })
        .expect("feed");
    assert_eq!(feed_ids(&tail), ["g1", "g2"]);
}

/// While 8 writers store messages (many with a `ts` older than anything
/// stored), a reader following `next` sees every created message exactly
/// once, with growing numbers: no message commits behind a reader.
pub fn feed_walk_misses_nothing_while_writers_commit(store: &dyn MessageStore) {
    const WRITERS: usize = 8;
    const EACH: usize = 60;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let (created, seen) = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let done = &done;
                scope.spawn(move || {
                    let mut created = Vec::new();
                    for i in 0..EACH {
                        // Every third one is old; every fifth a replay.
                        let ts = if i % 3 == 0 {
                            format!("2001-01-01T00:00:{:02}Z", (w * 7 + i) % 60)
                        } else {
                            format!("2025-06-01T{:02}:00:{:02}Z", w, i % 60)
                        };
                        let id = if i % 5 == 4 {
                            format!("w{w}-{}", i - 1)
                        } else {
                            format!("w{w}-{i}")
                        };
                        let outcome = if i % 4 == 1 {
                            // Some arrive in small batches.
                            store
                                .insert_all(vec![message(&id, "+911", &ts, Some("walk"))])
                                .expect("insert_all")[0]
                        } else {
                            store
                                .insert(message(&id, "+922", &ts, None))
                                .expect("insert")
                        };
                        if outcome == InsertOutcome::Created {
                            created.push(id);
                        }
                    }
                    done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    created
                })
            })
            .collect();
        let reader = scope.spawn(|| {
            let mut query = FeedQuery {
                limit: FeedLimit::new(7).expect("limit"),
                ..FeedQuery::default()
            };
            let mut seen: Vec<(Seq, String)> = Vec::new();
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst) == WRITERS;
                let page = store.feed(&query).expect("feed");
                for item in &page.items {
                    assert!(
                        seen.last().map_or(Seq::START, |(s, _)| *s) < item.seq,
                        "seq grows along the feed"
                    );
                    seen.push((item.seq, item.message.id().as_str().to_owned()));
                }
                query.after = page.next;
                if page.items.is_empty() {
                    if finished {
                        return seen;
                    }
                    std::thread::yield_now();
                }
            }
        });
        let created: Vec<String> = writers
            .into_iter()
            .flat_map(|w| w.join().expect("writer"))
            .collect();
        (created, reader.join().expect("reader"))
    });
    let mut seen_ids: Vec<String> = seen.into_iter().map(|(_, id)| id).collect();
    let unique: HashSet<&String> = seen_ids.iter().collect();
    assert_eq!(unique.len(), seen_ids.len(), "no message seen twice");
    let seen_set: HashSet<&String> = seen_ids.iter().collect();
    let missed: Vec<&String> = created.iter().filter(|id| !seen_set.contains(id)).collect();
    assert!(
        missed.is_empty(),
        "the walk missed {} created messages: {missed:?}",
        missed.len()
    );
    let mut created = created;
    created.sort();
    seen_ids.sort();
    assert_eq!(
        seen_ids, created,
        "the walk saw exactly the created messages"
    );
}
