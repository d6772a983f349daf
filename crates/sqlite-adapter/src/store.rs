//! [`SqliteStore`]: the [`MessageStore`] port over SQLite.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use domain::{
    DayCount, FeedPage, FeedQuery, InsertOutcome, Message, MessageQuery, MessageStore, Page, Stats,
    StoreError,
};
use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;

use crate::deletes::Selector;
use crate::error::{OpenError, pool_error, store_error};
use crate::reads;
use crate::records;
use crate::schema::{self, Migration, SCHEMA_VERSION, SEARCH_MARK};
use crate::search;
use crate::writer::Writer;

/// How a [`SqliteStore`] is opened.
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    /// The database file; its folder is created when missing.
    pub path: PathBuf,
    /// Pooled read connections.
    pub read_pool_size: u32,
    /// Inserts that may wait for the writer before new ones are refused
    /// with [`StoreError::Overloaded`].
    pub write_queue: usize,
    /// The most inserts one transaction carries.
    pub max_batch: usize,
    /// How long a connection waits on a lock before giving up.
    pub busy_timeout: Duration,
    /// Keep the trigram index that makes `q` fast (about 300 bytes of disk
    /// per message); off, `q` scans the table.
    pub search_index: bool,
    /// The page size a new file is made with (a power of two, 512 to
    /// 65,536); a file that exists keeps its own. Smaller pages mean fewer
    /// bytes written per insert (each commit writes every page it touched,
    /// and an insert touches one leaf of each index at a random place) but
    /// slower reads: measured, 1 KiB pages wrote half the WAL bytes per
    /// row of 4 KiB and served the read mix at 0.62 x its rate.
    pub page_size: u32,
}

impl SqliteConfig {
    /// Defaults for `path`: 4 readers, a queue of 4,096 inserts, batches of
    /// up to 512, a 5 s busy timeout, the search index on, 4 KiB pages.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            read_pool_size: 4,
            write_queue: 4096,
            max_batch: 512,
            busy_timeout: Duration::from_secs(5),
            search_index: true,
            page_size: 4096,
        }
    }
}

/// Messages in one SQLite file: a group-commit writer thread for inserts and
/// a pool of read-only connections for queries (WAL lets them run side by
/// side). Dropping the store finishes queued inserts and closes the file.
/// Connections searches share: with 2 cores, two searches at once keep
/// both busy; more would only queue inside SQLite.
const SEARCH_LANE: u32 = 2;

#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    readers: Pool<SqliteConnectionManager>,
    /// Connections for reads with `q` only (see [`SEARCH_LANE`]).
    searchers: Pool<SqliteConnectionManager>,
    // Dropped in field order: the writer finishes queued inserts before the
    // checkpointer stops.
    writer: Writer,
    _checkpointer: Checkpointer,
    search_index: bool,
    matches: std::sync::Mutex<search::MatchCache>,
}

/// Copies committed pages from the WAL into the database file every
/// [`CHECKPOINT_EVERY`], on its own connection, so the writer never pays for
/// it inside a commit. PASSIVE: it never blocks readers or the writer.
#[derive(Debug)]
struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// WAL frames (pages) past which the checkpointer restarts the WAL: ~32 MB.
const RESTART_AFTER_FRAMES: i64 = 8192;

impl Checkpointer {
    fn start(path: &Path, busy_timeout: Duration) -> Result<Self, OpenError> {
        let open_err = |source| OpenError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        schema::configure(&conn, busy_timeout).map_err(open_err)?;
        // A RESTART waits for readers this long at most, holding up the
        // writer meanwhile: keep it short and try again next tick.
        conn.busy_timeout(Duration::from_millis(50))
            .map_err(open_err)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("hookbox-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    // A failed pass is retried at the next tick; the WAL
                    // keeps every commit meanwhile.
                    let log_frames = conn
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
                        .unwrap_or(0);
                    // Readers that never stop keep the WAL from being reused
                    // and it grows: past a limit, wait briefly for them so the
                    // next commit starts the WAL over.
                    if log_frames > RESTART_AFTER_FRAMES {
                        let _ = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()));
                    }
                }
            })
            .map_err(OpenError::Thread)?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database, applies pending migrations,
    /// and starts the writer.
    ///
    /// # Errors
    /// [`OpenError`] when the folder or file cannot be created or opened,
    /// a migration fails, or the file is from a newer build.
    pub fn open(config: &SqliteConfig) -> Result<Self, OpenError> {
        let path = config.path.clone();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let open_err = |source| OpenError::Open {
            path: path.clone(),
            source,
        };
        let mut conn = Connection::open(&path).map_err(open_err)?;
        schema::configure(&conn, config.busy_timeout).map_err(open_err)?;
        schema::choose_page_size(&conn, config.page_size).map_err(open_err)?;
        schema::configure_writer(&conn).map_err(open_err)?;
        schema::ensure_incremental_vacuum(&conn).map_err(open_err)?;
        match schema::migrate(&mut conn) {
            Ok(Migration::Done { .. }) => {}
            Ok(Migration::TooNew { found }) => {
                return Err(OpenError::SchemaTooNew {
                    path,
                    found,
                    expected: SCHEMA_VERSION,
                });
            }
            Err((version, source)) => {
                return Err(OpenError::Migrate {
                    path,
                    version,
                    source,
                });
            }
        }

        schema::sync_search_index(&mut conn, config.search_index).map_err(|source| {
            OpenError::Migrate {
                path: path.clone(),
                version: SCHEMA_VERSION,
                source,
            }
        })?;

        let busy = config.busy_timeout;
        let manager = || {
            SqliteConnectionManager::file(&path).with_init(move |c| {
                schema::configure(c, busy)?;
                schema::configure_reader(c)
            })
        };
        let readers = Pool::builder()
            .max_size(config.read_pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(config.busy_timeout)
            .build(manager())
            .map_err(|source| OpenError::Pool {
                path: path.clone(),
                source,
            })?;
        // Searches (`q`) get a lane of their own: however many run, the
        // cheap reads (a page, a sender, /stats) never queue behind them.
        let searchers = Pool::builder()
            .max_size(SEARCH_LANE)
            .min_idle(Some(0))
            .connection_timeout(config.busy_timeout)
            .build(manager())
            .map_err(|source| OpenError::Pool {
                path: path.clone(),
                source,
            })?;
        let checkpointer = Checkpointer::start(&path, config.busy_timeout)?;
        let writer = Writer::start(
            conn,
            config.write_queue,
            config.max_batch,
            config.search_index,
        )
        .map_err(OpenError::Thread)?;
        Ok(Self {
            path,
            readers,
            searchers,
            writer,
            _checkpointer: checkpointer,
            search_index: config.search_index,
            matches: std::sync::Mutex::default(),
        })
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stores many messages through the writer in as few transactions as
    /// the batch limit allows: for imports and seeding, where one call per
    /// message would be needlessly slow. Same guarantees as
    /// [`MessageStore::insert`], one outcome per message, in order.
    ///
    /// # Errors
    /// As [`MessageStore::insert`]; on error nothing of this call is stored.
    pub fn insert_many(&self, messages: Vec<Message>) -> Result<Vec<InsertOutcome>, StoreError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        self.writer.insert(messages)
    }

    /// How many stored rows the search index has not reached yet (0 when
    /// the index is off). The writer indexes whenever no insert waits.
    ///
    /// # Errors
    /// As [`MessageStore::list`].
    pub fn search_backlog(&self) -> Result<u64, StoreError> {
        if !self.search_index {
            return Ok(0);
        }
        let conn = self.reader()?;
        let backlog: i64 = conn
            .query_row(
                &format!(
                    "SELECT COALESCE(MAX(rowid), 0) - COALESCE({SEARCH_MARK}, 0) FROM messages"
                ),
                [],
                |r| r.get(0),
            )
            .map_err(store_error)?;
        Ok(u64::try_from(backlog).unwrap_or(0))
    }

    /// Waits until the search index covers every stored row, or `timeout`
    /// passes; returns whether it caught up.
    ///
    /// # Errors
    /// As [`MessageStore::list`].
    pub fn wait_for_search_index(&self, timeout: Duration) -> Result<bool, StoreError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.search_backlog()? == 0 {
                return Ok(true);
            }
            if std::time::Instant::now() > deadline {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether every message's id is already stored, by a primary-key
    /// lookup on an idle read connection: replays are answered without the
    /// writer. A committed row is what a reader sees, so first-write-wins
    /// holds. With no idle reader (searches running) the writer decides.
    fn all_stored(&self, messages: &[Message]) -> bool {
        let Some(conn) = self.readers.try_get() else {
            return false;
        };
        let Ok(mut stmt) = conn.prepare_cached("SELECT 1 FROM messages WHERE message_id = ?1")
        else {
            return false;
        };
        messages
            .iter()
            .all(|m| stmt.exists([m.id().as_str()]).unwrap_or(false))
    }

    /// The writer thread, for the subscription store's writes.
    pub(crate) fn writer(&self) -> &Writer {
        &self.writer
    }

    pub(crate) fn reader(&self) -> Result<PooledConnection<SqliteConnectionManager>, StoreError> {
        self.readers.get().map_err(pool_error)
    }
}

impl MessageStore for SqliteStore {
    fn insert(&self, message: Message) -> Result<InsertOutcome, StoreError> {
        self.writer
            .insert(vec![message])?
            .pop()
            .ok_or_else(|| StoreError::Internal("the writer returned no outcome".into()))
    }

    fn insert_all(&self, messages: Vec<Message>) -> Result<Vec<InsertOutcome>, StoreError> {
        // One writer job is never split: it commits in one transaction.
        self.insert_many(messages)
    }

    fn submit(&self, messages: Vec<Message>) -> domain::Receipt<domain::SubmitResult> {
        if messages.is_empty() {
            return domain::Receipt::ready(Ok(Vec::new()));
        }
        if self.all_stored(&messages) {
            return domain::Receipt::ready(Ok(vec![InsertOutcome::Duplicate; messages.len()]));
        }
        self.writer.submit(messages)
    }

    fn list(&self, query: &MessageQuery) -> Result<Page, StoreError> {
        let mut conn = if query.q.is_some() {
            self.searchers.get().map_err(pool_error)?
        } else {
            self.reader()?
        };
        // One read transaction: `total` and the page see the same snapshot.
        let tx = conn.transaction().map_err(store_error)?;
        let result = search::list(&tx, query, self.search_index, &self.matches);
        drop(tx);
        result
    }

    fn get(&self, id: &domain::MessageId) -> Result<Option<domain::FeedItem>, StoreError> {
        let conn = self.reader()?;
        reads::get(&conn, id)
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
        let search_index = self.search_index;
        self.writer.run(move |conn| {
            crate::deletes::erase(conn, &selector, max, search_index).map_err(store_error)
        })
    }

    fn conversations(
        &self,
        query: &domain::ConversationQuery,
    ) -> Result<domain::ConversationPage, StoreError> {
        let mut conn = self.reader()?;
        // One snapshot: each sender's row and the message it points at.
        let tx = conn.transaction().map_err(store_error)?;
        let result = reads::conversations(&tx, query);
        drop(tx);
        result
    }

    fn count_after(
        &self,
        after: domain::Seq,
        from: Option<&str>,
        cap: u64,
    ) -> Result<u64, StoreError> {
        let conn = self.reader()?;
        let cap = i64::try_from(cap).unwrap_or(i64::MAX);
        let n: i64 = match from {
            None => {
                conn.prepare_cached(
                    "SELECT count(*) FROM (SELECT 1 FROM messages WHERE rowid > ?1 LIMIT ?2)",
                )
                .and_then(|mut s| s.query_row(rusqlite::params![after.as_i64(), cap], |r| r.get(0)))
            }
            Some(from) => conn
                .prepare_cached(
                    "SELECT count(*) FROM (SELECT 1 FROM messages \
                     WHERE from_msisdn = ?1 AND rowid > ?2 LIMIT ?3)",
                )
                .and_then(|mut s| {
                    s.query_row(rusqlite::params![from, after.as_i64(), cap], |r| r.get(0))
                }),
        }
        .map_err(store_error)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn feed(&self, query: &FeedQuery) -> Result<FeedPage, StoreError> {
        if query.q.is_some() {
            // A search, on the search lane: the feed's, the stream's and
            // the export's as much as the listing's.
            let mut conn = self.searchers.get().map_err(pool_error)?;
            let tx = conn.transaction().map_err(store_error)?;
            let result = search::feed(&tx, query, self.search_index, &self.matches);
            drop(tx);
            return result;
        }
        let conn = self.reader()?;
        reads::feed(&conn, query)
    }

    fn purge(&self, received_before: time::OffsetDateTime, max: u32) -> Result<u64, StoreError> {
        let before = received_before
            .to_offset(time::UtcOffset::UTC)
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| StoreError::Internal(e.into()))?;
        self.writer.purge(before, max)
    }

    fn last_seq(&self) -> Result<domain::Seq, StoreError> {
        let conn = self.reader()?;
        let last: i64 = conn
            .prepare_cached(crate::schema::LAST_SEQ)
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(store_error)?;
        domain::Seq::new(last).map_err(|_| StoreError::Internal("stored rowid is negative".into()))
    }

    fn daily_counts(
        &self,
        first: time::Date,
        last: time::Date,
    ) -> Result<Vec<DayCount>, StoreError> {
        let conn = self.reader()?;
        reads::daily_counts(&conn, first, last)
    }

    fn stats(&self) -> Result<Stats, StoreError> {
        let mut conn = self.reader()?;
        let tx = conn.transaction().map_err(store_error)?;
        let result = reads::stats_in(&tx);
        drop(tx);
        result
    }

    fn raw(&self, id: &domain::MessageId) -> Result<domain::RawLookup, StoreError> {
        let conn = self.reader()?;
        records::raw(&conn, id.as_str()).map(domain::RawLookup::from_row)
    }

    fn record_statuses(&self, updates: Vec<domain::StatusUpdate>) -> Result<u64, StoreError> {
        if updates.is_empty() {
            return Ok(0);
        }
        self.writer
            .run(move |conn| records::record_statuses(conn, &updates).map_err(store_error))
    }

    fn status_reports(
        &self,
        query: &domain::StatusReportQuery,
    ) -> Result<domain::StatusReportPage, StoreError> {
        let conn = self.reader()?;
        records::status_reports(&conn, query)
    }

    fn status(&self, message_id: &str) -> Result<Option<domain::DeliveryStatus>, StoreError> {
        let conn = self.reader()?;
        records::status(&conn, message_id)
    }

    fn record_events(&self, events: Vec<domain::Event>) -> Result<Vec<InsertOutcome>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        self.writer
            .run(move |conn| records::record_events(conn, &events).map_err(store_error))
    }

    fn events(&self, query: &domain::EventQuery) -> Result<domain::EventPage, StoreError> {
        let conn = self.reader()?;
        records::events(&conn, query)
    }

    fn purge_records(
        &self,
        received_before: time::OffsetDateTime,
        max: u32,
    ) -> Result<u64, StoreError> {
        let before = store_kit::rows::micros(received_before);
        self.writer
            .run(move |conn| records::purge(conn, before, max).map_err(store_error))
    }

    fn gauges(&self) -> domain::StoreGauges {
        let (depth, capacity) = self.writer.queue_gauges();
        domain::StoreGauges {
            write_queue_depth: depth,
            write_queue_capacity: capacity,
            pool: None,
            log_bytes: Some(self.writer.state().wal_bytes.load(Ordering::Relaxed)),
        }
    }

    fn check_ready(&self) -> Result<(), StoreError> {
        let state = self.writer.state();
        if state.stopped.load(Ordering::SeqCst) {
            return Err(StoreError::Internal("the writer thread has stopped".into()));
        }
        let conn = self.reader()?;
        let found = schema::version(&conn).map_err(store_error)?;
        if found != SCHEMA_VERSION {
            return Err(StoreError::SchemaMismatch {
                found,
                expected: SCHEMA_VERSION,
            });
        }
        if state.faulted.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable(
                "the last write transaction failed".into(),
            ));
        }
        Ok(())
    }
}
