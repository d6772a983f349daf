//! The port's promises, one check each. [`message_store_contract!`]
//! (crate::message_store_contract) turns them into `#[test]`s for a store
//! factory; adapters with settings that change how they answer (an index on
//! or off) run it once per setting.

use std::collections::HashSet;

use crate::feed::{DayCount, FeedLimit, FeedPage, FeedQuery, Seq};
use crate::message::{Message, MessageId, MessageText, Msisdn};
use crate::query::{Cursor, Limit, MessageQuery, Offset, SearchText};
use crate::store::{InsertOutcome, MessageStore};
use crate::timestamp::Timestamp;

use super::MemoryStore;

/// What a store factory returns: a store, a store with a guard that must
/// live as long as it (a temporary folder, a throwaway database), or
/// `None` when the store's server cannot be had (the factory has said so
/// in one line; the check then runs nothing).
pub trait FreshStore {
    /// The store under test, if there is one.
    fn store(&self) -> Option<&dyn MessageStore>;
}

impl<T: MessageStore> FreshStore for T {
    fn store(&self) -> Option<&dyn MessageStore> {
        Some(self)
    }
}

impl<T: MessageStore, G> FreshStore for (T, G) {
    fn store(&self) -> Option<&dyn MessageStore> {
        Some(&self.0)
    }
}

impl<T: MessageStore> FreshStore for Option<T> {
    fn store(&self) -> Option<&dyn MessageStore> {
        self.as_ref().map(|s| s as &dyn MessageStore)
    }
}

/// A message with `to` fixed; panics on invalid input (test data).
#[must_use]
pub fn message(id: &str, from: &str, ts: &str, text: Option<&str>) -> Message {
    Message::new(
        MessageId::new(id).expect("valid id"),
        Msisdn::new(from).expect("valid from"),
        Msisdn::new("+14155550100").expect("valid to"),
        Timestamp::parse(ts).expect("valid ts"),
        text.map(|t| MessageText::new(t).expect("valid text")),
    )
}

fn insert(store: &dyn MessageStore, m: Message) -> InsertOutcome {
    store.insert(m).expect("insert")
}

fn ids_and_total(store: &dyn MessageStore, query: &MessageQuery) -> (Vec<String>, u64) {
    let page = store.list(query).expect("list");
    (
        page.messages
            .iter()
            .map(|m| m.id().as_str().to_owned())
            .collect(),
        page.total,
    )
}

/// The shared data set of the filter and walk checks.
const SEED: &[(&str, &str, &str, Option<&str>)] = &[
    ("m1", "+911", "2025-01-15T10:00:00Z", Some("Hello world")),
    ("m2", "+911", "2025-01-15T09:00:00Z", Some("Earlier")),
    ("m3", "+922", "2025-01-15T11:00:00Z", Some("HELLO again")),
    ("m4", "+933", "2025-01-14T08:00:00Z", None),
    (
        "m5",
        "+922",
        "2025-01-16T08:00:00Z",
        Some("100% sure_thing"),
    ),
    (
        "m6",
        "+911",
        "2025-01-17T08:00:00Z",
        Some("100 percent surething"),
    ),
    ("m7", "+944", "2025-01-18T08:00:00Z", Some("ÉCOLE élève")),
    (
        "m8",
        "+911",
        "2025-01-15T10:00:00.000Z",
        Some("hello, same instant as m1"),
    ),
];

fn seed(store: &dyn MessageStore) {
    for (id, from, ts, text) in SEED {
        assert_eq!(
            insert(store, message(id, from, ts, *text)),
            InsertOutcome::Created,
            "{id}"
        );
    }
}

/// The first message stored under an id wins; later ones with the same id,
/// whatever their content, are `Duplicate` and change nothing.
pub fn first_write_wins(store: &dyn MessageStore) {
    let first = message("m1", "+911", "2025-01-15T10:00:00Z", Some("first"));
    let second = message("m1", "+922", "2025-01-16T10:00:00Z", Some("second"));
    assert_eq!(insert(store, first.clone()), InsertOutcome::Created);
    assert_eq!(insert(store, second), InsertOutcome::Duplicate, "same id");
    assert_eq!(
        insert(store, first.clone()),
        InsertOutcome::Duplicate,
        "replay"
    );
    let page = store.list(&MessageQuery::default()).expect("list");
    assert_eq!(
        page.messages,
        vec![first],
        "the first write is what is stored"
    );
    assert_eq!(page.total, 1);
    let stats = store.stats().expect("stats");
    assert_eq!((stats.total_messages, stats.senders_count), (1, 1));
}

/// `insert_all` stores a batch at once, one outcome per message in order:
/// new ones `Created`, ids already stored or repeated within the batch
/// `Duplicate`, the first of each id winning.
pub fn insert_all_reports_each_outcome_in_order(store: &dyn MessageStore) {
    insert(
        store,
        message("old", "+911", "2025-01-15T10:00:00Z", Some("stored before")),
    );
    let batch = vec![
        message("b1", "+911", "2025-01-15T11:00:00Z", Some("first b1")),
        message("old", "+922", "2025-01-15T12:00:00Z", Some("late copy")),
        message("b2", "+922", "2025-01-15T13:00:00Z", None),
        message("b1", "+933", "2025-01-15T14:00:00Z", Some("second b1")),
    ];
    assert_eq!(
        store.insert_all(batch).expect("insert_all"),
        [
            InsertOutcome::Created,
            InsertOutcome::Duplicate,
            InsertOutcome::Created,
            InsertOutcome::Duplicate
        ]
    );
    let page = store.list(&MessageQuery::default()).expect("list");
    let stored: Vec<(&str, Option<&str>)> = page
        .messages
        .iter()
        .map(|m| (m.id().as_str(), m.text().map(MessageText::as_str)))
        .collect();
    assert_eq!(
        stored,
        [
            ("old", Some("stored before")),
            ("b1", Some("first b1")),
            ("b2", None)
        ]
    );
    let stats = store.stats().expect("stats");
    assert_eq!((stats.total_messages, stats.senders_count), (3, 2));
    assert_eq!(store.insert_all(Vec::new()).expect("empty batch"), []);
}

/// Many threads inserting the same id at once store one row; exactly one
/// of them hears `Created`.
pub fn concurrent_identical_inserts_store_one_row(store: &dyn MessageStore) {
    let m = message("same", "+911", "2025-01-15T10:00:00Z", Some("x"));
    let outcomes: Vec<InsertOutcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|_| s.spawn(|| insert(store, m.clone())))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let created = outcomes
        .iter()
        .filter(|o| **o == InsertOutcome::Created)
        .count();
    assert_eq!(created, 1, "exactly one Created: {outcomes:?}");
    assert_eq!(store.stats().expect("stats").total_messages, 1);
    assert_eq!(ids_and_total(store, &MessageQuery::default()).1, 1);
}

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

fn feed_ids(page: &FeedPage) -> Vec<String> {
    page.items
        .iter()
        .map(|i| i.message.id().as_str().to_owned())
        .collect()
}

/// Follows `next` from `query.after` until an empty page; every item's id,
/// after checking each page's `next` and that `seq` only grows.
fn walk_feed(store: &dyn MessageStore, query: &FeedQuery) -> Vec<(Seq, String)> {
    let mut query = query.clone();
    let mut seen: Vec<(Seq, String)> = Vec::new();
    loop {
        let page = store.feed(&query).expect("feed");
        assert!(
            page.items.len() <= usize::try_from(query.limit.get()).unwrap_or(usize::MAX),
            "a feed page holds at most `limit` items"
        );
        let Some(last) = page.items.last() else {
            assert_eq!(page.next, query.after, "an empty page's next is its after");
            return seen;
        };
        assert_eq!(page.next, last.seq, "next is the last item's seq");
        for item in &page.items {
            assert!(
                seen.last().map_or(query.after, |(s, _)| *s) < item.seq,
                "seq grows strictly along the feed (after {:?}: {:?})",
                seen.last(),
                item.seq
            );
            seen.push((item.seq, item.message.id().as_str().to_owned()));
        }
        query.after = page.next;
    }
}

/// The feed lists created messages in the order they were stored (not by
/// `ts`), each once, with numbers that only grow; duplicates get none;
/// `next` resumes exactly; `from` and `q` filter as they do for `list`.
pub fn feed_follows_the_order_of_storage(store: &dyn MessageStore) {
    let empty = store.feed(&FeedQuery::default()).expect("feed");
    assert_eq!((empty.items.len(), empty.next), (0, Seq::START));
    assert_eq!(store.last_seq().expect("last_seq"), Seq::START, "empty");
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

/// `purge` deletes the oldest received messages in batches of at most
/// `max`, and leaves listing, stats, search, the feed and per-day counts
/// exactly as if the purged messages had never been stored; numbers are
/// not reused, and a purged id can be stored again.
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

/// `submit` keeps `insert_all`'s promises while many receipts are pending
/// at once: each resolves to one outcome per message, exactly one
/// `Created` per id, and everything acknowledged is stored.
pub fn submitted_inserts_resolve_like_insert_all(store: &dyn MessageStore) {
    insert(store, message("s0", "+911", "2025-01-15T10:00:00Z", None));
    let receipts: Vec<_> = (0..96)
        .map(|i| {
            let id = format!("s{}", i % 48);
            store.submit(vec![message(
                &id,
                "+922",
                "2025-01-15T11:00:00Z",
                Some("sub"),
            )])
        })
        .collect();
    let mut created = 0;
    for receipt in receipts {
        let outcomes = receipt.wait().expect("answered").expect("stored");
        assert_eq!(outcomes.len(), 1);
        if outcomes[0] == InsertOutcome::Created {
            created += 1;
        }
    }
    assert_eq!(created, 47, "one Created per new id (s0 was stored before)");
    let page = store
        .list(&MessageQuery {
            limit: Limit::new(100).expect("limit"),
            ..MessageQuery::default()
        })
        .expect("list");
    assert_eq!(page.total, 48, "s0 to s47, each once");
    let batch = store
        .submit(vec![
            message("s1", "+933", "2025-01-15T12:00:00Z", None),
            message("t1", "+933", "2025-01-15T12:00:00Z", None),
            message("t1", "+933", "2025-01-15T13:00:00Z", None),
        ])
        .wait()
        .expect("answered")
        .expect("stored");
    assert_eq!(
        batch,
        [
            InsertOutcome::Duplicate,
            InsertOutcome::Created,
            InsertOutcome::Duplicate
        ]
    );
    assert_eq!(
        store
            .submit(Vec::new())
            .wait()
            .expect("answered")
            .expect("ok"),
        []
    );
}

/// A small deterministic generator (xorshift), so the oracle check needs no
/// dependency and every failure replays from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// Random messages (colliding ids, instants spelled several ways) go into
/// `store` and into a [`MemoryStore`]; then random queries (every filter,
/// offsets, keyset cursors) must give the same pages and totals from both,
/// and the same stats.
pub fn agrees_with_the_reference(store: &dyn MessageStore, seed: u64) {
    let reference = MemoryStore::new();
    let mut rng = Rng(seed | 1);
    let senders = ["+911", "+9122", "+933", "+14155550123", "+44"];
    let words = [
        "hello", "HÉllo", "world", "100%", "a_b", "Straße", "ΣΑΣ", "x", "hell",
    ];
    let seconds = ["00", "00.000", "00.5", "00.50", "01", "59.999999999"];
    for i in 0..300 {
        let id = format!("r{}", rng.below(260));
        let ts = format!(
            "2025-0{}-1{}T1{}:00:{}Z",
            1 + rng.below(3),
            rng.below(10),
            rng.below(10),
            rng.pick(&seconds)
        );
        let text = (rng.below(5) > 0).then(|| {
            (0..1 + rng.below(3))
                .map(|_| rng.pick(&words))
                .collect::<Vec<_>>()
                .join(" ")
        });
        let m = message(&id, rng.pick(&senders), &ts, text.as_deref());
        assert_eq!(
            store.insert(m.clone()).expect("insert"),
            reference.insert(m).expect("insert"),
            "insert {i} ({id})"
        );
    }
    assert_eq!(
        store.stats().expect("stats"),
        reference.stats().expect("stats")
    );
    let needles = [
        "hello", "hé", "SS", "σας", "%", "_", "0%", "l", "absent", "o w",
    ];
    for i in 0..200 {
        let mut query = MessageQuery {
            from: (rng.below(3) == 0).then(|| rng.pick(&senders).to_owned()),
            since: (rng.below(3) == 0).then(|| {
                Timestamp::parse(&format!("2025-0{}-15T12:00:00.5Z", 1 + rng.below(3))).expect("ts")
            }),
            q: if rng.below(2) == 0 {
                SearchText::new(rng.pick(&needles)).ok()
            } else {
                None
            },
            limit: Limit::new(i64::try_from(1 + rng.below(40)).unwrap_or(1)).expect("limit"),
            offset: Offset::new(i64::try_from(rng.below(3) * rng.below(60)).unwrap_or(0))
                .expect("offset"),
            after: None,
        };
        if rng.below(3) == 0 {
            // A cursor at some stored position.
            let page = reference
                .list(&MessageQuery {
                    limit: Limit::new(100).expect("limit"),
                    ..MessageQuery::default()
                })
                .expect("list");
            if !page.messages.is_empty() {
                query.after = Some(Cursor::after(
                    &page.messages[rng.below(page.messages.len())],
                ));
            }
        }
        assert_eq!(
            store.list(&query).expect("list"),
            reference.list(&query).expect("list"),
            "query {i} (seed {seed}): {query:?}"
        );
    }
    for i in 0..30 {
        let query = FeedQuery {
            from: (rng.below(3) == 0).then(|| rng.pick(&senders).to_owned()),
            q: if rng.below(2) == 0 {
                SearchText::new(rng.pick(&needles)).ok()
            } else {
                None
            },
            limit: FeedLimit::new(i64::try_from(1 + rng.below(50)).unwrap_or(1)).expect("limit"),
            ..FeedQuery::default()
        };
        let ids = |walk: Vec<(Seq, String)>| walk.into_iter().map(|(_, id)| id).collect::<Vec<_>>();
        assert_eq!(
            ids(walk_feed(store, &query)),
            ids(walk_feed(&reference, &query)),
            "feed {i} (seed {seed}): {query:?}"
        );
    }
    let all: HashSet<String> = reference
        .list(&MessageQuery {
            limit: Limit::new(100).expect("limit"),
            ..MessageQuery::default()
        })
        .expect("list")
        .messages
        .iter()
        .map(|m| m.id().as_str().to_owned())
        .collect();
    assert!(!all.is_empty());
}

/// Generates one `#[test]` per contract check, each on a fresh store from
/// `$factory` (an expression callable with no arguments that returns a
/// [`FreshStore`]: a store, or `(store, guard)`).
#[macro_export]
macro_rules! message_store_contract {
    ($factory:expr) => {
        $crate::message_store_contract!(@tests $factory;
            first_write_wins,
            insert_all_reports_each_outcome_in_order,
            concurrent_identical_inserts_store_one_row,
            orders_by_instant_then_id,
            filters_alone_and_combined,
            limit_offset_and_total,
            walks_visit_every_row_once,
            stats_ties_cut_and_edges,
            stats_edges_compare_instants_and_keep_text,
            empty_store,
            readiness,
            feed_follows_the_order_of_storage,
            feed_walk_misses_nothing_while_writers_commit,
            daily_counts_by_utc_day,
            purge_removes_the_oldest_received_and_keeps_the_rest_exact,
            submitted_inserts_resolve_like_insert_all,
        );
        #[test]
        fn agrees_with_the_reference_on_random_inputs() {
            for seed in [1_u64, 0x5eed, 0xdead_beef] {
                let fresh = ($factory)();
                if let Some(store) = $crate::testing::contract::FreshStore::store(&fresh) {
                    $crate::testing::contract::agrees_with_the_reference(store, seed);
                }
            }
        }
    };
    (@tests $factory:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let fresh = ($factory)();
                if let Some(store) = $crate::testing::contract::FreshStore::store(&fresh) {
                    $crate::testing::contract::$check(store);
                }
            }
        )*
    };
}
