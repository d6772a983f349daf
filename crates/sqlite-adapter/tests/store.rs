//! The adapter against real temporary SQLite files: what is particular to
//! SQLite (files, migrations, the search index and its plans, the write
//! queue). The port's rules are checked by the contract suite (`contract.rs`).

use std::sync::Arc;

use domain::{
    InsertOutcome, Limit, Message, MessageQuery, MessageStore, Offset, SearchText, Timestamp,
};
use sqlite_adapter::{OpenError, SCHEMA_VERSION, SqliteConfig, SqliteStore};

struct TestDb {
    dir: tempfile::TempDir,
    store: SqliteStore,
}

fn open() -> TestDb {
    open_with(true)
}

fn open_with(search_index: bool) -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = SqliteConfig {
        search_index,
        ..SqliteConfig::new(dir.path().join("nested/dir/test.db"))
    };
    let store = SqliteStore::open(&config).expect("open store");
    TestDb { dir, store }
}

/// The contract suite's test-message builder (`to` fixed).
use domain::testing::contract::message as msg;

/// The contract suite's page reader: ids in order and the total.
fn ids(store: &SqliteStore, query: &MessageQuery) -> (Vec<String>, u64) {
    domain::testing::contract::seeds::ids_and_total(store, query)
}

fn query() -> MessageQuery {
    MessageQuery::default()
}

/// The contract suite's data set (`seeds::SEED`, eight rows).
fn seed(store: &SqliteStore) {
    domain::testing::contract::seeds::seed(store);
}

#[test]
fn reopening_an_existing_file_keeps_data_and_version() {
    let db = open();
    seed(&db.store);
    let path = db.store.path().to_path_buf();
    drop(db.store);
    let store = SqliteStore::open(&SqliteConfig::new(&path)).expect("reopen");
    assert_eq!(ids(&store, &query()).1, 8);
    assert_eq!(store.stats().expect("stats").senders_count, 4);
    store.check_ready().expect("ready");
    let version: i64 = rusqlite::Connection::open(&path)
        .and_then(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))
        .expect("version");
    assert_eq!(version, SCHEMA_VERSION);
    drop(db.dir);
}

#[test]
fn refuses_a_file_from_a_newer_build() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("future.db");
    rusqlite::Connection::open(&path)
        .and_then(|c| c.pragma_update(None, "user_version", SCHEMA_VERSION + 1))
        .expect("prepare");
    match SqliteStore::open(&SqliteConfig::new(&path)) {
        Err(OpenError::SchemaTooNew {
            found, expected, ..
        }) => {
            assert_eq!((found, expected), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn refuses_a_path_it_cannot_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A folder where the file should be.
    let err =
        SqliteStore::open(&SqliteConfig::new(dir.path())).expect_err("a folder is not a database");
    assert!(matches!(err, OpenError::Open { .. }), "{err:?}");
}

#[test]
fn insert_many_reports_each_outcome_in_order() {
    let db = open();
    db.store
        .insert(msg("old", "+911", "2025-01-15T10:00:00Z", None))
        .expect("insert");
    let batch = vec![
        msg("n1", "+911", "2025-01-15T10:00:00Z", None),
        msg("old", "+922", "2025-01-15T10:00:00Z", None),
        msg("n2", "+922", "2025-01-15T10:00:00Z", None),
        msg("n1", "+933", "2025-01-15T10:00:00Z", None),
    ];
    let outcomes = db.store.insert_many(batch).expect("insert_many");
    use InsertOutcome::{Created, Duplicate};
    assert_eq!(outcomes, vec![Created, Duplicate, Created, Duplicate]);
    assert_eq!(db.store.insert_many(Vec::new()).expect("empty"), vec![]);
    let stats = db.store.stats().expect("stats");
    assert_eq!((stats.total_messages, stats.senders_count), (3, 2));
}

#[test]
fn search_index_can_be_switched_off_and_rebuilt() {
    let db = open_with(false);
    seed(&db.store);
    let path = db.store.path().to_path_buf();
    drop(db.store);
    let q = MessageQuery {
        q: SearchText::new("hello").ok(),
        ..query()
    };
    // On: the index is rebuilt from the stored texts, then kept current.
    let store = SqliteStore::open(&SqliteConfig::new(&path)).expect("reopen with index");
    assert_eq!(
        ids(&store, &q),
        (vec!["m1".into(), "m8".into(), "m3".into()], 3)
    );
    store
        .insert(msg(
            "m9",
            "+911",
            "2025-02-01T00:00:00Z",
            Some("hello later"),
        ))
        .expect("insert");
    assert_eq!(ids(&store, &q).1, 4);
    drop(store);
    // Off again: answers stay the same, by scanning.
    let store = SqliteStore::open(&SqliteConfig {
        search_index: false,
        ..SqliteConfig::new(&path)
    })
    .expect("reopen without index");
    assert_eq!(ids(&store, &q).1, 4);
    drop(db.dir);
}

/// The search index merges its segments at 8 a level (FTS5's default is
/// 4), on new files and on files made before the setting.
#[test]
fn the_search_index_merges_at_eight_segments_a_level() {
    let automerge = |path: &std::path::Path| -> Option<i64> {
        rusqlite::Connection::open(path)
            .and_then(|c| {
                c.query_row(
                    "SELECT v FROM messages_search_config WHERE k = 'automerge'",
                    [],
                    |r| r.get(0),
                )
            })
            .ok()
    };
    let db = open();
    let path = db.store.path().to_path_buf();
    drop(db.store);
    assert_eq!(automerge(&path), Some(8));
    rusqlite::Connection::open(&path)
        .and_then(|c| {
            c.execute(
                "DELETE FROM messages_search_config WHERE k = 'automerge'",
                [],
            )
        })
        .expect("forget the setting");
    let store = SqliteStore::open(&SqliteConfig::new(&path)).expect("reopen");
    drop(store);
    assert_eq!(automerge(&path), Some(8));
    drop(db.dir);
}

#[test]
fn every_offset_matches_the_sorted_order_with_and_without_since() {
    let db = open();
    let mut all: Vec<(String, String)> = Vec::new();
    for i in 0..40_u32 {
        let ts = format!(
            "2025-01-{:02}T{:02}:00:00.{}Z",
            10 + i % 5,
            (i * 7) % 24,
            i % 3
        );
        let id = format!("o{i:02}");
        db.store
            .insert(msg(&id, "+911", &ts, None))
            .expect("insert");
        all.push((Timestamp::parse(&ts).expect("ts").sort_key(), id));
    }
    all.sort();
    let since = Timestamp::parse("2025-01-12T05:00:00Z").expect("ts");
    let since_key = since.sort_key();
    for with_since in [false, true] {
        let expected: Vec<String> = all
            .iter()
            .filter(|(k, _)| !with_since || *k >= since_key)
            .map(|(_, id)| id.clone())
            .collect();
        for offset in 0..=expected.len() + 2 {
            let query = MessageQuery {
                since: with_since.then(|| since.clone()),
                limit: Limit::new(3).expect("limit"),
                offset: Offset::new(i64::try_from(offset).expect("small")).expect("offset"),
                ..query()
            };
            let want: Vec<String> = expected.iter().skip(offset).take(3).cloned().collect();
            assert_eq!(
                ids(&db.store, &query),
                (want, expected.len() as u64),
                "since {with_since} offset {offset}"
            );
        }
    }
}

#[test]
fn a_full_write_queue_refuses_at_once_and_stores_nothing_of_the_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("q.db");
    let store = Arc::new(
        SqliteStore::open(&SqliteConfig {
            write_queue: 2,
            search_index: false,
            ..SqliteConfig::new(&path)
        })
        .expect("open"),
    );
    // Another process holds the write lock: the writer stalls on its first batch.
    let blocker = rusqlite::Connection::open(&path).expect("open");
    blocker.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let first = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || store.insert(msg("first", "+1", "2025-01-15T10:00:00Z", None)))
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    let waiting: Vec<_> = (0..2)
        .map(|i| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                store.insert(msg(
                    &format!("queued{i}"),
                    "+1",
                    "2025-01-15T10:00:00Z",
                    None,
                ))
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(200));
    for i in 0..5 {
        let started = std::time::Instant::now();
        let refused = store.insert(msg(
            &format!("refused{i}"),
            "+1",
            "2025-01-15T10:00:00Z",
            None,
        ));
        assert!(
            matches!(refused, Err(domain::StoreError::Overloaded)),
            "{refused:?}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_millis(100),
            "refusal must not wait"
        );
    }
    blocker.execute_batch("COMMIT").expect("unlock");
    assert_eq!(
        first.join().expect("thread").expect("stored"),
        InsertOutcome::Created
    );
    for w in waiting {
        assert_eq!(
            w.join().expect("thread").expect("stored"),
            InsertOutcome::Created
        );
    }
    let (stored, total) = ids(&store, &query());
    assert_eq!(total, 3);
    assert!(stored.iter().all(|id| !id.starts_with("refused")));
}

/// The indexed search picks a plan per request (walk an ordering index and
/// test membership, or look every match up and sort) from how many rows
/// match; each must give exactly what a plain filter-and-sort gives, for
/// common and rare needles, with every other filter, offset and cursor.
#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one generated table of queries, each run through every search plan"
)]
fn search_plans_agree_with_a_plain_filter_and_sort() {
    let words = ["alpha", "beta", "gamma", "delta", "omega"];
    let senders = ["+911", "+922", "+933"];
    let mut rows: Vec<(String, String, String, String)> = Vec::new(); // key, id, from, text
    let db = open();
    let mut batch = Vec::new();
    for i in 0..600_u32 {
        let from =
            senders[usize::try_from(i % 7).expect("small") % 3 / 2 + usize::from(i % 11 == 0)];
        // "alpha" in about half the rows, "omega" only in every 97th.
        let mut text = vec![words[usize::try_from(i % 4).expect("small")]];
        if i % 2 == 0 {
            text.push("alpha");
        }
        if i % 97 == 5 {
            text.push("omega");
        }
        let text = text.join(" ");
        let ts = format!(
            "2025-{:02}-{:02}T{:02}:00:00Z",
            1 + i % 12,
            1 + (i * 13) % 28,
            (i * 5) % 24
        );
        let id = format!("s{i:03}");
        rows.push((
            Timestamp::parse(&ts).expect("ts").sort_key(),
            id.clone(),
            from.to_owned(),
            text.clone(),
        ));
        batch.push(msg(&id, from, &ts, Some(&text)));
    }
    db.store.insert_many(batch).expect("insert");
    assert!(
        db.store
            .wait_for_search_index(std::time::Duration::from_secs(10))
            .expect("index")
    );
    rows.sort();
    let since = Timestamp::parse("2025-06-15T00:00:00Z").expect("ts");
    for needle in ["alpha", "omega", "mma", "zzz"] {
        for from in [None, Some("+911"), Some("+933")] {
            for with_since in [false, true] {
                let expected: Vec<&(String, String, String, String)> = rows
                    .iter()
                    .filter(|(key, _, f, text)| {
                        text.contains(needle)
                            && from.is_none_or(|from| f == from)
                            && (!with_since || *key >= since.sort_key())
                    })
                    .collect();
                for (offset, limit) in [(0, 50), (0, 1), (3, 5), (40, 7), (290, 20), (599, 2)] {
                    let query = MessageQuery {
                        from: from.map(str::to_owned),
                        since: with_since.then(|| since.clone()),
                        q: Some(SearchText::new(needle).expect("q")),
                        limit: Limit::new(limit).expect("limit"),
                        offset: Offset::new(offset).expect("offset"),
                        ..query()
                    };
                    let want: Vec<String> = expected
                        .iter()
                        .skip(usize::try_from(offset).expect("small"))
                        .take(usize::try_from(limit).expect("small"))
                        .map(|r| r.1.clone())
                        .collect();
                    let what = format!(
                        "q={needle} from={from:?} since={with_since} offset={offset} limit={limit}"
                    );
                    assert_eq!(
                        ids(&db.store, &query),
                        (want, expected.len() as u64),
                        "{what}"
                    );
                }
                // A keyset walk visits every match once, in order.
                let mut walked = Vec::new();
                let mut after = None;
                loop {
                    let page = db
                        .store
                        .list(&MessageQuery {
                            from: from.map(str::to_owned),
                            since: with_since.then(|| since.clone()),
                            q: Some(SearchText::new(needle).expect("q")),
                            limit: Limit::new(37).expect("limit"),
                            after,
                            ..query()
                        })
                        .expect("list");
                    // `total` ignores the cursor.
                    assert_eq!(
                        page.total,
                        expected.len() as u64,
                        "walk total q={needle} from={from:?} since={with_since}"
                    );
                    walked.extend(page.messages.iter().map(|m| m.id().as_str().to_owned()));
                    match page.next {
                        Some(next) => after = Some(next),
                        None => break,
                    }
                }
                let want: Vec<String> = expected.iter().map(|r| r.1.clone()).collect();
                assert_eq!(
                    walked, want,
                    "walk q={needle} from={from:?} since={with_since}"
                );
            }
        }
    }
}

/// Matches are reused between requests; rows stored since (indexed yet or
/// not) must still be found, in order, with an exact total.
#[test]
fn repeated_searches_see_rows_stored_since() {
    let db = open();
    let q = |needle: &str, limit: i64| MessageQuery {
        q: Some(SearchText::new(needle).expect("q")),
        limit: Limit::new(limit).expect("limit"),
        ..query()
    };
    let mut expected = Vec::new();
    for round in 0..4_u32 {
        let batch: Vec<Message> = (0..50_u32)
            .map(|i| {
                let n = round * 50 + i;
                let text = if n % 3 == 0 { "needle here" } else { "hay" };
                msg(
                    &format!("r{n:03}"),
                    "+911",
                    &format!("2025-03-{:02}T00:00:{:02}Z", 1 + (n * 7) % 28, n % 60),
                    Some(text),
                )
            })
            .collect();
        for m in &batch {
            if m.text().is_some_and(|t| t.as_str().contains("needle")) {
                expected.push((m.ts().sort_key(), m.id().as_str().to_owned()));
            }
        }
        db.store.insert_many(batch).expect("insert");
        expected.sort();
        let want: Vec<String> = expected.iter().map(|(_, id)| id.clone()).collect();
        // Straight after the insert (the index may lag), then once indexed.
        assert_eq!(
            ids(&db.store, &q("needle", 100)),
            (want.clone(), want.len() as u64),
            "round {round}"
        );
        assert!(
            db.store
                .wait_for_search_index(std::time::Duration::from_secs(10))
                .expect("index")
        );
        assert_eq!(
            ids(&db.store, &q("needle", 100)),
            (want.clone(), want.len() as u64),
            "round {round} indexed"
        );
        assert_eq!(
            ids(&db.store, &q("eedl", 5)).1,
            want.len() as u64,
            "round {round} other needle"
        );
    }
}

/// What migration 6 added, taken away again: a file as version 5 left it.
const UNDO_VERSION_SIX: &str = "
    DROP INDEX senders_by_last;
    ALTER TABLE senders DROP COLUMN last_seq;
    PRAGMA user_version = 5;";

/// A file from the build before conversations (schema version 5) opens:
/// each sender's latest message is found once, by migration 6.
#[test]
fn a_version_five_file_upgrades_to_conversations() {
    let db = open();
    for (id, from) in [("a", "+911"), ("b", "+922"), ("c", "+911")] {
        db.store
            .insert(msg(id, from, "2025-01-15T10:00:00Z", None))
            .expect("insert");
    }
    let path = db.store.path().to_path_buf();
    drop(db.store);
    let conn = rusqlite::Connection::open(&path).expect("open file");
    conn.execute_batch(UNDO_VERSION_SIX).expect("downgrade");
    drop(conn);
    let store = SqliteStore::open(&SqliteConfig::new(&path)).expect("reopen upgrades");
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

/// What migrations 6 and 5 added, taken away again: a file as version 4
/// left it.
const UNDO_VERSION_FIVE: &str = "
    DROP INDEX senders_by_last;
    ALTER TABLE senders DROP COLUMN last_seq;
    ALTER TABLE messages DROP COLUMN source;
    ALTER TABLE messages DROP COLUMN kind;
    ALTER TABLE messages DROP COLUMN sender_name;
    ALTER TABLE messages DROP COLUMN media_id;
    ALTER TABLE messages DROP COLUMN media_mime_type;
    ALTER TABLE messages DROP COLUMN media_sha256;
    ALTER TABLE messages DROP COLUMN media_filename;
    ALTER TABLE messages DROP COLUMN media_voice;
    ALTER TABLE messages DROP COLUMN reply_to;
    ALTER TABLE messages DROP COLUMN business_number_id;
    ALTER TABLE messages DROP COLUMN delivery_id;
    ALTER TABLE messages DROP COLUMN raw;
    DROP TABLE statuses;
    DROP TABLE events;
    PRAGMA user_version = 4;";

/// A file from the build before the full record (schema version 4) opens:
/// its rows get kind `text`, no source and no raw bytes; new rows keep
/// everything.
#[test]
fn a_version_four_file_upgrades_to_full_records() {
    let db = open();
    db.store
        .insert(msg("old", "+911", "2025-01-15T10:00:00Z", Some("hi")))
        .expect("insert");
    let path = db.store.path().to_path_buf();
    drop(db.store);
    let conn = rusqlite::Connection::open(&path).expect("open file");
    conn.execute_batch(UNDO_VERSION_FIVE).expect("downgrade");
    drop(conn);
    let store = SqliteStore::open(&SqliteConfig::new(&path)).expect("reopen upgrades");
    let voice = domain::testing::contract::voice_note("new");
    store.insert(voice.clone()).expect("insert");
    let page = store.feed(&domain::FeedQuery::default()).expect("feed");
    let old = page.items[0].message.envelope();
    assert_eq!(
        (old.source(), old.kind().as_str(), old.raw()),
        (None, "text", None)
    );
    assert_eq!(page.items[1].message, voice);
    let id = |s: &str| domain::MessageId::new(s).expect("id");
    assert_eq!(
        store.raw(&id("old")).expect("raw"),
        domain::RawLookup::NotKept
    );
    assert_eq!(
        store.raw(&id("new")).expect("raw"),
        domain::RawLookup::Bytes(voice.envelope().raw().expect("raw").to_vec())
    );
    drop(db.dir);
}

/// A file from the build before the feed (schema version 2) opens, gets the
/// feed's index, and keeps its rows' order of storage as their feed order
/// (the rowid); new rows follow.
#[test]
fn a_version_two_file_upgrades_to_the_feed() {
    let db = open();
    for id in ["b", "a", "c"] {
        db.store
            .insert(msg(id, "+911", "2025-01-15T10:00:00Z", None))
            .expect("insert");
    }
    let path = db.store.path().to_path_buf();
    drop(db.store);
    let conn = rusqlite::Connection::open(&path).expect("open file");
    conn.execute_batch(UNDO_VERSION_FIVE).expect("downgrade");
    conn.execute_batch("DROP INDEX messages_feed_by_sender; PRAGMA user_version = 2;")
        .expect("downgrade");
    drop(conn);
    let store = SqliteStore::open(&SqliteConfig::new(&path)).expect("reopen upgrades");
    store
        .insert(msg("new", "+911", "2001-01-01T00:00:00Z", None))
        .expect("insert");
    let page = store.feed(&domain::FeedQuery::default()).expect("feed");
    let ids: Vec<&str> = page.items.iter().map(|i| i.message.id().as_str()).collect();
    assert_eq!(ids, ["b", "a", "c", "new"]);
    let conn = rusqlite::Connection::open(&path).expect("open file");
    let (version, index): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT user_version FROM pragma_user_version),
                    (SELECT count(*) FROM sqlite_master WHERE name = 'messages_feed_by_sender')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("inspect");
    assert_eq!((version, index), (SCHEMA_VERSION, 1));
    drop(db.dir);
}

/// A purge takes indexed rows out of the search index too (FTS5's own
/// integrity check agrees), and gives the freed pages back to the file
/// (`auto_vacuum = INCREMENTAL`, set on every file at open).
#[test]
fn purge_keeps_the_search_index_whole_and_frees_pages() {
    let db = open();
    let text = "needle in a haystack ".repeat(80);
    let old: Vec<Message> = (0..600)
        .map(|i| {
            msg(
                &format!("o{i}"),
                "+911",
                "2025-01-15T10:00:00Z",
                Some(&text),
            )
        })
        .collect();
    db.store.insert_all(old).expect("insert");
    assert!(
        db.store
            .wait_for_search_index(std::time::Duration::from_secs(10))
            .expect("index")
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    let cutoff = time::OffsetDateTime::now_utc();
    db.store
        .insert(msg(
            "young",
            "+922",
            "2025-01-15T11:00:00Z",
            Some("a NEEDLE too"),
        ))
        .expect("insert");
    let mut purged = 0;
    loop {
        let n = db.store.purge(cutoff, 250).expect("purge");
        purged += n;
        if n < 250 {
            break;
        }
    }
    assert_eq!(purged, 600);
    let found = ids(
        &db.store,
        &MessageQuery {
            q: SearchText::new("needle").ok(),
            ..query()
        },
    );
    assert_eq!(found, (vec!["young".to_owned()], 1));
    let conn = rusqlite::Connection::open(db.store.path()).expect("open file");
    conn.execute_batch("INSERT INTO messages_search (messages_search) VALUES ('integrity-check')")
        .expect("the search index matches the table");
    let (mode, free, pages): (i64, i64, i64) = conn
        .query_row(
            "SELECT (SELECT auto_vacuum FROM pragma_auto_vacuum),
                    (SELECT freelist_count FROM pragma_freelist_count),
                    (SELECT page_count FROM pragma_page_count)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("pragmas");
    assert_eq!(mode, 2, "incremental auto-vacuum");
    assert!(
        free * 10 < pages,
        "freed pages went back: {free} free of {pages}"
    );
}

/// A version-three file still has the per-row counter triggers; migration 4
/// drops them, and the writer's per-batch counts carry on from the stored
/// counters exactly (no message counted twice or missed).
#[test]
fn a_version_three_file_moves_its_counters_to_the_writer() {
    let db = open();
    for (id, from) in [("a", "+911"), ("b", "+911"), ("c", "+922")] {
        db.store
            .insert(msg(id, from, "2025-01-15T10:00:00Z", None))
            .expect("insert");
    }
    let path = db.store.path().to_path_buf();
    drop(db.store);
    let conn = rusqlite::Connection::open(&path).expect("open file");
    // The triggers as migration 1 made them, and the version before 4.
    conn.execute_batch(UNDO_VERSION_FIVE).expect("downgrade");
    conn.execute_batch(
        "CREATE TRIGGER messages_count AFTER INSERT ON messages BEGIN
            INSERT OR IGNORE INTO senders (from_msisdn, message_count) VALUES (NEW.from_msisdn, 0);
            UPDATE senders SET message_count = message_count + 1 WHERE from_msisdn = NEW.from_msisdn;
            INSERT OR IGNORE INTO day_counts (day, message_count) VALUES (substr(NEW.ts_key, 1, 8), 0);
            UPDATE day_counts SET message_count = message_count + 1 WHERE day = substr(NEW.ts_key, 1, 8);
            UPDATE totals SET messages = messages + 1 WHERE id = 1;
         END;
         CREATE TRIGGER senders_count AFTER INSERT ON senders BEGIN
            UPDATE totals SET senders = senders + 1 WHERE id = 1;
         END;
         PRAGMA user_version = 3;",
    )
    .expect("downgrade");
    drop(conn);
    let store = SqliteStore::open(&SqliteConfig::new(&path)).expect("reopen upgrades");
    store
        .insert_all(vec![
            msg("d", "+922", "2025-01-16T10:00:00Z", None),
            msg("e", "+933", "2025-01-16T11:00:00Z", None),
            msg("a", "+944", "2025-01-16T11:00:00Z", None),
        ])
        .expect("insert");
    let stats = store.stats().expect("stats");
    assert_eq!((stats.total_messages, stats.senders_count), (5, 3));
    let counts: Vec<(String, u64)> = stats
        .top_senders
        .iter()
        .map(|s| (s.from.as_str().to_owned(), s.count))
        .collect();
    assert_eq!(
        counts,
        [
            ("+911".to_owned(), 2),
            ("+922".to_owned(), 2),
            ("+933".to_owned(), 1)
        ]
    );
    let day = |d| time::Date::from_calendar_date(2025, time::Month::January, d).expect("day");
    let days: Vec<u64> = store
        .daily_counts(day(15), day(16))
        .expect("daily")
        .iter()
        .map(|c| c.count)
        .collect();
    assert_eq!(days, [3, 2]);
    let conn = rusqlite::Connection::open(&path).expect("open file");
    let triggers: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(triggers, 0);
    drop(db.dir);
}

/// Search matches kept from before an erasure are not reused after it:
/// the index covers every row, the same needle is asked before and after
/// erasing rows from the middle of the file, and totals and pages, in both
/// orders, stay exact.
#[test]
fn erasure_invalidates_kept_search_matches() {
    let db = open();
    let batch: Vec<Message> = (0..300_u32)
        .map(|n| {
            let from = if n % 5 == 0 { "+955" } else { "+911" };
            let text = if n % 2 == 0 { "needle here" } else { "hay" };
            msg(
                &format!("e{n:03}"),
                from,
                &format!("2025-04-{:02}T00:00:{:02}Z", 1 + n % 28, n % 60),
                Some(text),
            )
        })
        .collect();
    db.store.insert_many(batch.clone()).expect("insert");
    assert!(
        db.store
            .wait_for_search_index(std::time::Duration::from_secs(10))
            .expect("index")
    );
    let q = |order| MessageQuery {
        q: Some(SearchText::new("needle").expect("q")),
        limit: Limit::new(100).expect("limit"),
        order,
        ..query()
    };
    assert_eq!(ids(&db.store, &q(domain::Order::Asc)).1, 150);
    let sender = domain::Erasure::Sender(domain::Msisdn::new("+955").expect("from"));
    assert_eq!(db.store.erase(&sender, 1000).expect("erase"), 60);
    let one = domain::Erasure::Message(domain::MessageId::new("e002").expect("id"));
    assert_eq!(db.store.erase(&one, 10).expect("erase"), 1);
    let reference = domain::testing::MemoryStore::new();
    for m in batch {
        domain::MessageStore::insert(&reference, m).expect("insert");
    }
    domain::MessageStore::erase(&reference, &sender, 1000).expect("erase");
    domain::MessageStore::erase(&reference, &one, 10).expect("erase");
    for order in [domain::Order::Asc, domain::Order::Desc] {
        let want = domain::testing::contract::seeds::ids_and_total(&reference, &q(order));
        assert_eq!(want.1, 150 - 30 - 1, "even rows of +955 and e002 are gone");
        assert_eq!(ids(&db.store, &q(order)), want, "{order:?}");
        assert_eq!(
            ids(
                &db.store,
                &MessageQuery {
                    from: Some("+911".into()),
                    ..q(order)
                }
            ),
            domain::testing::contract::seeds::ids_and_total(
                &reference,
                &MessageQuery {
                    from: Some("+911".into()),
                    ..q(order)
                }
            )
        );
    }
}
