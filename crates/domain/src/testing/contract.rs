//! The port's promises, one check each. [`message_store_contract!`]
//! (crate::message_store_contract) turns them into `#[test]`s for a store
//! factory; adapters with settings that change how they answer (an index on
//! or off) run it once per setting.

use std::collections::HashSet;

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
    let q = SearchText::new;
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
        q: q.and_then(SearchText::new),
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
            q: SearchText::new("e"),
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
                SearchText::new(rng.pick(&needles))
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
