//! Writes: exactly once, batches, concurrency, the async submit.

use crate::message::MessageText;
use crate::query::{Limit, MessageQuery};
use crate::store::{InsertOutcome, MessageStore};

use super::seeds::{ids_and_total, insert, message};

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
