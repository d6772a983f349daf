//! Running a fixed list of requests at a fixed concurrency.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use testkit::Connection;

/// What one load phase measured.
#[derive(Debug, Default, Clone)]
pub(crate) struct LoadResult {
    pub(crate) sent: usize,
    pub(crate) elapsed: Duration,
    /// Latencies in microseconds, sorted.
    pub(crate) latencies_us: Vec<u64>,
    pub(crate) statuses: BTreeMap<u16, u64>,
    pub(crate) io_errors: u64,
    /// Indexes of the requests answered 200.
    pub(crate) ok_indexes: Vec<usize>,
}

impl LoadResult {
    pub(crate) fn rate(&self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
        let sent = self.sent as f64;
        sent / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `p`-th percentile latency in milliseconds.
    pub(crate) fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "index within len"
        )]
        let i = ((self.latencies_us.len() as f64 - 1.0) * p / 100.0).round() as usize;
        #[expect(clippy::cast_precision_loss, reason = "microseconds")]
        let us = self.latencies_us[i.min(self.latencies_us.len() - 1)] as f64;
        us / 1000.0
    }

    pub(crate) fn count(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    pub(crate) fn only(&self, status: u16) -> bool {
        self.io_errors == 0 && self.statuses.len() == 1 && self.count(status) as usize == self.sent
    }
}

/// Sends each request once, `concurrency` at a time on keep-alive
/// connections spread over `addrs` (replicas) in turn, stopping early at
/// `deadline`.
pub(crate) fn run(
    addrs: &[SocketAddr],
    requests: &Arc<Vec<Vec<u8>>>,
    concurrency: usize,
    deadline: Duration,
) -> LoadResult {
    let next = Arc::new(AtomicUsize::new(0));
    let merged = Arc::new(Mutex::new(LoadResult::default()));
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|w| {
            let (next, merged, requests) =
                (Arc::clone(&next), Arc::clone(&merged), Arc::clone(requests));
            let addr = addrs[w % addrs.len().max(1)];
            std::thread::spawn(move || {
                let mut conn = Connection::new(addr);
                let mut mine = LoadResult::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= requests.len() || start.elapsed() > deadline {
                        break;
                    }
                    let t = Instant::now();
                    match conn.send(&requests[i]) {
                        Ok(r) => {
                            *mine.statuses.entry(r.status).or_default() += 1;
                            if r.status == 200 {
                                mine.ok_indexes.push(i);
                            }
                        }
                        Err(_) => mine.io_errors += 1,
                    }
                    mine.latencies_us
                        .push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
                    mine.sent += 1;
                }
                let mut all = merged
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                all.sent += mine.sent;
                all.io_errors += mine.io_errors;
                all.latencies_us.extend(mine.latencies_us);
                all.ok_indexes.extend(mine.ok_indexes);
                for (s, n) in mine.statuses {
                    *all.statuses.entry(s).or_default() += n;
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    let elapsed = start.elapsed();
    let mut result = Arc::try_unwrap(merged)
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        })
        .unwrap_or_default();
    result.elapsed = elapsed;
    result.latencies_us.sort_unstable();
    result
}
