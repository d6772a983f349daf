//! [`Receipt`]: the answer to a store call that completes later, which a
//! caller may block on ([`Receipt::wait`]) or await (it is a plain
//! [`Future`]), so the port serves synchronous and asynchronous callers
//! alike without naming a runtime. An async caller waiting for a commit
//! then holds no thread, and every request in flight can share one commit.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
    /// The completer was dropped without an answer.
    abandoned: bool,
}

struct Shared<T> {
    slot: Mutex<Slot<T>>,
    ready: Condvar,
}

/// Creates a connected pair: the store keeps the [`Completer`], the caller
/// gets the [`Receipt`].
#[must_use]
pub fn channel<T>() -> (Completer<T>, Receipt<T>) {
    let shared = Arc::new(Shared {
        slot: Mutex::new(Slot {
            value: None,
            waker: None,
            abandoned: false,
        }),
        ready: Condvar::new(),
    });
    (
        Completer {
            shared: Some(Arc::clone(&shared)),
        },
        Receipt { shared },
    )
}

/// The store's side: answers once.
pub struct Completer<T> {
    shared: Option<Arc<Shared<T>>>,
}

impl<T> std::fmt::Debug for Completer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completer").finish_non_exhaustive()
    }
}

impl<T> Completer<T> {
    /// Answers the receipt and wakes whoever waits on it.
    pub fn complete(mut self, value: T) {
        if let Some(shared) = self.shared.take() {
            let waker = {
                let mut slot = shared.slot.lock().unwrap_or_else(PoisonError::into_inner);
                slot.value = Some(value);
                slot.waker.take()
            };
            shared.ready.notify_all();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

impl<T> Drop for Completer<T> {
    /// Dropped unanswered (a store shutting down, a bug): the receipt
    /// resolves to `None` rather than waiting forever.
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            let waker = {
                let mut slot = shared.slot.lock().unwrap_or_else(PoisonError::into_inner);
                slot.abandoned = true;
                slot.waker.take()
            };
            shared.ready.notify_all();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

/// The caller's side: the answer, once the store gives it; `None` when
/// the store dropped the request unanswered.
pub struct Receipt<T> {
    shared: Arc<Shared<T>>,
}

impl<T> std::fmt::Debug for Receipt<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receipt").finish_non_exhaustive()
    }
}

impl<T> Receipt<T> {
    /// A receipt already answered.
    #[must_use]
    pub fn ready(value: T) -> Self {
        let (completer, receipt) = channel();
        completer.complete(value);
        receipt
    }
}

impl<T> Receipt<T> {
    /// Blocks this thread until the answer.
    #[must_use]
    pub fn wait(self) -> Option<T> {
        let mut slot = self
            .shared
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(value) = slot.value.take() {
                return Some(value);
            }
            if slot.abandoned {
                return None;
            }
            slot = self
                .shared
                .ready
                .wait(slot)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl<T> Future for Receipt<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut slot = self
            .shared
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(value) = slot.value.take() {
            return Poll::Ready(Some(value));
        }
        if slot.abandoned {
            return Poll::Ready(None);
        }
        match &slot.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => slot.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_gets_the_answer_from_another_thread() {
        let (completer, receipt) = channel();
        let t = std::thread::spawn(move || completer.complete(7));
        assert_eq!(receipt.wait(), Some(7));
        t.join().expect("thread");
    }

    #[test]
    fn an_abandoned_receipt_resolves_to_none() {
        let (completer, receipt) = channel::<u8>();
        drop(completer);
        assert_eq!(receipt.wait(), None);
        assert_eq!(Receipt::ready(3).wait(), Some(3));
    }

    #[test]
    fn it_is_a_future_woken_by_the_completer() {
        struct Flag(std::sync::atomic::AtomicBool);
        impl std::task::Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let flag = Arc::new(Flag(std::sync::atomic::AtomicBool::new(false)));
        let waker = Waker::from(Arc::clone(&flag));
        let mut cx = Context::from_waker(&waker);
        let (completer, mut receipt) = channel();
        assert!(Pin::new(&mut receipt).poll(&mut cx).is_pending());
        completer.complete("done");
        assert!(flag.0.load(std::sync::atomic::Ordering::SeqCst), "woken");
        assert_eq!(
            Pin::new(&mut receipt).poll(&mut cx),
            Poll::Ready(Some("done"))
        );
    }
}
