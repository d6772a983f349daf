//! The single writer: group commit over one connection.
//!
//! SQLite allows one writer at a time and each commit costs an fsync, so
//! inserting from many threads means lock contention and one fsync per row.
//! Instead every insert is queued to one thread, which takes whatever has
//! queued up (up to a batch limit), inserts it all in one transaction, commits
//! once, and only then answers each caller. Under load the fsync is shared by
//! the whole batch; when idle a batch is a single row and no latency is added.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::time::{Duration, Instant};

use domain::{InsertOutcome, Message, StoreError};
use rusqlite::{Connection, TransactionBehavior, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use store_kit::tally::Tally;
use store_kit::writers::{Job, Queue, Writers};

use crate::deletes::{DOOMED_COLUMNS, Doomed, delete_rows};
use crate::error::{store_error, store_error_ref};
use crate::schema::{LAST_SEQ, SEARCH_MARK};

/// A purge of messages received before `before` (RFC 3339, as
/// `created_at` is written), at most `max` rows.
struct PurgeJob {
    before: String,
    max: u32,
    reply: SyncSender<Result<u64, StoreError>>,
}

/// Work on the writer's connection that answers its caller itself.
type Task = Box<dyn FnOnce(&mut Connection) + Send>;

/// What the writer thread is asked to do.
enum Work {
    Insert(Job),
    Purge(PurgeJob),
    /// Between two batches: statuses, events, their retention.
    Run(Task),
}

/// Handle to the writer thread; dropping it drains the queue and joins.
#[derive(Debug)]
pub(crate) struct Writer {
    threads: Writers<Work>,
    state: Arc<WriterState>,
}

/// What the writer tells the rest of the store.
#[derive(Debug, Default)]
pub(crate) struct WriterState {
    /// The last transaction failed; cleared by the next that commits.
    pub(crate) faulted: AtomicBool,
    /// The thread has exited.
    pub(crate) stopped: AtomicBool,
    /// Bytes the writer's commits have appended to the WAL (see `wal`).
    pub(crate) wal_bytes: AtomicU64,
}

impl Writer {
    /// Writes queued and not yet taken, and how many the queue holds.
    pub(crate) fn queue_gauges(&self) -> (u64, u64) {
        let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        (n(self.threads.depth()), n(self.threads.capacity()))
    }

    pub(crate) fn start(
        conn: Connection,
        queue_capacity: usize,
        max_batch: usize,
        search_index: bool,
    ) -> std::io::Result<Self> {
        let (tx, rx) = store_kit::writers::queue(queue_capacity);
        let state = Arc::new(WriterState::default());
        let thread_state = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name("hookbox-writer".into())
            .spawn(move || {
                run(conn, &rx, max_batch.max(1), search_index, &thread_state);
                thread_state.stopped.store(true, Ordering::SeqCst);
            })?;
        Ok(Self {
            threads: Writers::new(tx, vec![thread]),
            state,
        })
    }

    pub(crate) fn state(&self) -> &WriterState {
        &self.state
    }

    /// Queues `messages` and waits for their commit; one outcome each.
    pub(crate) fn insert(&self, messages: Vec<Message>) -> Result<Vec<InsertOutcome>, StoreError> {
        store_kit::writers::wait(self.submit(messages))
    }

    /// Queues `messages`; the receipt resolves after their commit. A full
    /// queue answers at once with `Overloaded`.
    pub(crate) fn submit(&self, messages: Vec<Message>) -> domain::Receipt<domain::SubmitResult> {
        self.threads.submit(messages, Work::Insert)
    }

    /// Runs `task` on the writer's connection between two batches and waits
    /// for its answer: every write to the file goes through the writer.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        task: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = sync_channel(1);
        self.threads.send(Work::Run(Box::new(move |conn| {
            let _ = reply.send(task(conn));
        })))?;
        answer
            .recv()
            .unwrap_or_else(|_| Err(StoreError::Internal("the writer dropped a request".into())))
    }

    /// Queues a purge between two batches and waits for it.
    pub(crate) fn purge(&self, before: String, max: u32) -> Result<u64, StoreError> {
        let (reply, answer) = sync_channel(1);
        self.threads
            .send(Work::Purge(PurgeJob { before, max, reply }))?;
        answer
            .recv()
            .unwrap_or_else(|_| Err(StoreError::Internal("the writer dropped a request".into())))
    }
}

fn run(
    conn: Connection,
    rx: &Queue<Work>,
    max_batch: usize,
    search_index: bool,
    state: &WriterState,
) {
    crate::wal::count_frames(&conn);
    let page_size = conn
        .query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))
        .map_or(4096, |n| u64::try_from(n).unwrap_or(4096));
    let mut writer = Loop {
        conn,
        search_index,
        state,
        // Whether rows may be waiting for the search index (checked at start).
        backlog: search_index,
        next_index_step: Instant::now(),
    };
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    let mut later: Vec<Work> = Vec::new();
    while let Some(work) = writer.next_work(rx) {
        state
            .wal_bytes
            .store(crate::wal::appended_bytes(page_size), Ordering::Relaxed);
        let first = match work {
            Work::Insert(job) => job,
            other => {
                writer.other(other);
                continue;
            }
        };
        Loop::gather(first, rx, max_batch, &mut batch, &mut later);
        writer.commit(&mut batch);
        for work in later.drain(..) {
            writer.other(work);
        }
    }
}

/// The writer thread's state between batches.
struct Loop<'a> {
    conn: Connection,
    search_index: bool,
    state: &'a WriterState,
    /// Rows may be waiting for the search index.
    backlog: bool,
    /// Under load, the earliest time of the next search-index step.
    next_index_step: Instant,
}

impl Loop<'_> {
    /// A purge or a task, between batches.
    fn other(&mut self, work: Work) {
        match work {
            Work::Insert(_) => {}
            Work::Purge(job) => run_purge(&mut self.conn, job, self.search_index, self.state),
            Work::Run(task) => task(&mut self.conn),
        }
    }

    /// The next piece of work; `None` once the queue is closed and empty.
    /// Inserts come first: the search index catches up only when none wait,
    /// and after a failed write the writer probes now and then.
    fn next_work(&mut self, rx: &Queue<Work>) -> Option<Work> {
        loop {
            if self.backlog {
                match rx.try_recv() {
                    Ok(work) => return Some(work),
                    Err(TryRecvError::Disconnected) => return None,
                    Err(TryRecvError::Empty) => {
                        self.backlog =
                            matches!(index_step(&mut self.conn, INDEX_STEP), Ok(n) if n > 0);
                    }
                }
            } else if self.state.faulted.load(Ordering::SeqCst) {
                // Readiness comes back by itself once the fault (a full
                // disk, say) clears, even if no traffic is sent meanwhile.
                match rx.recv_timeout(PROBE_EVERY) {
                    Ok(work) => return Some(work),
                    Err(RecvTimeoutError::Disconnected) => return None,
                    Err(RecvTimeoutError::Timeout) => {
                        if probe(&mut self.conn).is_ok() {
                            self.state.faulted.store(false, Ordering::SeqCst);
                        }
                    }
                }
            } else {
                return rx.recv().ok();
            }
        }
    }

    /// Fills `batch` after `first` with what has queued, without waiting
    /// for more. Rows that arrive during a commit make the next batch, so
    /// the callers' round trips overlap the writer's commits. Lingering
    /// for the callers the last commit answered (up to 2 ms, until they
    /// paused for 200 µs) put all of them in one batch, and the writer then
    /// idled while they sent their next rows: measured 1.19x and 1.26x HTTP
    /// ingest without it, c=64, either build first (`hookbox-bench
    /// --ingest-only --compare-bin`). Other work waits for after the batch:
    /// inserts never wait behind it.
    fn gather(
        first: Job,
        rx: &Queue<Work>,
        max_batch: usize,
        batch: &mut Vec<Job>,
        later: &mut Vec<Work>,
    ) {
        let mut rows = first.messages.len();
        batch.push(first);
        while rows < max_batch {
            match rx.try_recv() {
                Ok(Work::Insert(job)) => {
                    rows += job.messages.len();
                    batch.push(job);
                }
                Ok(other) => {
                    later.push(other);
                    break;
                }
                Err(_) => break,
            }
        }
    }

    /// Commits `batch` and answers each caller; a failed batch is retried
    /// job by job, so one bad row cannot fail its neighbours.
    fn commit(&mut self, batch: &mut Vec<Job>) {
        let (state, search_index) = (self.state, self.search_index);
        let started = Instant::now();
        match write_batch(&mut self.conn, batch) {
            Ok(mut outcomes) => {
                store_kit::writers::record_commit(outcomes.len(), started.elapsed());
                state.faulted.store(false, Ordering::SeqCst);
                self.backlog |= search_index && outcomes.contains(&InsertOutcome::Created);
                self.index_under_load();
                for job in batch.drain(..).rev() {
                    let mine = outcomes.split_off(outcomes.len() - job.messages.len());
                    job.reply.complete(Ok(mine));
                }
            }
            Err(e) if batch.len() > 1 => {
                drop(e);
                for job in batch.drain(..) {
                    let result = write_batch(&mut self.conn, std::slice::from_ref(&job));
                    state.faulted.store(result.is_err(), Ordering::SeqCst);
                    self.backlog |= search_index && result.is_ok();
                    job.reply.complete(result.map_err(store_error));
                }
            }
            Err(e) => {
                state.faulted.store(true, Ordering::SeqCst);
                for job in batch.drain(..) {
                    job.reply.complete(Err(store_error_ref(&e)));
                }
            }
        }
    }

    /// Under sustained load the writer is never idle: give the search index
    /// a larger step now and then, so it keeps up with a steady stream (its
    /// backlog is what queries scan) while taking at most about a seventh
    /// of the writer's time when inserts saturate it.
    fn index_under_load(&mut self) {
        if self.backlog && Instant::now() >= self.next_index_step {
            let started = Instant::now();
            self.backlog =
                matches!(index_step(&mut self.conn, INDEX_STEP_UNDER_LOAD), Ok(n) if n > 0);
            self.next_index_step =
                Instant::now() + INDEX_UNDER_LOAD_EVERY.max(started.elapsed() * 6);
        }
    }
}

/// Runs one purge and answers its caller; then gives a few free pages back
/// to the file system (`auto_vacuum = INCREMENTAL`).
fn run_purge(conn: &mut Connection, job: PurgeJob, search_index: bool, state: &WriterState) {
    let result = purge(conn, &job.before, job.max, search_index);
    state.faulted.store(result.is_err(), Ordering::SeqCst);
    if matches!(result, Ok(n) if n > 0) {
        let _ = incremental_vacuum(conn, 1024);
    }
    let _ = job.reply.send(result.map_err(store_error));
}

/// Returns up to `pages` free pages to the file system. The pragma frees
/// one page per step, so it is stepped to the end.
fn incremental_vacuum(conn: &Connection, pages: u32) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(&format!("PRAGMA incremental_vacuum({pages})"))?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

/// Deletes the oldest rows (by rowid, the order they were stored) received
/// before `before`, at most `max`, with their counters and search-index
/// entries, in one transaction. Stops at the first row received later.
fn purge(
    conn: &mut Connection,
    before: &str,
    max: u32,
    search_index: bool,
) -> rusqlite::Result<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let rows: Vec<Doomed> = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT created_at, {DOOMED_COLUMNS} FROM messages ORDER BY rowid LIMIT ?1"
        ))?;
        let mut found = Vec::new();
        let mut q = stmt.query([i64::from(max)])?;
        while let Some(r) = q.next()? {
            let created_at: String = r.get(0)?;
            if !received_before(&created_at, before) {
                break;
            }
            found.push(Doomed::from_row(r, 1)?);
        }
        found
    };
    let deleted = delete_rows(&tx, &rows, search_index)?;
    tx.commit()?;
    Ok(u64::try_from(deleted).unwrap_or(0))
}

/// Whether `created_at` (RFC 3339 UTC, as the writer formats it) is before
/// `before`: compared as instants, since the fraction's width varies.
fn received_before(created_at: &str, before: &str) -> bool {
    match (
        OffsetDateTime::parse(created_at, &Rfc3339),
        OffsetDateTime::parse(before, &Rfc3339),
    ) {
        (Ok(at), Ok(cutoff)) => at < cutoff,
        _ => false,
    }
}

/// Under load, the least time between two search-index steps; a step that
/// took longer than a sixth of this pushes the next one further out.
const INDEX_UNDER_LOAD_EVERY: Duration = Duration::from_millis(25);

/// Rows per search-index step under load: up to about 10,000 rows/s at one
/// step every 25 ms.
const INDEX_STEP_UNDER_LOAD: i64 = 256;

/// How often a faulted writer tries a write on its own.
const PROBE_EVERY: Duration = Duration::from_millis(500);

/// A small real write (one settings row), committed like any batch.
fn probe(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO settings (name, value) VALUES ('last_write_probe', ?1)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        [OffsetDateTime::now_utc().unix_timestamp().to_string()],
    )?;
    tx.commit()
}

/// Rows the search index takes per step (a few milliseconds of work, so an
/// insert arriving meanwhile waits little).
const INDEX_STEP: i64 = 64;

/// Adds the next `limit` rows past the high-water mark to the search index,
/// in one transaction with the new mark, so a reader's snapshot always sees
/// the index and the mark agree. Returns how many rows it covered.
fn index_step(conn: &mut Connection, limit: i64) -> rusqlite::Result<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mark: i64 = tx
        .prepare_cached(&format!("SELECT {SEARCH_MARK}"))?
        .query_row([], |r| r.get::<_, Option<i64>>(0))?
        .unwrap_or(0);
    let (upto, rows): (Option<i64>, i64) = tx
        .prepare_cached(
            "SELECT MAX(rowid), COUNT(*) FROM
                (SELECT rowid FROM messages WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)",
        )?
        .query_row(params![mark, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let Some(upto) = upto else {
        return Ok(0);
    };
    tx.prepare_cached(
        "INSERT INTO messages_search (rowid, text_folded)
         SELECT rowid, text_folded FROM messages
         WHERE rowid > ?1 AND rowid <= ?2 AND text_folded IS NOT NULL",
    )?
    .execute(params![mark, upto])?;
    tx.prepare_cached("UPDATE settings SET value = ?1 WHERE name = 'search_indexed_upto'")?
        .execute([upto.to_string()])?;
    tx.commit()?;
    Ok(usize::try_from(rows).unwrap_or(0))
}

/// The rowid is the message's feed number (`Seq`), given here rather than
/// left to SQLite: SQLite reuses the largest rowid once its row is deleted,
/// and a feed number must never come back. `seq_high` in settings keeps
/// the largest number handed out for when that row is gone.
const INSERT: &str = "INSERT INTO messages
    (message_id, from_msisdn, to_msisdn, ts, text, created_at, ts_key, text_folded, rowid,
     source, kind, sender_name, media_id, media_mime_type, media_sha256, media_filename,
     media_voice, reply_to, business_number_id, delivery_id, raw)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
            ?19, ?20, ?21)
    ON CONFLICT (message_id) DO NOTHING";

/// Inserts the batch in one transaction, all or nothing; the outcomes are
/// in the order of the batch's jobs and their messages.
fn write_batch(conn: &mut Connection, batch: &[Job]) -> rusqlite::Result<Vec<InsertOutcome>> {
    let created_at = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(batch.iter().map(|j| j.messages.len()).sum());
    // One writer, so numbers follow commit order; read under the write
    // lock. Never below the clock (see `store_kit::numbers`).
    let last: i64 = tx.prepare_cached(LAST_SEQ)?.query_row([], |r| r.get(0))?;
    let mut seq = store_kit::numbers::base(last);
    let mut created = Tally::default();
    {
        let mut insert = tx.prepare_cached(INSERT)?;
        for m in batch.iter().flat_map(|job| &job.messages) {
            let text = m.text().map(domain::MessageText::as_str);
            let folded = m.text().map(domain::MessageText::folded);
            let e = store_kit::rows::envelope_columns(m.envelope());
            let changed = insert.execute(params![
                m.id().as_str(),
                m.from().as_str(),
                m.to().as_str(),
                m.ts().as_str(),
                text,
                created_at,
                m.ts().sort_key(),
                folded,
                seq + 1,
                e.source,
                e.kind,
                e.sender_name,
                e.media_id,
                e.media_mime_type,
                e.media_sha256,
                e.media_filename,
                e.media_voice,
                e.reply_to,
                e.business_number_id,
                e.delivery_id,
                m.envelope().raw(),
            ])?;
            outcomes.push(if changed == 1 {
                seq += 1;
                created.add_message_at(m, seq);
                InsertOutcome::Created
            } else {
                InsertOutcome::Duplicate
            });
        }
    }
    count_batch(&tx, &created)?;
    tx.commit()?;
    Ok(outcomes)
}

/// Adds a batch's created messages to the counters `/stats`, totals and
/// deep offsets read: one statement or two per sender and per day, one for
/// the totals, whatever the batch's size.
fn count_batch(tx: &rusqlite::Transaction<'_>, created: &Tally) -> rusqlite::Result<()> {
    if created.is_empty() {
        return Ok(());
    }
    let mut new_senders = 0_i64;
    let mut add = tx.prepare_cached(
        "UPDATE senders SET message_count = message_count + ?2, last_seq = MAX(last_seq, ?3)
         WHERE from_msisdn = ?1",
    )?;
    let mut first = tx.prepare_cached(
        "INSERT INTO senders (from_msisdn, message_count, last_seq) VALUES (?1, ?2, ?3)",
    )?;
    for (from, n) in created.senders() {
        let last = created.last_seq(from);
        if add.execute(params![from, n, last])? == 0 {
            first.execute(params![from, n, last])?;
            new_senders += 1;
        }
    }
    let mut day = tx.prepare_cached(
        "INSERT INTO day_counts (day, message_count) VALUES (?1, ?2)
         ON CONFLICT (day) DO UPDATE SET message_count = message_count + excluded.message_count",
    )?;
    for (d, n) in created.days() {
        day.execute(params![d, n])?;
    }
    let total = created.total();
    tx.prepare_cached(
        "UPDATE totals SET messages = messages + ?1, senders = senders + ?2 WHERE id = 1",
    )?
    .execute(params![total, new_senders])?;
    Ok(())
}
