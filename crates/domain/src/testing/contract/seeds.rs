//! The data the checks share, public so adapters' own tests use the same
//! rows instead of copies.

use crate::feed::{FeedPage, FeedQuery, Seq};
use crate::message::{Message, MessageId, MessageText, Msisdn};
use crate::query::MessageQuery;
use crate::store::{InsertOutcome, MessageStore};
use crate::timestamp::Timestamp;

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

/// Inserts one message; panics when the store fails.
pub fn insert(store: &dyn MessageStore, m: Message) -> InsertOutcome {
    store.insert(m).expect("insert")
}

/// The ids of one page, in order, and the total.
pub fn ids_and_total(store: &dyn MessageStore, query: &MessageQuery) -> (Vec<String>, u64) {
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
pub const SEED: &[(&str, &str, &str, Option<&str>)] = &[
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

/// Stores every [`SEED`] row; panics unless each is new.
pub fn seed(store: &dyn MessageStore) {
    for (id, from, ts, text) in SEED {
        assert_eq!(
            insert(store, message(id, from, ts, *text)),
            InsertOutcome::Created,
            "{id}"
        );
    }
}

/// The ids of a feed page, in order.
#[must_use]
pub fn feed_ids(page: &FeedPage) -> Vec<String> {
    page.items
        .iter()
        .map(|i| i.message.id().as_str().to_owned())
        .collect()
}

/// Follows `next` from `query.after` until an empty page; every item's id,
/// after checking each page's `next` and that `seq` only grows.
#[must_use]
pub fn walk_feed(store: &dyn MessageStore, query: &FeedQuery) -> Vec<(Seq, String)> {
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
