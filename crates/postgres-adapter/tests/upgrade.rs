//! Upgrading a database made by an earlier build: migration 2 numbers the
//! rows already stored for the feed, in the order they were received, and
//! new messages follow them; migration 3 gives stored rows kind `text` and
//! no record fields, and new rows keep everything. Skips with one line when
//! no server can be had.

use domain::testing::contract::{message, voice_note};
use domain::{FeedQuery, MessageId, MessageStore, RawLookup};

/// What migration 4 added, taken away again: a database as version 3 left it.
const UNDO_VERSION_FOUR: &str = "
    DROP INDEX senders_by_last;
    ALTER TABLE senders DROP COLUMN last_seq;
    UPDATE hookbox_schema SET version = 3;";

/// What migrations 4 and 3 added, taken away again: a database as version
/// 2 left it.
const UNDO_VERSION_THREE: &str = "
    DROP INDEX senders_by_last;
    ALTER TABLE senders DROP COLUMN last_seq;
    ALTER TABLE messages DROP COLUMN source, DROP COLUMN kind, DROP COLUMN sender_name,
        DROP COLUMN media_id, DROP COLUMN media_mime_type, DROP COLUMN media_sha256,
        DROP COLUMN media_filename, DROP COLUMN media_voice, DROP COLUMN reply_to,
        DROP COLUMN business_number_id, DROP COLUMN delivery_id, DROP COLUMN raw;
    DROP TABLE statuses;
    DROP TABLE events;
    DROP TABLE event_counter;
    UPDATE hookbox_schema SET version = 2;";

#[test]
fn migration_three_keeps_stored_rows_and_new_ones_whole() {
    let Some(url) = testkit::postgres::fresh_database("postgres upgrade to full records") else {
        return;
    };
    let config = PostgresConfig::from_lookup(&url, |_| None).expect("config");
    {
        let store = PostgresStore::open(&config).expect("open");
        store
            .insert(message("old", "+911", "2025-01-15T10:00:00Z", Some("hi")))
            .expect("insert");
    }
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    admin.batch_execute(UNDO_VERSION_THREE).expect("downgrade");
    let store = PostgresStore::open(&config).expect("open upgrades");
    let voice = voice_note("new");
    store.insert(voice.clone()).expect("insert");
    let page = store.feed(&FeedQuery::default()).expect("feed");
    let old = page.items[0].message.envelope();
    assert_eq!(
        (old.source(), old.kind().as_str(), old.raw()),
        (None, "text", None)
    );
    assert_eq!(page.items[1].message, voice);
    let id = |s: &str| MessageId::new(s).expect("id");
    assert_eq!(store.raw(&id("old")).expect("raw"), RawLookup::NotKept);
    assert!(matches!(
        store.raw(&id("new")).expect("raw"),
        RawLookup::Bytes(_)
    ));
}
use postgres_adapter::{PostgresConfig, PostgresStore};

/// Migration 4 finds each sender's latest message once: conversations work
/// on a database an earlier build filled.
#[test]
fn migration_four_finds_each_senders_latest_message() {
    let Some(url) = testkit::postgres::fresh_database("postgres upgrade to conversations") else {
        return;
    };
    let config = PostgresConfig::from_lookup(&url, |_| None).expect("config");
    {
        let store = PostgresStore::open(&config).expect("open");
        for (id, from) in [("a", "+911"), ("b", "+922"), ("c", "+911")] {
            store
                .insert(message(id, from, "2025-01-15T10:00:00Z", None))
                .expect("insert");
        }
    }
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    admin.batch_execute(UNDO_VERSION_FOUR).expect("downgrade");
    let store = PostgresStore::open(&config).expect("open upgrades");
    let page = store
        .conversations(&domain::ConversationQuery::default())
        .expect("conversations");
    let got: Vec<(&str, u64, &str)> = page
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
    assert_eq!(got, vec![("+911", 2, "c"), ("+922", 1, "b")]);
}

#[test]
fn migration_two_numbers_stored_rows_in_the_order_received() {
    let Some(url) = testkit::postgres::fresh_database("postgres upgrade to the feed") else {
        return;
    };
    let config = PostgresConfig::from_lookup(&url, |_| None).expect("config");
    {
        let store = PostgresStore::open(&config).expect("open");
        for id in ["old-b", "old-a", "old-c"] {
            store
                .insert(message(id, "+911", "2025-01-15T10:00:00Z", None))
                .expect("insert");
        }
    }
    // Back to schema version 1, as an earlier build left it, with the rows
    // received in the order c, a, b.
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    admin.batch_execute(UNDO_VERSION_THREE).expect("downgrade");
    admin
        .batch_execute(
            "ALTER TABLE messages DROP COLUMN seq;
             DROP TABLE feed_counter;
             UPDATE messages SET received_at = CASE message_id
                 WHEN 'old-c' THEN 1 WHEN 'old-a' THEN 2 ELSE 3 END;
             UPDATE hookbox_schema SET version = 1;",
        )
        .expect("downgrade");
    let store = PostgresStore::open(&config).expect("open upgrades");
    store
        .insert(message("new", "+911", "2001-01-01T00:00:00Z", None))
        .expect("insert");
    let page = store.feed(&FeedQuery::default()).expect("feed");
    let ids: Vec<&str> = page.items.iter().map(|i| i.message.id().as_str()).collect();
    assert_eq!(ids, ["old-c", "old-a", "old-b", "new"]);
    let seqs: Vec<u64> = page.items.iter().map(|i| i.seq.get()).collect();
    assert_eq!(seqs[..3], [1, 2, 3], "stored rows are numbered in order");
    assert!(seqs[3] > 3, "a new message follows them (at the clock)");
    assert_eq!(store.last_seq().expect("last_seq").get(), seqs[3]);
}

/// A newer build's contract step that drops a column this build writes,
/// applied while this build runs: its writes are refused as a schema
/// mismatch (503, not ready), not failed as an error, both before its
/// batch statement was prepared and after.
#[test]
fn a_contract_step_that_drops_a_column_refuses_writes() {
    let Some(url) = testkit::postgres::fresh_database("postgres contract step") else {
        return;
    };
    let config = PostgresConfig::from_lookup(&url, |_| None).expect("config");
    let store = PostgresStore::open(&config).expect("open");
    store
        .insert(message(
            "before",
            "+911",
            "2025-01-15T10:00:00Z",
            Some("hi"),
        ))
        .expect("insert");
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    admin
        .batch_execute(
            "ALTER TABLE messages DROP COLUMN delivery_id;
             UPDATE hookbox_schema SET version = 99, compatible_from = 99;",
        )
        .expect("contract step");
    for attempt in ["after", "again"] {
        let refused = store.insert(message(attempt, "+911", "2025-01-15T10:00:01Z", Some("hi")));
        assert!(
            matches!(
                refused,
                Err(domain::StoreError::SchemaMismatch { found: 99, .. })
            ),
            "{attempt}: {refused:?}"
        );
    }
    assert_eq!(
        testkit::postgres::query_i64(&url, "SELECT count(*) FROM messages"),
        1
    );
}
