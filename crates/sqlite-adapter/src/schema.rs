//! The schema, its migrations, and the pragmas every connection gets.
//!
//! Migrations are numbered by `PRAGMA user_version`: migration `n` (1-based)
//! takes the file from version `n - 1` to `n`, inside one transaction.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// The schema version this build writes and expects.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const MIGRATIONS: &[&str] = &[
    // 1: the assignment's table, plus a sort key for `ts` (fixed-width digits
    // whose byte order is chronological, so ordering and `since` compare
    // instants, not strings) and the folded text `q` searches. Counters for
    // /stats are kept current by triggers in the inserting transaction.
    r"
    CREATE TABLE messages (
        message_id  TEXT PRIMARY KEY,
        from_msisdn TEXT NOT NULL,
        to_msisdn   TEXT NOT NULL,
        ts          TEXT NOT NULL,
        text        TEXT,
        created_at  TEXT NOT NULL,
        ts_key      TEXT NOT NULL,
        text_folded TEXT
    );
    CREATE INDEX messages_by_ts ON messages (ts_key, message_id);
    CREATE INDEX messages_by_sender ON messages (from_msisdn, ts_key, message_id);

    CREATE TABLE senders (
        from_msisdn   TEXT PRIMARY KEY,
        message_count INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE totals (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        messages INTEGER NOT NULL,
        senders  INTEGER NOT NULL
    );
    INSERT INTO totals (id, messages, senders) VALUES (1, 0, 0);

    -- Messages per UTC day of `ts`: `since` counts and deep offsets sum
    -- whole days here and count rows only within one day.
    CREATE TABLE day_counts (
        day           TEXT PRIMARY KEY,
        message_count INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TRIGGER messages_count AFTER INSERT ON messages BEGIN
        INSERT OR IGNORE INTO senders (from_msisdn, message_count) VALUES (NEW.from_msisdn, 0);
        UPDATE senders SET message_count = message_count + 1 WHERE from_msisdn = NEW.from_msisdn;
        INSERT OR IGNORE INTO day_counts (day, message_count) VALUES (substr(NEW.ts_key, 1, 8), 0);
        UPDATE day_counts SET message_count = message_count + 1 WHERE day = substr(NEW.ts_key, 1, 8);
        UPDATE totals SET messages = messages + 1 WHERE id = 1;
    END;
    CREATE TRIGGER senders_count AFTER INSERT ON senders BEGIN
        UPDATE totals SET senders = senders + 1 WHERE id = 1;
    END;
    ",
    // 2: the substring index for `q`: FTS5 with the trigram tokenizer over
    // the folded text, external content (no second copy of the text). The
    // writer fills it behind the inserts (see `writer::index_step`) up to the
    // rowid kept in settings.search_indexed_upto; queries scan past that.
    r"
    CREATE TABLE settings (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE VIRTUAL TABLE messages_search USING fts5(
        text_folded,
        content = 'messages',
        content_rowid = 'rowid',
        tokenize = 'trigram case_sensitive 1'
    );
    ",
    // 3: the feed. A message's feed number is its rowid, which the single
    // writer hands out in commit order (see `writer::INSERT`); rows already
    // stored keep theirs, given in the same order. This index walks one
    // sender's messages by that number (SQLite appends the rowid to it).
    r"
    CREATE INDEX messages_feed_by_sender ON messages (from_msisdn);
    ",
    // 4: the counters are kept by the writer, once per batch (see
    // `writer::count_batch`), instead of five trigger statements per row.
    r"
    DROP TRIGGER IF EXISTS messages_count;
    DROP TRIGGER IF EXISTS senders_count;
    ",
    // 5: the full record. Each message keeps how it arrived (`source`,
    // NULL for rows stored before: unknown), its kind (`text` for those),
    // WhatsApp's media, name, reply and business number, Standard
    // Webhooks' delivery id, and the raw JSON (NULL with KEEP_RAW=off).
    // Status reports of sent messages are kept one row per state (the
    // first report wins, so replays change nothing; the status is folded
    // on read), and every other change as an event, numbered by its rowid
    // (one writer: commit order) and unique by the digest of its bytes.
    // Record times are microseconds since the epoch.
    r"
    ALTER TABLE messages ADD COLUMN source TEXT;
    ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
    ALTER TABLE messages ADD COLUMN sender_name TEXT;
    ALTER TABLE messages ADD COLUMN media_id TEXT;
    ALTER TABLE messages ADD COLUMN media_mime_type TEXT;
    ALTER TABLE messages ADD COLUMN media_sha256 TEXT;
    ALTER TABLE messages ADD COLUMN media_filename TEXT;
    ALTER TABLE messages ADD COLUMN media_voice INTEGER;
    ALTER TABLE messages ADD COLUMN reply_to TEXT;
    ALTER TABLE messages ADD COLUMN business_number_id TEXT;
    ALTER TABLE messages ADD COLUMN delivery_id TEXT;
    ALTER TABLE messages ADD COLUMN raw BLOB;

    CREATE TABLE statuses (
        message_id  TEXT NOT NULL,
        state       TEXT NOT NULL,
        ts          TEXT NOT NULL,
        recipient   TEXT,
        errors      BLOB,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (message_id, state)
    ) WITHOUT ROWID;
    CREATE INDEX statuses_by_received ON statuses (received_at);

    CREATE TABLE events (
        seq         INTEGER PRIMARY KEY,
        field       TEXT NOT NULL,
        digest      BLOB NOT NULL UNIQUE,
        raw         BLOB NOT NULL,
        received_at INTEGER NOT NULL
    );
    CREATE INDEX events_by_field ON events (field, seq);
    ",
    // 6: conversations. Each sender's row keeps the feed number of their
    // latest message (kept by the writer with the counts), and this index
    // reads senders by it, newest first, at any number of messages.
    r"
    ALTER TABLE senders ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
    UPDATE senders SET last_seq = COALESCE(
        (SELECT MAX(rowid) FROM messages WHERE messages.from_msisdn = senders.from_msisdn), 0);
    CREATE INDEX senders_by_last ON senders (last_seq);
    ",
    // 7: forwarding. Subscriptions with their position, head failure and
    // lease; their dead letters; and each forwarding worker's heartbeat,
    // which sets every worker's share.
    r"
    CREATE TABLE IF NOT EXISTS subscriptions (
        id              TEXT PRIMARY KEY,
        url             TEXT NOT NULL,
        secret          TEXT NOT NULL,
        filter_from     TEXT,
        filter_q        TEXT,
        filter_kinds    TEXT NOT NULL DEFAULT '',
        state           TEXT NOT NULL,
        paused_reason   TEXT,
        position        INTEGER NOT NULL,
        generation      INTEGER NOT NULL DEFAULT 1,
        head_seq        INTEGER,
        head_message_id TEXT,
        head_attempts   INTEGER,
        head_error      TEXT,
        head_next       INTEGER,
        delivered       INTEGER NOT NULL DEFAULT 0,
        created_at      INTEGER NOT NULL,
        lease_owner     TEXT,
        lease_until     INTEGER
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS dead_letters (
        subscription_id TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        message_id      TEXT NOT NULL,
        attempts        INTEGER NOT NULL,
        last_error      TEXT NOT NULL,
        failed_at       INTEGER NOT NULL,
        retry_requested INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (subscription_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS forwarders (
        owner      TEXT PRIMARY KEY,
        seen_until INTEGER NOT NULL
    ) WITHOUT ROWID;
    ",
];

/// The search index's table, as migration 2 first made it.
const CREATE_SEARCH_TABLE: &str = "CREATE VIRTUAL TABLE IF NOT EXISTS messages_search USING fts5(
        text_folded,
        content = 'messages',
        content_rowid = 'rowid',
        tokenize = 'trigram case_sensitive 1'
    )";

/// FTS5 merges a level's segments once it holds `automerge` of them
/// (default 4). The writer adds a segment every index step, so under load
/// that merging was a fifth of the writer's time; merging at 8 rewrites each
/// entry over fewer levels (log8 against log4 of the segments) for up to
/// twice the segments a search reads. Kept in the table's own config (an
/// older build reads it too), and set at every open so files made before
/// it get it.
const SEARCH_AUTOMERGE: &str =
    "INSERT INTO messages_search (messages_search, rank) VALUES ('automerge', 8)";

/// Brings the search index in line with `enabled`. Switched on from off
/// (or never built), the table is made empty and its high-water mark reset,
/// so the writer rebuilds it behind the inserts. Switched off, the table is
/// dropped: an operator who turns it off to save disk gets no index at all
/// (its pages go to the free list, reused by later inserts).
pub(crate) fn sync_search_index(conn: &mut Connection, enabled: bool) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let state: Option<String> = tx
        .query_row(
            "SELECT value FROM settings WHERE name = 'search_index'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let want = if enabled { "on" } else { "off" };
    if enabled {
        if state.as_deref() != Some(want) {
            tx.execute_batch(CREATE_SEARCH_TABLE)?;
            tx.execute_batch(
                "INSERT INTO messages_search (messages_search) VALUES ('delete-all');
                 INSERT INTO settings (name, value) VALUES ('search_indexed_upto', '0')
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value;",
            )?;
        }
        tx.execute(SEARCH_AUTOMERGE, [])?;
    } else {
        // Every open with the index off: migration 2 makes the table on a
        // new file, and this drops it again.
        tx.execute_batch(
            "DROP TABLE IF EXISTS messages_search;
             INSERT INTO settings (name, value) VALUES ('search_indexed_upto', '0')
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value;",
        )?;
    }
    if state.as_deref() != Some(want) {
        tx.execute(
            "INSERT INTO settings (name, value) VALUES ('search_index', ?1)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [want],
        )?;
    }
    tx.commit()
}

/// The SQL fragment for "rows the index has not reached yet".
pub(crate) const SEARCH_MARK: &str =
    "(SELECT CAST(value AS INTEGER) FROM settings WHERE name = 'search_indexed_upto')";

/// The largest feed number ever given: the largest rowid, or the kept
/// high-water mark if rows at the end were deleted.
pub(crate) const LAST_SEQ: &str = "SELECT MAX(
        COALESCE((SELECT MAX(rowid) FROM messages), 0),
        COALESCE((SELECT CAST(value AS INTEGER) FROM settings WHERE name = 'seq_high'), 0))";

/// Pragmas for every connection. WAL lets readers run beside the one
/// writer; the busy timeout turns brief lock contention (checkpoints, a
/// second process) into a wait instead of a "database is locked" error.
pub(crate) fn configure(conn: &Connection, busy_timeout: Duration) -> rusqlite::Result<()> {
    conn.busy_timeout(busy_timeout)?;
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;",
    )?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(())
}

/// Sets the page size of a file that has no pages yet (before WAL mode,
/// which fixes it); a file that exists keeps the page size it was made with.
pub(crate) fn choose_page_size(conn: &Connection, page_size: u32) -> rusqlite::Result<()> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    if pages == 0 {
        conn.execute_batch(&format!("PRAGMA page_size = {page_size};"))?;
    }
    Ok(())
}

/// Pragmas for the writer: WAL (persistent in the file) and full fsync on
/// commit, so an acknowledged message survives power loss, not just a crash.
/// Checkpoints are left to the checkpointer thread (see `store.rs`), off the
/// path of inserts.
pub(crate) fn configure_writer(conn: &Connection) -> rusqlite::Result<()> {
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(format!("cannot switch to WAL (journal_mode is {mode})")),
        ));
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA wal_autocheckpoint = 0;
         PRAGMA journal_size_limit = 67108864;",
    )
}

/// Purged pages go back to the file system (see `writer::purge`), which
/// needs `auto_vacuum = INCREMENTAL`. A file made without it (every file
/// before retention) is rebuilt once with `VACUUM`: seconds for a large
/// file, at the first start of this build only.
pub(crate) fn ensure_incremental_vacuum(conn: &Connection) -> rusqlite::Result<()> {
    let mode: i64 = conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?;
    if mode != 2 {
        conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")?;
    }
    Ok(())
}

/// Readers can never write, whatever a bug asks of them.
pub(crate) fn configure_reader(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("PRAGMA query_only = ON;")?;
    // `rarray(?)`: a set of rowids bound as one parameter (see `search.rs`).
    rusqlite::vtab::array::load_module(conn)
}

/// The file's schema version.
pub(crate) fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Outcome of [`migrate`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Migration {
    /// Brought from `from` to [`SCHEMA_VERSION`] (equal when nothing to do).
    Done { from: i64 },
    /// The file is newer than this build.
    TooNew { found: i64 },
}

/// Applies every migration the file lacks; each one commits with its version.
pub(crate) fn migrate(conn: &mut Connection) -> Result<Migration, (i64, rusqlite::Error)> {
    let from = version(conn).map_err(|e| (0, e))?;
    if from > SCHEMA_VERSION {
        return Ok(Migration::TooNew { found: from });
    }
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(from).unwrap_or(0))
    {
        let target = i64::try_from(index + 1).unwrap_or(i64::MAX);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| (target, e))?;
        tx.execute_batch(sql).map_err(|e| (target, e))?;
        tx.pragma_update(None, "user_version", target)
            .map_err(|e| (target, e))?;
        tx.commit().map_err(|e| (target, e))?;
    }
    Ok(Migration::Done { from })
}
