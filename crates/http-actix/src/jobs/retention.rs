//! `RETENTION`: a thread that deletes messages hookbox received longer ago
//! than the retention period, through the port's `purge`, in small batches
//! (each one a short transaction behind the writer, so ingest waits at most
//! one batch), resting between batches so purging takes at most a fifth of
//! the writer's time. One log line per run that deleted something.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use domain::MessageStore;
use slog::Logger;

use crate::metrics::{PURGED_MESSAGES, PURGED_RECORDS};

/// Rows per purge transaction.
pub(crate) const PURGE_BATCH: u32 = 200;

/// After each batch the purger rests this many times as long as the batch
/// took, so purging takes at most a fifth of the writer's time and a burst
/// of webhooks never waits behind a long run of deletes.
const REST_FACTOR: u32 = 4;

/// How often a run starts: a tenth of the period, between 1 s and 60 s.
#[must_use]
pub(crate) fn run_every(period: Duration) -> Duration {
    (period / 10).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// The running purger; dropping it stops the thread (after its batch).
#[derive(Debug)]
pub(crate) struct Purger {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Purger {
    pub(crate) fn start(
        store: Arc<dyn MessageStore>,
        period: Duration,
        logger: Logger,
    ) -> std::io::Result<Self> {
        let (stop, stopped) = channel();
        let thread = std::thread::Builder::new()
            .name("hookbox-retention".into())
            .spawn(move || run(store.as_ref(), period, &logger, &stopped))?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Purger {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(store: &dyn MessageStore, period: Duration, logger: &Logger, stopped: &Receiver<()>) {
    let every = run_every(period);
    let retention = format!("{}s", period.as_secs());
    loop {
        match stopped.recv_timeout(every) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let cutoff = time::OffsetDateTime::now_utc() - period;
        let started = Instant::now();
        let mut purged = 0_u64;
        let mut batches = 0_u64;
        let failure = loop {
            let batch_started = Instant::now();
            match store.purge(cutoff, PURGE_BATCH) {
                Ok(n) => {
                    purged += n;
                    batches += 1;
                    metrics::counter!(PURGED_MESSAGES).increment(n);
                    if n < u64::from(PURGE_BATCH) {
                        break None;
                    }
                }
                Err(e) => break Some(crate::error::describe(&e)),
            }
            match stopped.recv_timeout(batch_started.elapsed() * REST_FACTOR) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => break None,
            }
        };
        // Statuses and events go by the same rule, after the messages.
        let (records, failure) = match failure {
            Some(e) => (0, Some(e)),
            None => purge_records(store, cutoff, stopped),
        };
        let older_than = cutoff
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if let Some(error) = failure {
            slog::warn!(logger, "purge failed; retrying at the next run";
                "purged" => purged, "older_than" => older_than,
                "retention" => retention.clone(), "error" => error);
        } else if purged > 0 || records > 0 {
            slog::info!(logger, "purged messages";
                "purged" => purged, "records" => records, "batches" => batches,
                "older_than" => older_than, "retention" => retention.clone(),
                "took_ms" => took_ms);
        }
    }
}

/// Statuses and events received before `cutoff`, batch by batch with the
/// same rests: how many went, and the error that stopped it, if any.
fn purge_records(
    store: &dyn MessageStore,
    cutoff: time::OffsetDateTime,
    stopped: &Receiver<()>,
) -> (u64, Option<String>) {
    let mut purged = 0;
    loop {
        let batch_started = Instant::now();
        match store.purge_records(cutoff, PURGE_BATCH) {
            Ok(n) => {
                purged += n;
                metrics::counter!(PURGED_RECORDS).increment(n);
                if n < u64::from(PURGE_BATCH) {
                    return (purged, None);
                }
            }
            Err(e) => return (purged, Some(crate::error::describe(&e))),
        }
        match stopped.recv_timeout(batch_started.elapsed() * REST_FACTOR) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return (purged, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        for (text, secs) in [
            ("45s", Some(45)),
            ("90m", Some(5400)),
            ("12h", Some(43_200)),
            ("30d", Some(2_592_000)),
            (" 3s ", Some(3)),
            ("0s", None),
            ("3", None),
            ("s", None),
            ("3w", None),
            ("-3s", None),
            ("1.5h", None),
            ("99999999999999999999d", None),
            ("36501d", None),
            ("", None),
        ] {
            assert_eq!(
                crate::config::parse_period(text).map(|d| d.as_secs()),
                secs,
                "{text:?}"
            );
        }
        assert_eq!(run_every(Duration::from_secs(3)), Duration::from_secs(1));
        assert_eq!(run_every(Duration::from_secs(300)), Duration::from_secs(30));
        assert_eq!(
            run_every(Duration::from_secs(86_400)),
            Duration::from_secs(60)
        );
    }
}
