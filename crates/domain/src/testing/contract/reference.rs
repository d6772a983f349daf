//! Random inputs against the in-memory reference store.

use std::collections::HashSet;

use crate::erasure::Erasure;
use crate::feed::{FeedLimit, FeedQuery, Seq};
use crate::query::{Cursor, Limit, MessageQuery, Offset, Order, SearchText};
use crate::store::MessageStore;
use crate::timestamp::Timestamp;

use super::seeds::{message, walk_feed};
use crate::testing::MemoryStore;

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
    let senders = SENDERS;
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
        // Two recipients, so `to` selects.
        let m = if rng.below(3) == 0 {
            crate::Message::new(
                m.id().clone(),
                m.from().clone(),
                crate::Msisdn::new(OTHER_TO).expect("to"),
                m.ts().clone(),
                m.text().cloned(),
            )
        } else {
            m
        };
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
    compare_listings(store, &reference, &mut rng, seed, "before erasure");
    // Erase one sender and a few ids from both; every listing, search
    // included, and the stats must still agree.
    let sender = rng.pick(&senders);
    let erased = |s: &dyn MessageStore, what: &Erasure| s.erase(what, 7).expect("erase");
    let what = Erasure::Sender(crate::Msisdn::new(sender).expect("sender"));
    loop {
        let (a, b) = (erased(store, &what), erased(&reference, &what));
        assert_eq!(a, b, "erase {sender} (seed {seed})");
        if a < 7 {
            break;
        }
    }
    for _ in 0..10 {
        let what =
            Erasure::Message(crate::MessageId::new(format!("r{}", rng.below(260))).expect("id"));
        assert_eq!(erased(store, &what), erased(&reference, &what), "{what:?}");
    }
    assert_eq!(
        store.stats().expect("stats"),
        reference.stats().expect("stats"),
        "stats after erasure (seed {seed})"
    );
    compare_listings(store, &reference, &mut rng, seed, "after erasure");
    for i in 0..30 {
        let query = FeedQuery {
            from: (rng.below(3) == 0).then(|| rng.pick(&senders).to_owned()),
            q: if rng.below(2) == 0 {
                SearchText::new(rng.pick(&NEEDLES)).ok()
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

const SENDERS: [&str; 5] = ["+911", "+9122", "+933", "+14155550123", "+44"];
const NEEDLES: [&str; 10] = [
    "hello", "hé", "SS", "σας", "%", "_", "0%", "l", "absent", "o w",
];
const OTHER_TO: &str = "+15550783881";

/// Random queries (every filter, both orders, offsets, keyset cursors)
/// must give the same pages and totals from `store` and `reference`.
fn compare_listings(
    store: &dyn MessageStore,
    reference: &MemoryStore,
    rng: &mut Rng,
    seed: u64,
    phase: &str,
) {
    for i in 0..200 {
        let mut query = MessageQuery {
            from: (rng.below(3) == 0).then(|| rng.pick(&SENDERS).to_owned()),
            to: (rng.below(4) == 0).then(|| OTHER_TO.to_owned()),
            until: (rng.below(4) == 0).then(|| {
                Timestamp::parse(&format!(
                    "2025-0{}-1{}T12:00:00Z",
                    1 + rng.below(3),
                    rng.below(10)
                ))
                .expect("ts")
            }),
            order: if rng.below(2) == 0 {
                Order::Asc
            } else {
                Order::Desc
            },
            since: (rng.below(3) == 0).then(|| {
                Timestamp::parse(&format!("2025-0{}-15T12:00:00.5Z", 1 + rng.below(3))).expect("ts")
            }),
            q: if rng.below(2) == 0 {
                SearchText::new(rng.pick(&NEEDLES)).ok()
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
                    order: query.order,
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
            "{phase}: query {i} (seed {seed}): {query:?}"
        );
    }
}
