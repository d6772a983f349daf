//! The schema, versioned in `hookbox_schema` and migrated at start-up under
//! a row lock (`SELECT … FOR UPDATE`), so that of several replicas starting
//! at once exactly one migrates and the others wait, then find it done.
//! Row locks, not advisory locks: distributed engines lack the latter.
//!
//! Portable on purpose: no triggers, B-tree indexes, ids and times made by
//! the application, `ON CONFLICT … DO NOTHING`. Text keys use the `"C"`
//! collation, so `message_id` and the sort key order byte-wise, as SQLite
//! and `domain` do.

use postgres::Client;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i32 = 6;

/// Expand/contract: the oldest build (by the schema version it writes)
/// that may still read and write a database at [`SCHEMA_VERSION`]. A
/// migration that only adds what older builds can ignore keeps it; one
/// that older builds would write wrongly raises it to the new version.
/// Version 4 keeps each sender's latest message, which version-3 builds do
/// not maintain: 4. Version 5 only adds forwarding's tables, which a
/// version-4 build never touches, and version 6 an index: still 4.
pub const COMPATIBLE_FROM: i32 = 4;

/// Counter rows per table that batches spread over (see `writer.rs`): each
/// writer picks one at start, so replicas do not queue on one hot row.
pub(crate) const COUNTER_SHARDS: i32 = 16;

/// Migration `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: messages, sorted by `ts_key` (the instant to the nanosecond, as
    // fixed-width digits: `timestamptz` keeps only microseconds), and the
    // counters `/stats`, totals and deep offsets read instead of counting.
    r#"
    CREATE TABLE messages (
        message_id  TEXT COLLATE "C" PRIMARY KEY,
        from_msisdn TEXT COLLATE "C" NOT NULL,
        to_msisdn   TEXT NOT NULL,
        ts          TEXT NOT NULL,
        ts_key      TEXT COLLATE "C" NOT NULL,
        text        TEXT,
        text_folded TEXT,
        received_at BIGINT NOT NULL
    );
    CREATE INDEX messages_by_ts ON messages (ts_key, message_id);
    CREATE INDEX messages_by_sender ON messages (from_msisdn, ts_key, message_id);
    CREATE TABLE senders (
        from_msisdn   TEXT COLLATE "C" PRIMARY KEY,
        message_count BIGINT NOT NULL
    );
    CREATE TABLE day_counts (
        day           TEXT COLLATE "C" NOT NULL,
        shard         INT NOT NULL,
        message_count BIGINT NOT NULL,
        PRIMARY KEY (day, shard)
    );
    CREATE TABLE totals (
        shard    INT PRIMARY KEY,
        messages BIGINT NOT NULL
    );
    INSERT INTO totals (shard, messages) SELECT s, 0 FROM generate_series(0, 15) AS s;
    "#,
    // 2: the feed. Each message gets `seq` from `feed_counter`, whose one
    // row a batch locks from its first insert to its commit (see
    // `writer.rs`), so numbers follow commit order across every writer
    // and replica. Rows already stored are numbered in the order they were
    // received.
    r#"
    ALTER TABLE messages ADD COLUMN seq BIGINT;
    UPDATE messages SET seq = numbered.n
      FROM (SELECT message_id, row_number() OVER (ORDER BY received_at, message_id) AS n
              FROM messages) AS numbered
     WHERE messages.message_id = numbered.message_id;
    ALTER TABLE messages ALTER COLUMN seq SET NOT NULL;
    CREATE UNIQUE INDEX messages_by_seq ON messages (seq);
    CREATE INDEX messages_feed_by_sender ON messages (from_msisdn, seq);
    CREATE TABLE feed_counter (
        id       INT PRIMARY KEY CHECK (id = 1),
        last_seq BIGINT NOT NULL
    );
    INSERT INTO feed_counter (id, last_seq) SELECT 1, COALESCE(max(seq), 0) FROM messages;
    "#,
    // 3: the full record. Each message keeps how it arrived (`source`,
    // NULL for rows stored before: unknown), its kind (`text` for those),
    // WhatsApp's media, name, reply and business number, Standard
    // Webhooks' delivery id, and the raw JSON (NULL with KEEP_RAW=off).
    // Status reports of sent messages are kept one row per state (the
    // first report wins; the status is folded on read); every other change
    // is an event, numbered from `event_counter` as messages are from
    // `feed_counter` (commit order across replicas), unique by the digest
    // of its bytes. Record times are microseconds since the epoch.
    r#"
    ALTER TABLE messages
        ADD COLUMN source TEXT,
        ADD COLUMN kind TEXT NOT NULL DEFAULT 'text',
        ADD COLUMN sender_name TEXT,
        ADD COLUMN media_id TEXT,
        ADD COLUMN media_mime_type TEXT,
        ADD COLUMN media_sha256 TEXT,
        ADD COLUMN media_filename TEXT,
        ADD COLUMN media_voice BOOLEAN,
        ADD COLUMN reply_to TEXT,
        ADD COLUMN business_number_id TEXT,
        ADD COLUMN delivery_id TEXT,
        ADD COLUMN raw BYTEA;
    CREATE TABLE statuses (
        message_id  TEXT COLLATE "C" NOT NULL,
        state       TEXT COLLATE "C" NOT NULL,
        ts          TEXT NOT NULL,
        recipient   TEXT,
        errors      BYTEA,
        received_at BIGINT NOT NULL,
        PRIMARY KEY (message_id, state)
    );
    CREATE INDEX statuses_by_received ON statuses (received_at);
    CREATE TABLE events (
        seq         BIGINT PRIMARY KEY,
        field       TEXT COLLATE "C" NOT NULL,
        digest      BYTEA NOT NULL UNIQUE,
        raw         BYTEA NOT NULL,
        received_at BIGINT NOT NULL
    );
    CREATE INDEX events_by_field ON events (field, seq);
    CREATE TABLE event_counter (
        id       INT PRIMARY KEY CHECK (id = 1),
        last_seq BIGINT NOT NULL
    );
    INSERT INTO event_counter (id, last_seq) VALUES (1, 0);
    "#,
    // 4: conversations. Each sender's row keeps the `seq` of their latest
    // message (kept by the writers with the counts), and this index reads
    // senders by it, newest first, at any number of messages.
    r#"
    ALTER TABLE senders ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;
    UPDATE senders SET last_seq = latest.seq
      FROM (SELECT from_msisdn, max(seq) AS seq FROM messages GROUP BY from_msisdn) AS latest
     WHERE senders.from_msisdn = latest.from_msisdn;
    CREATE INDEX senders_by_last ON senders (last_seq);
    "#,
    // 5: forwarding. Subscriptions with their position, head failure and
    // lease; their dead letters; each forwarding worker's heartbeat, which
    // sets every worker's share.
    r#"
    CREATE TABLE IF NOT EXISTS subscriptions (
        id              TEXT COLLATE "C" PRIMARY KEY,
        url             TEXT NOT NULL,
        secret          TEXT NOT NULL,
        filter_from     TEXT,
        filter_q        TEXT,
        filter_kinds    TEXT NOT NULL DEFAULT '',
        state           TEXT NOT NULL,
        paused_reason   TEXT,
        position        BIGINT NOT NULL,
        generation      BIGINT NOT NULL DEFAULT 1,
        head_seq        BIGINT,
        head_message_id TEXT,
        head_attempts   BIGINT,
        head_error      TEXT,
        head_next       BIGINT,
        delivered       BIGINT NOT NULL DEFAULT 0,
        created_at      BIGINT NOT NULL,
        lease_owner     TEXT,
        lease_until     BIGINT
    );
    CREATE TABLE IF NOT EXISTS dead_letters (
        subscription_id TEXT COLLATE "C" NOT NULL,
        seq             BIGINT NOT NULL,
        message_id      TEXT NOT NULL,
        attempts        BIGINT NOT NULL,
        last_error      TEXT NOT NULL,
        failed_at       BIGINT NOT NULL,
        retry_requested BOOLEAN NOT NULL DEFAULT FALSE,
        PRIMARY KEY (subscription_id, seq)
    );
    CREATE TABLE IF NOT EXISTS forwarders (
        owner      TEXT PRIMARY KEY,
        seen_until BIGINT NOT NULL
    );
    "#,
    // 6: `/stats`' top senders read from an index instead of a sort of
    // every sender per request. Updates of a sender's row were not HOT
    // already (`last_seq` is indexed), so this adds one index entry per
    // sender per batch.
    r#"
    CREATE INDEX IF NOT EXISTS senders_by_count ON senders (message_count DESC, from_msisdn);
    "#,
];

/// What [`migrate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migration {
    /// The schema is at [`SCHEMA_VERSION`]; `from` is the version found
    /// (equal to it when there was nothing to do).
    Done {
        /// The version before.
        from: i32,
    },
    /// A newer build migrated the database, and its schema keeps this
    /// build compatible (expand/contract): it serves on, migrating nothing.
    Newer {
        /// The version found.
        found: i32,
    },
    /// The database is at a newer version this build may not write.
    TooNew {
        /// The version found.
        found: i32,
    },
}

/// Applies the pending migrations in one transaction holding the version
/// row's lock.
///
/// # Errors
/// The version being applied and the client's error.
pub(crate) fn migrate(client: &mut Client) -> Result<Migration, (i32, postgres::Error)> {
    // The version table itself: replicas racing to create it may see a
    // duplicate-type, duplicate-table or concurrent-update error from the
    // catalog; the statement is idempotent, so any database error is tried
    // again a few times (the winner's table is as good).
    let mut attempt = 0;
    loop {
        let made = client.batch_execute(
            "CREATE TABLE IF NOT EXISTS hookbox_schema (id INT PRIMARY KEY, version INT NOT NULL);
             INSERT INTO hookbox_schema (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
             ALTER TABLE hookbox_schema ADD COLUMN IF NOT EXISTS compatible_from INT NOT NULL DEFAULT 0;",
        );
        match made {
            Ok(()) => break,
            Err(e) if attempt < 20 && e.as_db_error().is_some() => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(25 * attempt));
            }
            Err(e) => return Err((0, e)),
        }
    }
    let mut tx = client.transaction().map_err(|e| (0, e))?;
    let row = tx
        .query_one(
            "SELECT version, compatible_from FROM hookbox_schema WHERE id = 1 FOR UPDATE",
            &[],
        )
        .map_err(|e| (0, e))?;
    let (found, compatible_from): (i32, i32) = (row.get(0), row.get(1));
    if found > SCHEMA_VERSION {
        // A newer build migrated: serve on if it says this build may.
        return Ok(if compatible_from <= SCHEMA_VERSION {
            Migration::Newer { found }
        } else {
            Migration::TooNew { found }
        });
    }
    for version in (found + 1)..=SCHEMA_VERSION {
        let sql = usize::try_from(version - 1)
            .ok()
            .and_then(|i| MIGRATIONS.get(i))
            .copied()
            .unwrap_or_default();
        tx.batch_execute(sql).map_err(|e| (version, e))?;
    }
    tx.execute(
        "UPDATE hookbox_schema SET version = $1, compatible_from = $2 WHERE id = 1",
        &[&SCHEMA_VERSION, &COMPATIBLE_FROM],
    )
    .map_err(|e| (SCHEMA_VERSION, e))?;
    tx.commit().map_err(|e| (SCHEMA_VERSION, e))?;
    Ok(Migration::Done { from: found })
}

/// Where the optional trigram index stands after [`sync_search_index`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchIndex {
    /// `SEARCH_INDEX=off`: no index; `q` scans.
    Off,
    /// The `pg_trgm` GIN index over the folded text exists.
    On,
    /// Asked for, but `pg_trgm` cannot be had here; `q` scans.
    Unavailable(String),
}

/// Makes or drops the trigram index as `enabled` says, under the version
/// row's lock (one replica at a time). The extension may be refused
/// (managed services, restricted roles): then `q` scans, and the caller
/// warns once.
///
/// # Errors
/// The client's error for anything but a refused extension.
pub(crate) fn sync_search_index(
    client: &mut Client,
    enabled: bool,
) -> Result<SearchIndex, postgres::Error> {
    let mut tx = client.transaction()?;
    tx.query_one(
        "SELECT version FROM hookbox_schema WHERE id = 1 FOR UPDATE",
        &[],
    )?;
    if !enabled {
        tx.batch_execute("DROP INDEX IF EXISTS messages_text_trgm")?;
        tx.commit()?;
        return Ok(SearchIndex::Off);
    }
    let installed = {
        let mut sp = tx.transaction()?;
        match sp.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_trgm") {
            Ok(()) => {
                sp.commit()?;
                None
            }
            Err(e) => {
                sp.rollback()?;
                Some(e)
            }
        }
    };
    if let Some(refused) = installed {
        // Installed by someone else, perhaps: then it can still be used.
        let present = tx
            .query_opt("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'", &[])?
            .is_some();
        if !present {
            tx.commit()?;
            let reason = refused
                .as_db_error()
                .map_or_else(|| refused.to_string(), |d| d.message().to_owned());
            return Ok(SearchIndex::Unavailable(reason));
        }
    }
    tx.batch_execute(
        "CREATE INDEX IF NOT EXISTS messages_text_trgm ON messages USING gin (text_folded gin_trgm_ops)",
    )?;
    tx.commit()?;
    Ok(SearchIndex::On)
}

/// Whether this build may read and write a database whose schema is at
/// `found` and says builds from `compatible_from` on may: the same
/// version, or a newer one that keeps this build compatible.
#[must_use]
pub(crate) fn serves(found: i32, compatible_from: i32) -> bool {
    found == SCHEMA_VERSION || (found > SCHEMA_VERSION && compatible_from <= SCHEMA_VERSION)
}

/// Checks, in `tx`, that this build may write: takes the version row
/// `FOR SHARE`, so a migration (which takes it `FOR UPDATE`) waits for this
/// transaction and this one for it. `Err` carries the version found.
pub(crate) fn guard_writes(
    tx: &mut postgres::Transaction<'_>,
) -> Result<Result<(), i32>, postgres::Error> {
    let row = tx.query_one(
        "SELECT version, compatible_from FROM hookbox_schema WHERE id = 1 FOR SHARE",
        &[],
    )?;
    let (found, compatible_from): (i32, i32) = (row.get(0), row.get(1));
    Ok(if serves(found, compatible_from) {
        Ok(())
    } else {
        Err(found)
    })
}
