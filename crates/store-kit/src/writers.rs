//! [`Writers`]: the handle to a store's writer threads and their queue.
//! Callers never wait for room: a full queue is [`StoreError::Overloaded`]
//! at once (a 503 the sender retries), a stopped writer is
//! [`StoreError::Internal`]. Dropping the handle closes the queue, so the
//! threads finish what is queued and exit, and then joins them: every
//! accepted write is committed before the store is gone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{
    Receiver, RecvError, RecvTimeoutError, SyncSender, TryRecvError, TrySendError, sync_channel,
};
use std::thread::JoinHandle;
use std::time::Duration;

use domain::receipt::{Completer, channel};
use domain::{InsertOutcome, Message, Receipt, StoreError, SubmitResult};

/// One caller's messages and where their outcomes go.
#[derive(Debug)]
pub struct Job {
    /// The messages, in the caller's order.
    pub messages: Vec<Message>,
    /// Answered once, after the commit (or the failure).
    pub reply: Completer<SubmitResult>,
}

/// The queue's sending side and the threads that drain it.
pub struct Writers<W> {
    queue: Option<SyncSender<W>>,
    depth: Arc<AtomicUsize>,
    capacity: usize,
    threads: Vec<JoinHandle<()>>,
}

impl<W> std::fmt::Debug for Writers<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writers")
            .field("open", &self.queue.is_some())
            .field("depth", &self.depth())
            .field("threads", &self.threads.len())
            .finish()
    }
}

/// The queue's sending side, before the threads are started.
#[derive(Debug)]
pub struct Sender<W> {
    tx: SyncSender<W>,
    depth: Arc<AtomicUsize>,
    capacity: usize,
}

/// The queue's receiving side: a [`Receiver`] that keeps the queue's depth
/// (what is queued and not yet taken) for the metrics.
#[derive(Debug)]
pub struct Queue<W> {
    rx: Receiver<W>,
    depth: Arc<AtomicUsize>,
}

impl<W> Queue<W> {
    fn took(&self, work: W) -> W {
        self.depth.fetch_sub(1, Ordering::SeqCst);
        work
    }

    /// As [`Receiver::recv`].
    ///
    /// # Errors
    /// When every sender is gone and the queue is empty.
    pub fn recv(&self) -> Result<W, RecvError> {
        self.rx.recv().map(|w| self.took(w))
    }

    /// As [`Receiver::try_recv`].
    ///
    /// # Errors
    /// As [`Receiver::try_recv`].
    pub fn try_recv(&self) -> Result<W, TryRecvError> {
        self.rx.try_recv().map(|w| self.took(w))
    }

    /// As [`Receiver::recv_timeout`].
    ///
    /// # Errors
    /// As [`Receiver::recv_timeout`].
    pub fn recv_timeout(&self, timeout: Duration) -> Result<W, RecvTimeoutError> {
        self.rx.recv_timeout(timeout).map(|w| self.took(w))
    }
}

/// A bounded queue of `capacity` pieces of work.
#[must_use]
pub fn queue<W>(capacity: usize) -> (Sender<W>, Queue<W>) {
    let (tx, rx) = sync_channel(capacity);
    let depth = Arc::new(AtomicUsize::new(0));
    (
        Sender {
            tx,
            depth: Arc::clone(&depth),
            capacity,
        },
        Queue { rx, depth },
    )
}

impl<W> Writers<W> {
    /// The handle to `threads`, which drain the queue `queue` feeds.
    #[must_use]
    pub fn new(queue: Sender<W>, threads: Vec<JoinHandle<()>>) -> Self {
        Self {
            queue: Some(queue.tx),
            depth: queue.depth,
            capacity: queue.capacity,
            threads,
        }
    }

    /// What is queued and not yet taken by a writer.
    #[must_use]
    pub fn depth(&self) -> usize {
        self.depth.load(Ordering::SeqCst)
    }

    /// How much the queue holds.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Queues `work` without waiting.
    ///
    /// # Errors
    /// [`StoreError::Overloaded`] when the queue is full (or closing),
    /// [`StoreError::Internal`] when every writer has stopped.
    pub fn send(&self, work: W) -> Result<(), StoreError> {
        let queue = self.queue.as_ref().ok_or(StoreError::Overloaded)?;
        // Counted before it can be taken, so the depth never goes below 0.
        self.depth.fetch_add(1, Ordering::SeqCst);
        queue.try_send(work).map_err(|e| {
            self.depth.fetch_sub(1, Ordering::SeqCst);
            match e {
                TrySendError::Full(_) => StoreError::Overloaded,
                TrySendError::Disconnected(_) => {
                    StoreError::Internal("the writer thread has stopped".into())
                }
            }
        })
    }

    /// Queues `messages` (wrapped by `work`); the receipt resolves after
    /// their commit, or at once with the error [`Self::send`] gives.
    pub fn submit(
        &self,
        messages: Vec<Message>,
        work: impl FnOnce(Job) -> W,
    ) -> Receipt<SubmitResult> {
        let (reply, answer) = channel();
        match self.send(work(Job { messages, reply })) {
            Ok(()) => answer,
            Err(e) => Receipt::ready(Err(e)),
        }
    }
}

impl<W> Drop for Writers<W> {
    fn drop(&mut self) {
        // Closing the queue lets the threads finish what is queued, then exit.
        drop(self.queue.take());
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Histogram: how long each write transaction took, commit included, in
/// milliseconds.
pub const COMMIT_LATENCY_MS: &str = "hookbox_commit_latency_ms";
/// Histogram: messages per write transaction.
pub const COMMIT_BATCH_SIZE: &str = "hookbox_commit_batch_size";

/// Records one committed batch of `messages` that took `took`.
pub fn record_commit(messages: usize, took: Duration) {
    metrics::histogram!(COMMIT_LATENCY_MS).record(took.as_secs_f64() * 1000.0);
    #[expect(clippy::cast_precision_loss, reason = "a batch size")]
    metrics::histogram!(COMMIT_BATCH_SIZE).record(messages as f64);
}

/// Waits for a submit's outcomes, for synchronous callers.
///
/// # Errors
/// The store's error, or [`StoreError::Internal`] when the writer dropped
/// the request without an answer.
pub fn wait(receipt: Receipt<SubmitResult>) -> Result<Vec<InsertOutcome>, StoreError> {
    receipt
        .wait()
        .unwrap_or_else(|| Err(StoreError::Internal("the writer dropped a request".into())))
}

#[cfg(test)]
mod tests {
    use domain::{InsertOutcome, StoreError};

    use super::{Job, Queue, Writers, queue, wait};

    fn drain(rx: Queue<Job>) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || {
            while let Ok(job) = rx.recv() {
                let n = job.messages.len();
                job.reply.complete(Ok(vec![InsertOutcome::Created; n]));
            }
        })
    }

    #[test]
    fn a_full_queue_is_overloaded_and_drop_drains_then_joins() {
        let (tx, rx) = queue::<Job>(1);
        let writers = Writers::new(tx, Vec::new());
        let first = writers.submit(Vec::new(), |j| j);
        let second = writers.submit(Vec::new(), |j| j);
        assert!(matches!(wait(second), Err(StoreError::Overloaded)));
        assert_eq!(
            (writers.depth(), writers.capacity()),
            (1, 1),
            "a refused one is not counted"
        );
        let thread = drain(rx);
        assert_eq!(wait(first).map(|o| o.len()).ok(), Some(0));
        assert_eq!(writers.depth(), 0, "taken");
        drop(writers);
        thread.join().expect("the drain ends once the queue closes");
    }

    #[test]
    fn a_stopped_writer_is_internal() {
        let (tx, rx) = queue::<Job>(1);
        drop(rx);
        let writers = Writers::new(tx, Vec::new());
        assert!(matches!(
            wait(writers.submit(Vec::new(), |j| j)),
            Err(StoreError::Internal(_))
        ));
    }
}
