//! Repeated searches: a store may keep a word's matches between requests
//! (SQLite's and PostgreSQL's adapters do), so the same search asked again
//! after new rows and after erasures must still be exact.

use crate::erasure::Erasure;
use crate::feed::{FeedLimit, FeedQuery};
use crate::query::{Limit, MessageQuery, Offset, Order, SearchText};
use crate::store::MessageStore;
use crate::testing::MemoryStore;

use super::seeds::{feed_ids, insert, message, walk_feed};

/// The same `q` on pages (every filter, offset, both orders) and on the
/// feed gives what the reference gives, after each round of new matching
/// and non-matching rows and after erasing matches.
pub fn repeated_searches_see_new_and_erased_rows(store: &dyn MessageStore) {
    let reference = MemoryStore::new();
    let both = |m: crate::Message| {
        insert(store, m.clone());
        insert(&reference, m);
    };
    let texts = ["a Needle here", "nothing", "needles twice", "hay", "NEEDLE"];
    let mut n = 0;
    let mut round = |both: &dyn Fn(crate::Message)| {
        for text in texts {
            n += 1;
            let from = if n % 2 == 0 { "+4411" } else { "+4422" };
            let ts = format!("2025-03-{:02}T10:00:00Z", 1 + (n * 7) % 28);
            both(message(&format!("s{n}"), from, &ts, Some(text)));
        }
    };
    round(&both);
    agree(store, &reference, "first sight");
    agree(store, &reference, "asked again");
    round(&both);
    agree(store, &reference, "after new rows");
    for id in ["s1", "s8"] {
        let what = Erasure::Message(crate::MessageId::new(id).expect("id"));
        assert_eq!(store.erase(&what, 10).expect("erase"), 1, "erase {id}");
        assert_eq!(reference.erase(&what, 10).expect("erase"), 1, "erase {id}");
    }
    agree(store, &reference, "after erasing matches");
    round(&both);
    agree(store, &reference, "after erasing, then new rows");
}

/// Pages and the feed with `q=needle` agree with the reference.
fn agree(store: &dyn MessageStore, reference: &MemoryStore, when: &str) {
    let q = SearchText::new("needle").ok();
    for (from, order, offset, limit) in [
        (None, Order::Asc, 0, 100),
        (None, Order::Desc, 0, 2),
        (None, Order::Asc, 1, 2),
        (Some("+4411"), Order::Asc, 0, 100),
        (Some("+4422"), Order::Desc, 1, 1),
    ] {
        let query = MessageQuery {
            q: q.clone(),
            from: from.map(str::to_owned),
            order,
            offset: Offset::new(offset).expect("offset"),
            limit: Limit::new(limit).expect("limit"),
            ..MessageQuery::default()
        };
        assert_eq!(
            store.list(&query).expect("list"),
            reference.list(&query).expect("list"),
            "{when}: {query:?}"
        );
    }
    let feed = FeedQuery {
        q: q.clone(),
        ..FeedQuery::default()
    };
    let ids =
        |walk: Vec<(crate::Seq, String)>| walk.into_iter().map(|(_, id)| id).collect::<Vec<_>>();
    assert_eq!(
        ids(walk_feed(store, &feed)),
        ids(walk_feed(reference, &feed)),
        "{when}: the feed with q"
    );
    let small = FeedQuery {
        q,
        from: Some("+4411".to_owned()),
        limit: FeedLimit::new(1).expect("limit"),
        ..FeedQuery::default()
    };
    assert_eq!(
        feed_ids(&store.feed(&small).expect("feed")),
        feed_ids(&reference.feed(&small).expect("feed")),
        "{when}: a one-row feed page of one sender"
    );
}
