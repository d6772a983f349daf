//! [`SqliteStore`]: the [`MessageStore`] port over SQLite.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use domain::{
    Cursor, InsertOutcome, Message, MessageId, MessageQuery, MessageStore, MessageText, Msisdn,
    Page, SenderCount, Stats, StoreError, TOP_SENDERS, Timestamp,
};
use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use crate::error::{OpenError, pool_error, store_error};
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
}

impl SqliteConfig {
    /// Defaults for `path`: 4 readers, a queue of 4,096 inserts, batches of
    /// up to 512, a 5 s busy timeout, the search index on.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            read_pool_size: 4,
            write_queue: 4096,
            max_batch: 512,
            busy_timeout: Duration::from_secs(5),
            search_index: true,
        }
    }
}

/// Messages in one SQLite file: a group-commit writer thread for inserts and
/// a pool of read-only connections for queries (WAL lets them run side by
/// side). Dropping the store finishes queued inserts and closes the file.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    readers: Pool<SqliteConnectionManager>,
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
    fn start(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        schema::configure(&conn, busy_timeout)?;
        // A RESTART waits for readers this long at most, holding up the
        // writer meanwhile: keep it short and try again next tick.
        conn.busy_timeout(Duration::from_millis(50))?;
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
            .map_err(|e| {
                rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                    Some(format!("cannot start the checkpoint thread: {e}")),
                )
            })?;
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
        schema::configure_writer(&conn).map_err(open_err)?;
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
        let manager = SqliteConnectionManager::file(&path).with_init(move |c| {
            schema::configure(c, busy)?;
            schema::configure_reader(c)
        });
        let readers = Pool::builder()
            .max_size(config.read_pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(config.busy_timeout)
            .build(manager)
            .map_err(|source| OpenError::Pool {
                path: path.clone(),
                source,
            })?;
        let checkpointer = Checkpointer::start(&path, config.busy_timeout).map_err(open_err)?;
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

    fn reader(&self) -> Result<PooledConnection<SqliteConnectionManager>, StoreError> {
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

    fn list(&self, query: &MessageQuery) -> Result<Page, StoreError> {
        let mut conn = self.reader()?;
        // One read transaction: `total` and the page see the same snapshot.
        let tx = conn.transaction().map_err(store_error)?;
        let result = list_in(&tx, query, self.search_index, &self.matches);
        drop(tx);
        result
    }

    fn stats(&self) -> Result<Stats, StoreError> {
        let mut conn = self.reader()?;
        let tx = conn.transaction().map_err(store_error)?;
        let result = stats_in(&tx);
        drop(tx);
        result
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

/// The shortest needle the trigram index can answer.
const MIN_INDEXED_NEEDLE: usize = 3;

/// The WHERE clause for `query`'s filters, and its parameters; `q` as a
/// plain substring scan (the index's path is in `search.rs`).
pub(crate) fn filters(query: &MessageQuery) -> (Vec<&'static str>, Vec<Value>) {
    let mut clauses = Vec::new();
    let mut params = Vec::new();
    if let Some(from) = &query.from {
        clauses.push("from_msisdn = ?");
        params.push(Value::Text(from.clone()));
    }
    if let Some(since) = &query.since {
        clauses.push("ts_key >= ?");
        params.push(Value::Text(since.sort_key()));
    }
    if let Some(q) = &query.q {
        // instr() is a plain substring test: `%` and `_` stay literal.
        clauses.push("instr(text_folded, ?) > 0");
        params.push(Value::Text(q.folded().to_owned()));
    }
    (clauses, params)
}

pub(crate) fn where_sql(clauses: &[&str]) -> String {
    if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    }
}

pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// All messages, from the kept counter.
pub(crate) fn total_count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT messages FROM totals WHERE id = 1")?
        .query_row([], |r| r.get(0))
}

/// Messages from `from`, from the kept per-sender counter.
pub(crate) fn sender_count(conn: &Connection, from: &str) -> rusqlite::Result<i64> {
    Ok(conn
        .prepare_cached("SELECT message_count FROM senders WHERE from_msisdn = ?")?
        .query_row([from], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Adds the keyset condition "after this cursor" to a WHERE clause.
pub(crate) fn push_after(
    cursor: &Cursor,
    clauses: &mut Vec<&'static str>,
    params: &mut Vec<Value>,
) {
    clauses.push("(ts_key, message_id) > (?, ?)");
    params.push(Value::Text(cursor.ts().sort_key()));
    params.push(Value::Text(cursor.id().as_str().to_owned()));
}

/// `total` for the filters: kept counters answer the common shapes (no
/// filter, sender only) without counting rows.
fn count(
    conn: &Connection,
    query: &MessageQuery,
    clauses: &[&str],
    params: &[Value],
) -> rusqlite::Result<i64> {
    match (&query.from, &query.since, &query.q) {
        (None, None, None) => total_count(conn),
        (None, Some(since), None) => since_count(conn, &since.sort_key()),
        (Some(from), None, None) => sender_count(conn, from),
        _ => conn
            .prepare_cached(&format!(
                "SELECT COUNT(*) FROM messages{}",
                where_sql(clauses)
            ))?
            .query_row(params_from_iter(params.iter()), |r| r.get(0)),
    }
}

/// The first eight digits of a sort key are its UTC day (`YYYYMMDD`).
fn day_of(key: &str) -> &str {
    key.get(..8).unwrap_or(key)
}

/// The sort key at which the day after `day` starts: any key of a later day
/// compares greater, since keys are fixed-width digits.
fn next_day_start(day: &str) -> String {
    format!("{day}~")
}

/// Messages at or after `since_key`: the rest of its day counted in the
/// index, later days summed from `day_counts`.
pub(crate) fn since_count(conn: &Connection, since_key: &str) -> rusqlite::Result<i64> {
    let day = day_of(since_key);
    let partial: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM messages WHERE ts_key >= ?1 AND ts_key < ?2")?
        .query_row(params![since_key, next_day_start(day)], |r| r.get(0))?;
    let later: i64 = conn
        .prepare_cached("SELECT COALESCE(SUM(message_count), 0) FROM day_counts WHERE day > ?1")?
        .query_row([day], |r| r.get(0))?;
    Ok(partial + later)
}

/// For a deep `offset` with no filter but `since`: a sort key to start
/// from and the (at most one day's worth of) rows to skip after it, found
/// by summing whole days in `day_counts` instead of stepping through rows.
fn seek(
    conn: &Connection,
    since_key: Option<&str>,
    offset: u64,
) -> rusqlite::Result<(String, u64)> {
    let mut skip = offset;
    let mut from_day = String::new();
    if let Some(key) = since_key {
        let day = day_of(key);
        let partial: i64 = conn
            .prepare_cached("SELECT COUNT(*) FROM messages WHERE ts_key >= ?1 AND ts_key < ?2")?
            .query_row(params![key, next_day_start(day)], |r| r.get(0))?;
        let partial = u64::try_from(partial).unwrap_or(0);
        if skip < partial {
            return Ok((key.to_owned(), skip));
        }
        skip -= partial;
        from_day = day.to_owned();
    }
    let mut days = conn
        .prepare_cached("SELECT day, message_count FROM day_counts WHERE day > ?1 ORDER BY day")?;
    let mut rows = days.query([&from_day])?;
    while let Some(row) = rows.next()? {
        let (day, n): (String, i64) = (row.get(0)?, row.get(1)?);
        let n = u64::try_from(n).unwrap_or(0);
        if skip < n {
            return Ok((day, skip));
        }
        skip -= n;
    }
    // Past the end: a key after every day, nothing to skip.
    Ok(("~".to_owned(), 0))
}

fn list_in(
    conn: &Connection,
    query: &MessageQuery,
    search_index: bool,
    matches: &std::sync::Mutex<search::MatchCache>,
) -> Result<Page, StoreError> {
    if let Some(q) = &query.q
        && search_index
        && q.folded().chars().count() >= MIN_INDEXED_NEEDLE
    {
        return search::list_matching(conn, query, q.folded(), matches);
    }
    let (mut clauses, mut params) = filters(query);
    let total = count(conn, query, &clauses, &params).map_err(store_error)?;

    if let Some(after) = &query.after {
        push_after(after, &mut clauses, &mut params);
    }
    let limit = query.limit.get();
    let offset = query.offset.get();
    let page_sql = if offset == 0 {
        format!(
            "SELECT message_id, from_msisdn, to_msisdn, ts, text FROM messages{} \
             ORDER BY ts_key, message_id LIMIT ?",
            where_sql(&clauses)
        )
    } else if query.from.is_none() && query.q.is_none() && query.after.is_none() {
        // Unfiltered (or `since` only): whole days are skipped by their
        // counts, then at most a day's rows in the ordering index.
        let (start_key, skip) = seek(
            conn,
            query.since.as_ref().map(Timestamp::sort_key).as_deref(),
            offset,
        )
        .map_err(store_error)?;
        clauses.push(
            "(ts_key, message_id) >= (SELECT ts_key, message_id FROM messages \
             WHERE ts_key >= ? ORDER BY ts_key, message_id LIMIT 1 OFFSET ?)",
        );
        params.push(Value::Text(start_key));
        params.push(Value::Integer(to_i64(skip)));
        format!(
            "SELECT message_id, from_msisdn, to_msisdn, ts, text FROM messages{} \
             ORDER BY ts_key, message_id LIMIT ?",
            where_sql(&clauses)
        )
    } else {
        // Skip through the (covering) ordering index to the first row of the
        // page, then read only the page's rows, instead of OFFSET stepping
        // through table rows. Parameters in text order: the outer filters,
        // the inner filters, the offset (then the limit, below).
        let inner = format!(
            "SELECT ts_key, message_id FROM messages{} \
             ORDER BY ts_key, message_id LIMIT 1 OFFSET ?",
            where_sql(&clauses)
        );
        let start = format!("(ts_key, message_id) >= ({inner})");
        let mut outer = clauses.clone();
        outer.push(&start);
        let sql = format!(
            "SELECT message_id, from_msisdn, to_msisdn, ts, text FROM messages{} \
             ORDER BY ts_key, message_id LIMIT ?",
            where_sql(&outer)
        );
        params.extend(params.clone());
        params.push(Value::Integer(to_i64(offset)));
        sql
    };
    // One row more than asked says whether a next page exists.
    params.push(Value::Integer(i64::from(limit) + 1));
    read_page(
        conn,
        &page_sql,
        params_from_iter(params.iter()),
        limit,
        u64::try_from(total).unwrap_or(0),
    )
}

/// Runs a page query asking for `limit + 1` rows: the extra row only says
/// whether a next page exists.
pub(crate) fn read_page<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    limit: u32,
    total: u64,
) -> Result<Page, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(store_error)?;
    let mut rows = stmt.query(params).map_err(store_error)?;
    let mut messages = Vec::with_capacity(usize::try_from(limit).unwrap_or(0));
    let mut more = false;
    while let Some(row) = rows.next().map_err(store_error)? {
        if messages.len() == usize::try_from(limit).unwrap_or(usize::MAX) {
            more = true;
            break;
        }
        messages.push(message_from_row(row)?);
    }
    let next = if more {
        messages.last().map(Cursor::after)
    } else {
        None
    };
    Ok(Page {
        messages,
        total,
        next,
    })
}

/// Rebuilds a message from its row through the domain's constructors, so
/// a corrupted row is an error rather than an invalid `Message`.
fn message_from_row(row: &Row<'_>) -> Result<Message, StoreError> {
    let get = |i| row.get::<_, String>(i).map_err(store_error);
    let text: Option<String> = row.get(4).map_err(store_error)?;
    let corrupt =
        |what: &str| StoreError::Internal(format!("stored row has an invalid {what}").into());
    Ok(Message::new(
        MessageId::new(get(0)?).map_err(|_| corrupt("message_id"))?,
        Msisdn::new(get(1)?).map_err(|_| corrupt("from"))?,
        Msisdn::new(get(2)?).map_err(|_| corrupt("to"))?,
        Timestamp::parse(&get(3)?).map_err(|_| corrupt("ts"))?,
        text.map(MessageText::new)
            .transpose()
            .map_err(|_| corrupt("text"))?,
    ))
}

fn stats_in(conn: &Connection) -> Result<Stats, StoreError> {
    let (total, senders): (i64, i64) = conn
        .prepare_cached("SELECT messages, senders FROM totals WHERE id = 1")
        .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(store_error)?;
    let mut top = conn
        .prepare_cached(
            "SELECT from_msisdn, message_count FROM senders \
             ORDER BY message_count DESC, from_msisdn ASC LIMIT ?",
        )
        .map_err(store_error)?;
    let top_senders = top
        .query_map([i64::try_from(TOP_SENDERS).unwrap_or(10)], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })
        .map_err(store_error)?
        .map(|row| {
            let (from, count) = row.map_err(store_error)?;
            Ok(SenderCount {
                from: Msisdn::new(from).map_err(|_| {
                    StoreError::Internal("stored sender is not a valid number".into())
                })?,
                count: u64::try_from(count).unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let edge = |sql: &str| -> Result<Option<Timestamp>, StoreError> {
        let ts: Option<String> = conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
            .map_err(store_error)?;
        ts.map(|t| Timestamp::parse(&t))
            .transpose()
            .map_err(|_| StoreError::Internal("stored ts is invalid".into()))
    };
    Ok(Stats {
        total_messages: u64::try_from(total).unwrap_or(0),
        senders_count: u64::try_from(senders).unwrap_or(0),
        top_senders,
        first_message_ts: edge(
            "SELECT ts FROM messages ORDER BY ts_key ASC, message_id ASC LIMIT 1",
        )?,
        last_message_ts: edge(
            "SELECT ts FROM messages ORDER BY ts_key DESC, message_id DESC LIMIT 1",
        )?,
    })
}
