//! PostgreSQL: the connections each replica holds, at the most during
//! ingest and once idle (the read pools close idle connections at their
//! 30 s sweep, writers after 20 s without work), from `pg_stat_activity`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

/// Connections per replica, under load and idle.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Connections {
    pub(crate) replicas: usize,
    pub(crate) under_load_per_replica: f64,
    pub(crate) idle_per_replica: f64,
    /// Seconds from the end of the load until the idle count was reached.
    pub(crate) idle_after_seconds: f64,
}

/// hookbox's connections to the database `url` names, now.
fn count(url: &str) -> i64 {
    testkit::postgres::query_i64(
        url,
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name LIKE 'hookbox-%'",
    )
}

/// Samples the count every 100 ms until stopped; the most seen.
pub(super) struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<i64>,
}

impl Sampler {
    pub(super) fn start(url: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, url) = (Arc::clone(&stop), url.to_owned());
        let thread = std::thread::spawn(move || {
            let mut most = 0;
            while !flag.load(Ordering::Relaxed) {
                most = most.max(count(&url));
                std::thread::sleep(Duration::from_millis(100));
            }
            most
        });
        Self { stop, thread }
    }

    /// The most seen; then waits (up to 75 s) for the replicas to come down
    /// to 2 connections each, the idle target.
    pub(super) fn finish(self, url: &str, replicas: usize) -> Connections {
        self.stop.store(true, Ordering::Relaxed);
        let most = self.thread.join().unwrap_or(0);
        let started = Instant::now();
        let target = i64::try_from(2 * replicas).unwrap_or(i64::MAX);
        let mut now = count(url);
        while now > target && started.elapsed() < Duration::from_secs(75) {
            std::thread::sleep(Duration::from_millis(500));
            now = count(url);
        }
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        let per = |n: i64| n as f64 / replicas.max(1) as f64;
        let c = Connections {
            replicas,
            under_load_per_replica: per(most),
            idle_per_replica: per(now),
            idle_after_seconds: started.elapsed().as_secs_f64(),
        };
        println!(
            "connections per replica: {:.1} at most under load, {:.1} idle ({:.0} s after the load; target <= 2)",
            c.under_load_per_replica, c.idle_per_replica, c.idle_after_seconds
        );
        c
    }
}
