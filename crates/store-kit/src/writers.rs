//! [`Writers`]: the handle to a store's writer threads and their queue.
//! Callers never wait for room: a full queue is [`StoreError::Overloaded`]
//! at once (a 503 the sender retries), a stopped writer is
//! [`StoreError::Internal`]. Dropping the handle closes the queue, so the
//! threads finish what is queued and exit, and then joins them: every
//! accepted write is committed before the store is gone.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

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
    threads: Vec<JoinHandle<()>>,
}

impl<W> std::fmt::Debug for Writers<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writers")
            .field("open", &self.queue.is_some())
            .field("threads", &self.threads.len())
            .finish()
    }
}

/// A bounded queue of `capacity` pieces of work.
#[must_use]
pub fn queue<W>(capacity: usize) -> (SyncSender<W>, Receiver<W>) {
    sync_channel(capacity)
}

impl<W> Writers<W> {
    /// The handle to `threads`, which drain the queue `queue` feeds.
    #[must_use]
    pub fn new(queue: SyncSender<W>, threads: Vec<JoinHandle<()>>) -> Self {
        Self {
            queue: Some(queue),
            threads,
        }
    }

    /// Queues `work` without waiting.
    ///
    /// # Errors
    /// [`StoreError::Overloaded`] when the queue is full (or closing),
    /// [`StoreError::Internal`] when every writer has stopped.
    pub fn send(&self, work: W) -> Result<(), StoreError> {
        let queue = self.queue.as_ref().ok_or(StoreError::Overloaded)?;
        queue.try_send(work).map_err(|e| match e {
            TrySendError::Full(_) => StoreError::Overloaded,
            TrySendError::Disconnected(_) => {
                StoreError::Internal("the writer thread has stopped".into())
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
    use std::sync::mpsc::Receiver;

    use domain::{InsertOutcome, StoreError};

    use super::{Job, Writers, queue, wait};

    fn drain(rx: Receiver<Job>) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || {
            for job in rx {
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
        let thread = drain(rx);
        assert_eq!(wait(first).map(|o| o.len()).ok(), Some(0));
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
