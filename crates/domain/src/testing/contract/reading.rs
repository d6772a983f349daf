//! The read side beyond the assignment: one message by id, newest first,
//! `to` and `until`, erasure, and conversations.

use crate::conversation::{ConversationCursor, ConversationQuery};
use crate::erasure::Erasure;
use crate::feed::{FeedQuery, Seq};
use crate::message::{MessageId, Msisdn};
use crate::query::{Limit, MessageQuery, Order, SearchText};
use crate::record::RawLookup;
use crate::store::{InsertOutcome, MessageStore};
use crate::timestamp::Timestamp;

use super::records::voice_note;
use super::seeds::{SEED, ids_and_total, insert, message, seed, walk_feed};

fn id(s: &str) -> MessageId {
    MessageId::new(s).expect("id")
}

fn all(order: Order) -> MessageQuery {
    MessageQuery {
        limit: Limit::new(100).expect("limit"),
        order,
        ..MessageQuery::default()
    }
}

/// `get` answers the full record the feed holds, and `None` for an id
/// never stored.
pub fn get_returns_the_full_record(store: &dyn MessageStore) {
    seed(store);
    insert(store, voice_note("v1"));
    let fed = walk_feed(store, &FeedQuery::default());
    let page = store.feed(&FeedQuery::default()).expect("feed");
    let stored = page
        .items
        .iter()
        .find(|i| i.message.id().as_str() == "v1")
        .expect("in the feed");
    let got = store.get(&id("v1")).expect("get").expect("found");
    assert_eq!(&got, stored, "get answers the feed's item");
    assert_eq!(got.message.envelope().sender_name(), Some("Kerry Fisher"));
    assert_eq!(fed.len(), SEED.len() + 1);
    assert_eq!(store.get(&id("absent")).expect("get"), None);
    let m1 = store.get(&id("m1")).expect("get").expect("found");
    assert_eq!(
        m1.message.text().map(crate::MessageText::as_str),
        Some("Hello world")
    );
}

/// `desc` is the exact reverse of `asc`, for whole pages and for keyset
/// walks, filters included.
pub fn newest_first_is_the_exact_reverse(store: &dyn MessageStore) {
    seed(store);
    let (asc, asc_total) = ids_and_total(store, &all(Order::Asc));
    let (mut desc, desc_total) = ids_and_total(store, &all(Order::Desc));
    assert_eq!(asc_total, desc_total);
    desc.reverse();
    assert_eq!(asc, desc, "desc reversed is asc");
    for filter in [
        MessageQuery::default(),
        MessageQuery {
            from: Some("+911".into()),
            ..MessageQuery::default()
        },
        MessageQuery {
            q: SearchText::new("hello").ok(),
            ..MessageQuery::default()
        },
    ] {
        let mut walked = Vec::new();
        let mut query = MessageQuery {
            limit: Limit::new(2).expect("limit"),
            order: Order::Desc,
            ..filter.clone()
        };
        loop {
            let page = store.list(&query).expect("list");
            walked.extend(page.messages.iter().map(|m| m.id().as_str().to_owned()));
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        let (mut whole, _) = ids_and_total(
            store,
            &MessageQuery {
                limit: Limit::new(100).expect("limit"),
                ..filter
            },
        );
        whole.reverse();
        assert_eq!(walked, whole, "a desc keyset walk is asc reversed");
    }
    // Offsets count from the newest.
    let (first, _) = ids_and_total(
        store,
        &MessageQuery {
            limit: Limit::new(1).expect("limit"),
            offset: crate::Offset::new(1).expect("offset"),
            order: Order::Desc,
            ..MessageQuery::default()
        },
    );
    assert_eq!(first, vec!["m6".to_owned()]);
}

/// `to` matches exactly; `until` is exclusive and combines with `since`;
/// totals count the filters.
pub fn to_and_until_filter(store: &dyn MessageStore) {
    seed(store);
    let other = crate::Message::new(
        id("t1"),
        Msisdn::new("+911").expect("from"),
        Msisdn::new("+15550783881").expect("to"),
        Timestamp::parse("2025-01-15T10:30:00Z").expect("ts"),
        None,
    );
    insert(store, other);
    let ts = |t: &str| Some(Timestamp::parse(t).expect("ts"));
    let cases: Vec<(MessageQuery, Vec<&str>)> = vec![
        (
            MessageQuery {
                to: Some("+15550783881".into()),
                ..all(Order::Asc)
            },
            vec!["t1"],
        ),
        (
            MessageQuery {
                to: Some("+1555078388".into()),
                ..all(Order::Asc)
            },
            vec![],
        ),
        (
            MessageQuery {
                until: ts("2025-01-15T10:00:00Z"),
                ..all(Order::Asc)
            },
            vec!["m4", "m2"],
        ),
        (
            MessageQuery {
                since: ts("2025-01-15T10:00:00Z"),
                until: ts("2025-01-16T08:00:00Z"),
                ..all(Order::Asc)
            },
            vec!["m1", "m8", "t1", "m3"],
        ),
        (
            MessageQuery {
                since: ts("2025-01-15T00:00:00Z"),
                until: ts("2025-01-18T00:00:00Z"),
                from: Some("+911".into()),
                ..all(Order::Desc)
            },
            vec!["m6", "t1", "m8", "m1", "m2"],
        ),
        (
            MessageQuery {
                since: ts("2025-01-16T00:00:00Z"),
                until: ts("2025-01-16T00:00:00Z"),
                ..all(Order::Asc)
            },
            vec![],
        ),
    ];
    for (query, expected) in cases {
        let (ids, total) = ids_and_total(store, &query);
        assert_eq!(ids, expected, "{query:?}");
        assert_eq!(total, expected.len() as u64, "{query:?}");
    }
}

/// After erasing one message and then a sender, they are gone from every
/// read and every count is exact; the other messages keep their feed
/// positions; an erased id posted again is stored again, under a new one.
pub fn erasure_is_complete_and_keeps_every_count_exact(store: &dyn MessageStore) {
    seed(store);
    insert(store, voice_note("v1"));
    let hello = MessageQuery {
        q: SearchText::new("hello").ok(),
        ..all(Order::Asc)
    };
    assert_eq!(ids_and_total(store, &hello).1, 3, "m1, m3, m8");
    let before = walk_feed(store, &FeedQuery::default());

    assert_eq!(
        store
            .erase(&Erasure::Message(id("m3")), 100)
            .expect("erase"),
        1
    );
    assert_eq!(
        store
            .erase(&Erasure::Message(id("m3")), 100)
            .expect("erase"),
        0
    );
    assert_eq!(
        store
            .erase(&Erasure::Message(id("absent")), 100)
            .expect("erase"),
        0
    );
    let sender = Erasure::Sender(Msisdn::new("+911").expect("from"));
    let mut erased = 0;
    loop {
        let n = store.erase(&sender, 2).expect("erase");
        erased += n;
        if n < 2 {
            break;
        }
    }
    assert_eq!(erased, 4, "m1, m2, m6, m8");

    let gone = ["m1", "m2", "m3", "m6", "m8"];
    let (ids, total) = ids_and_total(store, &all(Order::Asc));
    assert_eq!(ids, vec!["m4", "m5", "m7", "v1"]);
    assert_eq!(total, 4);
    assert_eq!(
        ids_and_total(store, &hello),
        (vec![], 0),
        "search forgets them"
    );
    let sure = MessageQuery {
        q: SearchText::new("sure").ok(),
        ..all(Order::Asc)
    };
    assert_eq!(ids_and_total(store, &sure), (vec!["m5".to_owned()], 1));
    for g in gone {
        assert_eq!(store.get(&id(g)).expect("get"), None, "{g}");
        assert_eq!(store.raw(&id(g)).expect("raw"), RawLookup::NotFound, "{g}");
    }
    let after = walk_feed(store, &FeedQuery::default());
    let kept: Vec<_> = before
        .iter()
        .filter(|(_, i)| !gone.contains(&i.as_str()))
        .cloned()
        .collect();
    assert_eq!(after, kept, "the others keep their feed positions");

    counts_after_erasure(store);

    let last = store.last_seq().expect("last seq");
    assert_eq!(
        insert(
            store,
            message("m1", "+911", "2025-01-15T10:00:00Z", Some("Hello again"))
        ),
        InsertOutcome::Created,
        "an erased id is new again"
    );
    let back = store.get(&id("m1")).expect("get").expect("stored again");
    assert!(back.seq > last, "with a new feed position");
    assert_eq!(ids_and_total(store, &hello).1, 1);
}

/// The counts after [`erasure_is_complete_and_keeps_every_count_exact`]'s
/// erasures: m4, m5, m7 and v1 are left.
fn counts_after_erasure(store: &dyn MessageStore) {
    let stats = store.stats().expect("stats");
    assert_eq!(stats.total_messages, 4);
    assert_eq!(stats.senders_count, 4, "+911 is gone; +922 keeps m5");
    assert!(stats.top_senders.iter().all(|s| s.from.as_str() != "+911"));
    assert_eq!(
        stats.first_message_ts.as_ref().map(Timestamp::as_str),
        Some("2025-01-14T08:00:00Z")
    );
    assert_eq!(
        stats.last_message_ts.as_ref().map(Timestamp::as_str),
        Some("2025-03-01T10:00:00Z")
    );
    let day = |y, m, d| time::Date::from_calendar_date(y, m, d).expect("date");
    let days = store
        .daily_counts(
            day(2025, time::Month::January, 1),
            day(2025, time::Month::March, 31),
        )
        .expect("days");
    let counts: Vec<(u8, u64)> = days.iter().map(|d| (d.day.day(), d.count)).collect();
    assert_eq!(
        counts,
        vec![(14, 1), (16, 1), (18, 1), (1, 1)],
        "15th and 17th are gone"
    );
    let page = store
        .conversations(&ConversationQuery::default())
        .expect("conversations");
    assert!(page.conversations.iter().all(|c| c.from.as_str() != "+911"));
}

/// Conversations list each sender once, by their latest stored message
/// (by `seq`, not `ts`), newest first, with their count; pages follow the
/// cursor to the end.
pub fn conversations_by_latest_activity(store: &dyn MessageStore) {
    seed(store);
    // A late message with an old `ts` still makes +933 the latest.
    insert(
        store,
        message("late", "+933", "2020-01-01T00:00:00Z", Some("late")),
    );
    let page = store
        .conversations(&ConversationQuery::default())
        .expect("conversations");
    let order: Vec<(&str, u64, &str)> = page
        .conversations
        .iter()
        .map(|c| {
            (
                c.from.as_str(),
                c.message_count,
                c.last.message.id().as_str(),
            )
        })
        .collect();
    assert_eq!(
        order,
        vec![
            ("+933", 2, "late"),
            ("+911", 4, "m8"),
            ("+944", 1, "m7"),
            ("+922", 2, "m5"),
        ]
    );
    assert_eq!(page.next, None);
    let latest = store.get(&id("late")).expect("get").expect("found");
    assert_eq!(page.conversations[0].last, latest, "the full record");

    let mut query = ConversationQuery {
        limit: Limit::new(1).expect("limit"),
        after: None,
    };
    let mut walked = Vec::new();
    loop {
        let page = store.conversations(&query).expect("conversations");
        assert!(page.conversations.len() <= 1);
        walked.extend(
            page.conversations
                .iter()
                .map(|c| c.from.as_str().to_owned()),
        );
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    assert_eq!(walked, vec!["+933", "+911", "+944", "+922"]);
    let past = ConversationQuery {
        after: Some(ConversationCursor::at(Seq::START)),
        ..ConversationQuery::default()
    };
    assert!(
        store
            .conversations(&past)
            .expect("conversations")
            .conversations
            .is_empty()
    );
    // A new message moves its sender to the top.
    insert(store, message("m9", "+922", "2025-01-01T00:00:00Z", None));
    let top = store
        .conversations(&ConversationQuery::default())
        .expect("conversations");
    assert_eq!(top.conversations[0].from.as_str(), "+922");
    assert_eq!(top.conversations[0].message_count, 3);
}
