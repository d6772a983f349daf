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
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};

use crate::error::{OpenError, pool_error, store_error};
use crate::schema::{self, Migration, SCHEMA_VERSION};
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
}

impl SqliteConfig {
    /// Defaults for `path`: 4 readers, a queue of 4,096 inserts, batches of
    /// up to 512, a 5 s busy timeout.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            read_pool_size: 4,
            write_queue: 4096,
            max_batch: 512,
            busy_timeout: Duration::from_secs(5),
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
    writer: Writer,
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
        let writer =
            Writer::start(conn, config.write_queue, config.max_batch).map_err(OpenError::Thread)?;
        Ok(Self {
            path,
            readers,
            writer,
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
        let result = list_in(&tx, query);
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

/// The WHERE clause for `query`'s filters, and its parameters.
fn filters(query: &MessageQuery) -> (Vec<&'static str>, Vec<Value>) {
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

fn where_sql(clauses: &[&str]) -> String {
    if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn list_in(conn: &Connection, query: &MessageQuery) -> Result<Page, StoreError> {
    let (mut clauses, mut params) = filters(query);
    let count_sql = format!("SELECT COUNT(*) FROM messages{}", where_sql(&clauses));
    let total: i64 = conn
        .prepare_cached(&count_sql)
        .and_then(|mut s| s.query_row(params_from_iter(params.iter()), |r| r.get(0)))
        .map_err(store_error)?;

    if let Some(after) = &query.after {
        clauses.push("(ts_key, message_id) > (?, ?)");
        params.push(Value::Text(after.ts().sort_key()));
        params.push(Value::Text(after.id().as_str().to_owned()));
    }
    let limit = query.limit.get();
    // One row more than asked says whether a next page exists.
    params.push(Value::Integer(i64::from(limit) + 1));
    params.push(Value::Integer(to_i64(query.offset.get())));
    let page_sql = format!(
        "SELECT message_id, from_msisdn, to_msisdn, ts, text FROM messages{} \
         ORDER BY ts_key, message_id LIMIT ? OFFSET ?",
        where_sql(&clauses)
    );
    let mut stmt = conn.prepare_cached(&page_sql).map_err(store_error)?;
    let mut rows = stmt
        .query(params_from_iter(params.iter()))
        .map_err(store_error)?;
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
        total: u64::try_from(total).unwrap_or(0),
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
