//! [`PostgresStore`]: the [`MessageStore`] port over PostgreSQL.

use domain::{
    DayCount, FeedPage, FeedQuery, InsertOutcome, Message, MessageQuery, MessageStore, Page, Stats,
    StoreError,
};
use postgres::IsolationLevel;
use r2d2::{Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::write_error;
use crate::error::{OpenError, pool_error, store_error};
use crate::matches::{self, MatchCache};
use crate::reads;
use crate::records;
use crate::schema::{self, Migration, SCHEMA_VERSION, SearchIndex};
use crate::settings::PostgresConfig;
use crate::writer::Selector;
use crate::writer::Writer;

type Manager = PostgresConnectionManager<MakeRustlsConnect>;

/// Messages in one PostgreSQL database, shared by any number of replicas:
/// a group-commit writer connection for inserts and a pool for reads.
/// Every call blocks; async callers run it on a blocking pool, and the
/// store is opened outside any async runtime (the client runs its own).
pub struct PostgresStore {
    readers: Pool<Manager>,
    /// The one connection of the periodic callers (see [`TICK_LANE`]).
    ticker: Pool<Manager>,
    /// Connections for reads with `q` only (see [`SEARCH_LANE`]).
    searchers: Pool<Manager>,
    writer: Writer,
    target: String,
    migration: Migration,
    search: SearchIndex,
    /// Matches of the words searched lately (see `matches`).
    matches: std::sync::Mutex<MatchCache>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .field("migration", &self.migration)
            .field("search", &self.search)
            .finish_non_exhaustive()
    }
}

/// Connections searches share, per replica: a search never takes a
/// connection cheap reads need.
const SEARCH_LANE: u32 = 2;

/// A search connection idle this long is closed at the pool's next sweep
/// (every 30 s).
const SEARCH_IDLE_AFTER: std::time::Duration = std::time::Duration::from_secs(1);
/// A read connection idle this long is closed at the next sweep.
const READ_IDLE_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// The periodic callers (the stream poller's `last_seq` five times a
/// second, the forwarding heartbeat's `claim` every second) share one
/// connection of their own. On the read pool, whenever the two overlapped
/// they held two read connections, and an overlap every few seconds kept
/// the second from ever idling long enough to close: an idle replica held
/// two, not one. On a lane of one they take turns (each takes
/// milliseconds), and the lane's connection stays open because it is used
/// every 200 ms.
const TICK_LANE: u32 = 1;

/// A pool that opens connections on demand, up to `size`, and closes idle
/// ones at its sweep: an idle replica holds almost none. A connection is
/// not tested at checkout (a round trip per request); a broken one shows
/// by its error and is dropped when it comes back.
fn lean_pool(
    config: &PostgresConfig,
    role: &str,
    size: u32,
    idle_after: std::time::Duration,
    tls: &MakeRustlsConnect,
) -> Pool<Manager> {
    let manager = PostgresConnectionManager::new(config.client_config(role), tls.clone());
    Pool::builder()
        .max_size(size.max(1))
        .min_idle(Some(0))
        .idle_timeout(Some(idle_after))
        .test_on_check_out(false)
        .connection_timeout(config.pool_wait)
        .build_unchecked(manager)
}

impl PostgresStore {
    /// Connects, migrates the schema (one replica at a time), brings the
    /// search index in line with the setting, opens the read pool and
    /// starts the writer.
    ///
    /// # Errors
    /// [`OpenError`] when the database cannot be reached, TLS cannot be set
    /// up, a migration fails, or the schema is newer than this build.
    pub fn open(config: &PostgresConfig) -> Result<Self, OpenError> {
        let target = config.describe();
        let tls = crate::tls::connector(config).map_err(|source| OpenError::Tls {
            target: target.clone(),
            source,
        })?;
        let mut client = crate::connect::connect(
            &config.client_config("migrate"),
            &tls,
            config.connect_timeout,
        )
        .map_err(|source| OpenError::Connect {
            target: target.clone(),
            source,
        })?;
        let migration = match schema::migrate(&mut client) {
            Ok(Migration::TooNew { found }) => {
                return Err(OpenError::SchemaTooNew {
                    target,
                    found,
                    expected: SCHEMA_VERSION,
                });
            }
            Ok(done) => done,
            Err((version, source)) => {
                return Err(OpenError::Migrate {
                    target,
                    version,
                    source,
                });
            }
        };
        let search =
            schema::sync_search_index(&mut client, config.search_index).map_err(|source| {
                OpenError::Migrate {
                    target: target.clone(),
                    version: SCHEMA_VERSION,
                    source,
                }
            })?;
        drop(client);
        // The periodic callers' connection stays open (under heavy load,
        // opening one can take longer than a heartbeat may wait); reads and
        // searches open theirs on demand.
        let readers = lean_pool(config, "read", config.pool_size, READ_IDLE_AFTER, &tls);
        let ticker = lean_pool(config, "tick", TICK_LANE, READ_IDLE_AFTER, &tls);
        let search_lane = SEARCH_LANE.min(config.pool_size);
        let searchers = lean_pool(config, "search", search_lane, SEARCH_IDLE_AFTER, &tls);
        let writer = Writer::start(config, tls).map_err(OpenError::Thread)?;
        Ok(Self {
            readers,
            ticker,
            searchers,
            writer,
            target,
            migration,
            search,
            matches: std::sync::Mutex::new(MatchCache::new(config.search_keep)),
        })
    }

    /// What the migration at open did.
    #[must_use]
    pub fn migration(&self) -> Migration {
        self.migration
    }

    /// Where the trigram index stands.
    #[must_use]
    pub fn search_index(&self) -> &SearchIndex {
        &self.search
    }

    /// `host:port/db`: no credentials.
    #[must_use]
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Stores many messages through the writer, as few transactions as the
    /// batch limit allows. Same guarantees as [`MessageStore::insert`].
    ///
    /// # Errors
    /// As [`MessageStore::insert`].
    pub fn insert_many(&self, messages: Vec<Message>) -> Result<Vec<InsertOutcome>, StoreError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        self.writer.insert(messages)
    }

    pub(crate) fn reader(&self) -> Result<PooledConnection<Manager>, StoreError> {
        self.readers.get().map_err(pool_error)
    }

    /// The connection of the periodic callers (see [`TICK_LANE`]).
    pub(crate) fn ticker(&self) -> Result<PooledConnection<Manager>, StoreError> {
        self.ticker.get().map_err(pool_error)
    }

    /// A connection of the search lane, for reads with `q`.
    fn searcher(&self) -> Result<PooledConnection<Manager>, StoreError> {
        self.searchers.get().map_err(pool_error)
    }

    /// Runs `f` in a read-only, repeatable-read transaction: a page and its
    /// total, or the parts of `/stats`, see one snapshot.
    fn snapshot<T>(
        &self,
        f: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.snapshot_on(self.reader()?, f)
    }

    fn snapshot_on<T>(
        &self,
        mut conn: PooledConnection<Manager>,
        f: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut tx = conn
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(store_error)?;
        let result = f(&mut tx)?;
        tx.commit().map_err(store_error)?;
        Ok(result)
    }
}

impl MessageStore for PostgresStore {
    fn insert(&self, message: Message) -> Result<InsertOutcome, StoreError> {
        self.writer
            .insert(vec![message])?
            .pop()
            .ok_or_else(|| StoreError::Internal("the writer returned no outcome".into()))
    }

    fn submit(&self, messages: Vec<Message>) -> domain::Receipt<domain::SubmitResult> {
        if messages.is_empty() {
            return domain::Receipt::ready(Ok(Vec::new()));
        }
        self.writer.submit(messages)
    }

    fn insert_all(&self, messages: Vec<Message>) -> Result<Vec<InsertOutcome>, StoreError> {
        // One writer job is never split: it commits in one transaction.
        self.insert_many(messages)
    }

    fn list(&self, query: &MessageQuery) -> Result<Page, StoreError> {
        let mut conn = if query.q.is_some() {
            self.searcher()?
        } else {
            self.reader()?
        };
        if let Some(q) = &query.q
            && let Some(page) = matches::list(&mut conn, query, q.folded(), &self.matches)?
        {
            return Ok(page);
        }
        if let Some(page) = reads::list_at_once(&mut conn, query) {
            return page;
        }
        self.snapshot_on(conn, |tx| reads::list(tx, query))
    }

    fn stats(&self) -> Result<Stats, StoreError> {
        reads::stats_at_once(&mut *self.reader()?)
    }

    fn get(&self, id: &domain::MessageId) -> Result<Option<domain::FeedItem>, StoreError> {
        let mut conn = self.reader()?;
        reads::get(&mut *conn, id)
    }

    fn erase(&self, what: &domain::Erasure, max: u32) -> Result<u64, StoreError> {
        let selector = match what {
            domain::Erasure::Message(id) => Selector::Message(id.as_str().to_owned()),
            domain::Erasure::Sender(from) => Selector::Sender(from.as_str().to_owned()),
            _ => {
                return Err(StoreError::Internal(
                    "an erasure this build does not know".into(),
                ));
            }
        };
        let mut conn = self.reader()?;
        crate::writer::erase(&mut conn, &selector, i64::from(max)).map_err(write_error)
    }

    fn conversations(
        &self,
        query: &domain::ConversationQuery,
    ) -> Result<domain::ConversationPage, StoreError> {
        self.snapshot(|tx| reads::conversations(tx, query))
    }

    fn count_after(
        &self,
        after: domain::Seq,
        from: Option<&str>,
        cap: u64,
    ) -> Result<u64, StoreError> {
        let cap = i64::try_from(cap).unwrap_or(i64::MAX);
        let after = after.as_i64();
        let mut conn = self.reader()?;
        let row = match from {
            None => conn.query_one(
                "SELECT count(*) FROM (SELECT 1 FROM messages WHERE seq > $1 LIMIT $2) AS s",
                &[&after, &cap],
            ),
            Some(from) => conn.query_one(
                "SELECT count(*) FROM (SELECT 1 FROM messages \
                 WHERE from_msisdn = $1 AND seq > $2 LIMIT $3) AS s",
                &[&from, &after, &cap],
            ),
        }
        .map_err(store_error)?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    fn feed(&self, query: &FeedQuery) -> Result<FeedPage, StoreError> {
        // A search (the feed's, the stream's, the export's) on the search
        // lane, so that it never holds the connections cheap reads need.
        let mut conn = if query.q.is_some() {
            self.searcher()?
        } else {
            self.reader()?
        };
        if let Some(q) = &query.q
            && let Some(page) = matches::feed(&mut conn, query, q.folded(), &self.matches)?
        {
            return Ok(page);
        }
        reads::feed(&mut conn, query)
    }

    fn purge(&self, received_before: time::OffsetDateTime, max: u32) -> Result<u64, StoreError> {
        let cutoff_ms =
            i64::try_from(received_before.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        let mut conn = self.reader()?;
        crate::writer::purge(&mut conn, cutoff_ms, i64::from(max)).map_err(write_error)
    }

    fn last_seq(&self) -> Result<domain::Seq, StoreError> {
        let mut conn = self.ticker()?;
        let last: i64 = conn
            .query_one("SELECT last_seq FROM feed_counter WHERE id = 1", &[])
            .map_err(store_error)?
            .get(0);
        domain::Seq::new(last).map_err(|_| StoreError::Internal("stored seq is negative".into()))
    }

    fn daily_counts(
        &self,
        first: time::Date,
        last: time::Date,
    ) -> Result<Vec<DayCount>, StoreError> {
        let mut conn = self.reader()?;
        reads::daily_counts(&mut conn, first, last)
    }

    fn raw(&self, id: &domain::MessageId) -> Result<domain::RawLookup, StoreError> {
        let mut conn = self.reader()?;
        records::raw(&mut *conn, id.as_str()).map(domain::RawLookup::from_row)
    }

    fn record_statuses(&self, updates: Vec<domain::StatusUpdate>) -> Result<u64, StoreError> {
        if updates.is_empty() {
            return Ok(0);
        }
        let mut conn = self.reader()?;
        records::record_statuses(&mut conn, &updates).map_err(write_error)
    }

    fn status_reports(
        &self,
        query: &domain::StatusReportQuery,
    ) -> Result<domain::StatusReportPage, StoreError> {
        let mut conn = self.reader()?;
        records::status_reports(&mut *conn, query)
    }

    fn status(&self, message_id: &str) -> Result<Option<domain::DeliveryStatus>, StoreError> {
        let mut conn = self.reader()?;
        records::status(&mut *conn, message_id)
    }

    fn record_events(&self, events: Vec<domain::Event>) -> Result<Vec<InsertOutcome>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.reader()?;
        records::record_events(&mut conn, &events).map_err(write_error)
    }

    fn events(&self, query: &domain::EventQuery) -> Result<domain::EventPage, StoreError> {
        let mut conn = self.reader()?;
        records::events(&mut *conn, query)
    }

    fn purge_records(
        &self,
        received_before: time::OffsetDateTime,
        max: u32,
    ) -> Result<u64, StoreError> {
        let mut conn = self.reader()?;
        records::purge(
            &mut conn,
            store_kit::rows::micros(received_before),
            i64::from(max),
        )
        .map_err(store_error)
    }

    fn gauges(&self) -> domain::StoreGauges {
        let (depth, capacity) = self.writer.queue_gauges();
        let state = self.readers.state();
        domain::StoreGauges {
            write_queue_depth: depth,
            write_queue_capacity: capacity,
            pool: Some(domain::PoolGauges {
                connections: u64::from(state.connections),
                idle: u64::from(state.idle_connections),
                max: u64::from(self.readers.max_size()),
            }),
            log_bytes: None,
        }
    }

    fn check_ready(&self) -> Result<(), StoreError> {
        let mut conn = self.reader()?;
        let row = conn
            .query_one(
                "SELECT version, compatible_from FROM hookbox_schema WHERE id = 1",
                &[],
            )
            .map_err(store_error)?;
        let (found, compatible_from): (i32, i32) = (row.get(0), row.get(1));
        if schema::serves(found, compatible_from) {
            Ok(())
        } else {
            Err(StoreError::SchemaMismatch {
                found: i64::from(found),
                expected: i64::from(SCHEMA_VERSION),
            })
        }
    }
}
