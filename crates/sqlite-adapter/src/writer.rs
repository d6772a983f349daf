//! The single writer: group commit over one connection.
//!
//! SQLite allows one writer at a time and each commit costs an fsync, so
//! inserting from many threads means lock contention and one fsync per row.
//! Instead every insert is queued to one thread, which takes whatever has
//! queued up (up to a batch limit), inserts it all in one transaction, commits
//! once, and only then answers each caller. Under load the fsync is shared by
//! the whole batch; when idle a batch is a single row and no latency is added.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use domain::{InsertOutcome, Message, StoreError};
use rusqlite::{Connection, TransactionBehavior, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{store_error, store_error_ref};

type Reply = SyncSender<Result<Vec<InsertOutcome>, StoreError>>;

/// One caller's messages (one for a webhook, many for a bulk import).
struct Job {
    messages: Vec<Message>,
    reply: Reply,
}

/// Handle to the writer thread; dropping it drains the queue and joins.
#[derive(Debug)]
pub(crate) struct Writer {
    queue: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
    state: Arc<WriterState>,
}

/// What the writer tells the rest of the store.
#[derive(Debug, Default)]
pub(crate) struct WriterState {
    /// The last transaction failed; cleared by the next that commits.
    pub(crate) faulted: AtomicBool,
    /// The thread has exited.
    pub(crate) stopped: AtomicBool,
}

impl Writer {
    pub(crate) fn start(
        conn: Connection,
        queue_capacity: usize,
        max_batch: usize,
    ) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel(queue_capacity);
        let state = Arc::new(WriterState::default());
        let thread_state = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name("hookbox-writer".into())
            .spawn(move || {
                run(conn, &rx, max_batch.max(1), &thread_state);
                thread_state.stopped.store(true, Ordering::SeqCst);
            })?;
        Ok(Self {
            queue: Some(tx),
            thread: Some(thread),
            state,
        })
    }

    pub(crate) fn state(&self) -> &WriterState {
        &self.state
    }

    /// Queues `messages` and waits for their commit; one outcome each.
    pub(crate) fn insert(&self, messages: Vec<Message>) -> Result<Vec<InsertOutcome>, StoreError> {
        let queue = self.queue.as_ref().ok_or(StoreError::Overloaded)?;
        let (reply, answer) = sync_channel(1);
        match queue.try_send(Job { messages, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(StoreError::Overloaded),
            Err(TrySendError::Disconnected(_)) => {
                return Err(StoreError::Internal("the writer thread has stopped".into()));
            }
        }
        answer
            .recv()
            .unwrap_or_else(|_| Err(StoreError::Internal("the writer dropped a request".into())))
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue lets the thread finish what is queued, then exit.
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(mut conn: Connection, rx: &Receiver<Job>, max_batch: usize, state: &WriterState) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    while let Ok(first) = rx.recv() {
        let mut rows = first.messages.len();
        batch.push(first);
        while rows < max_batch {
            match rx.try_recv() {
                Ok(job) => {
                    rows += job.messages.len();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        match write_batch(&mut conn, &batch) {
            Ok(mut outcomes) => {
                state.faulted.store(false, Ordering::SeqCst);
                for job in batch.drain(..).rev() {
                    let mine = outcomes.split_off(outcomes.len() - job.messages.len());
                    let _ = job.reply.send(Ok(mine));
                }
            }
            Err(e) if batch.len() > 1 => {
                // Retry job by job, so one bad row cannot fail its neighbours.
                drop(e);
                for job in batch.drain(..) {
                    let result = write_batch(&mut conn, std::slice::from_ref(&job));
                    state.faulted.store(result.is_err(), Ordering::SeqCst);
                    let _ = job.reply.send(result.map_err(store_error));
                }
            }
            Err(e) => {
                state.faulted.store(true, Ordering::SeqCst);
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(store_error_ref(&e)));
                }
            }
        }
    }
}

const INSERT: &str = "INSERT INTO messages
    (message_id, from_msisdn, to_msisdn, ts, text, created_at, ts_key, text_folded)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
    ON CONFLICT (message_id) DO NOTHING";

/// Inserts the batch in one transaction, all or nothing; the outcomes are
/// in the order of the batch's jobs and their messages.
fn write_batch(conn: &mut Connection, batch: &[Job]) -> rusqlite::Result<Vec<InsertOutcome>> {
    let created_at = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(batch.iter().map(|j| j.messages.len()).sum());
    {
        let mut insert = tx.prepare_cached(INSERT)?;
        for m in batch.iter().flat_map(|job| &job.messages) {
            let text = m.text().map(domain::MessageText::as_str);
            let folded = m.text().map(domain::MessageText::folded);
            let changed = insert.execute(params![
                m.id().as_str(),
                m.from().as_str(),
                m.to().as_str(),
                m.ts().as_str(),
                text,
                created_at,
                m.ts().sort_key(),
                folded,
            ])?;
            outcomes.push(if changed == 1 {
                InsertOutcome::Created
            } else {
                InsertOutcome::Duplicate
            });
        }
    }
    tx.commit()?;
    Ok(outcomes)
}
