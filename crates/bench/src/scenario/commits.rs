//! How the writers committed during one load. From each server's
//! `hookbox_commit_batch_size` and `hookbox_commit_latency_ms`: the
//! commits, rows per commit and the mean commit time. On PostgreSQL, also
//! where the writers' connections spent their time in a batch, sampled
//! from `pg_stat_activity` every 10 ms: waiting for a lock (another
//! writer holding the feed counter's row), writing or flushing the WAL, or
//! running. That is what shows whether replicas take turns.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;
use testkit::Server;

/// One load's commits, over all its servers.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Commits {
    pub(crate) commits: u64,
    pub(crate) rows_per_commit: f64,
    pub(crate) mean_commit_ms: f64,
    /// PostgreSQL: the writers' time, sampled.
    pub(crate) writers: Option<WriterTime>,
}

/// Where PostgreSQL's writer connections were, over the samples in which
/// at least one was running a batch. The four shares add up to one.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct WriterTime {
    pub(crate) samples: u64,
    /// Samples with at least one writer in a batch, of all samples.
    pub(crate) busy: f64,
    /// Of the writers' samples in a batch: waiting for a heavyweight lock.
    pub(crate) lock: f64,
    /// Writing or flushing the WAL (`IO:WAL*`, `LWLock:WALWrite`).
    pub(crate) wal: f64,
    /// No wait event: on the CPU or ready to run.
    pub(crate) running: f64,
    pub(crate) other: f64,
}

/// The totals of `server`'s two commit histograms: commits, rows, ms.
fn totals(server: &Server) -> Option<(f64, f64, f64)> {
    let body = server.client().get("/metrics").ok()?.text();
    let value = |name: &str| crate::files::metric(&body, name);
    Some((
        value("hookbox_commit_batch_size_count")?,
        value("hookbox_commit_batch_size_sum")?,
        value("hookbox_commit_latency_ms_sum")?,
    ))
}

/// Where the servers' histograms stand (summed): taken before a load.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Before(f64, f64, f64);

pub(super) fn before(servers: &[Server]) -> Before {
    let (c, r, m) = servers
        .iter()
        .filter_map(totals)
        .fold((0.0, 0.0, 0.0), |a, t| (a.0 + t.0, a.1 + t.1, a.2 + t.2));
    Before(c, r, m)
}

/// The commits since `before`, with the writers' time from `sampler`.
pub(super) fn since(servers: &[Server], before: Before, sampler: Option<WriterSampler>) -> Commits {
    let now = self::before(servers);
    let commits = (now.0 - before.0).max(0.0);
    let per = |v: f64| if commits > 0.0 { v / commits } else { 0.0 };
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a non-negative count read as a float"
    )]
    let count = commits as u64;
    Commits {
        commits: count,
        rows_per_commit: per(now.1 - before.1),
        mean_commit_ms: per(now.2 - before.2),
        writers: sampler.map(WriterSampler::finish),
    }
}

impl Commits {
    /// One line: the commits, and where the writers waited.
    pub(super) fn print(&self, what: &str) {
        let writers = self.writers.map_or(String::new(), |w| {
            format!(
                "; PostgreSQL's writers ({} samples, 10 ms apart): in a batch {:.0} % of the time, \
                 and of that {:.0} % waiting for a lock, {:.0} % on the WAL, {:.0} % running, {:.0} % other",
                w.samples,
                w.busy * 100.0,
                w.lock * 100.0,
                w.wal * 100.0,
                w.running * 100.0,
                w.other * 100.0
            )
        });
        println!(
            "{what}: {} commits, {:.1} rows per commit, {:.2} ms per commit (its wait for locks included){writers}",
            self.commits, self.rows_per_commit, self.mean_commit_ms
        );
    }
}

/// What one writer connection in a batch was doing, by its wait event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Doing {
    Lock,
    Wal,
    Running,
    Other,
}

fn doing(wait_type: &str, wait_event: &str) -> Doing {
    match (wait_type, wait_event) {
        ("", _) => Doing::Running,
        ("Lock", _) => Doing::Lock,
        ("IO", e) if e.starts_with("WAL") => Doing::Wal,
        ("LWLock", "WALWrite" | "WALInsert") => Doing::Wal,
        _ => Doing::Other,
    }
}

/// Samples hookbox's writer connections until finished.
pub(super) struct WriterSampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Counts>,
}

/// What the samples saw: writer connections in a batch by what they were
/// doing, the samples taken, and those with at least one writer in a batch.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    running: u64,
    lock: u64,
    wal: u64,
    other: u64,
    samples: u64,
    busy: u64,
}

impl Counts {
    /// One sample: the writers then in a batch.
    fn add(&mut self, writers: &[Doing]) {
        for d in writers {
            *match d {
                Doing::Running => &mut self.running,
                Doing::Lock => &mut self.lock,
                Doing::Wal => &mut self.wal,
                Doing::Other => &mut self.other,
            } += 1;
        }
        self.samples += 1;
        if !writers.is_empty() {
            self.busy += 1;
        }
    }

    #[expect(clippy::cast_precision_loss, reason = "sample counts")]
    fn shares(&self) -> WriterTime {
        let in_batch = (self.running + self.lock + self.wal + self.other).max(1) as f64;
        WriterTime {
            samples: self.samples,
            busy: self.busy as f64 / self.samples.max(1) as f64,
            running: self.running as f64 / in_batch,
            lock: self.lock as f64 / in_batch,
            wal: self.wal as f64 / in_batch,
            other: self.other as f64 / in_batch,
        }
    }
}

/// Every hookbox writer on the server, whatever its database: the bench's
/// servers from earlier phases are idle by then, and are not counted.
const WRITERS_IN_A_BATCH: &str = "SELECT coalesce(wait_event_type, ''), coalesce(wait_event, '') \
     FROM pg_stat_activity WHERE application_name = 'hookbox-write' AND state = 'active'";

impl WriterSampler {
    /// `None` when the bench cannot connect to `url`.
    pub(super) fn start(url: &str) -> Option<Self> {
        let mut client = postgres::Client::connect(url, postgres::NoTls).ok()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut counts = Counts::default();
            while !flag.load(Ordering::Relaxed) {
                let Ok(rows) = client.query(WRITERS_IN_A_BATCH, &[]) else {
                    break;
                };
                let writers: Vec<Doing> = rows.iter().map(|r| doing(r.get(0), r.get(1))).collect();
                counts.add(&writers);
                std::thread::sleep(Duration::from_millis(10));
            }
            counts
        });
        Some(Self { stop, thread })
    }

    fn finish(self) -> WriterTime {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default().shares()
    }
}

#[cfg(test)]
mod tests {
    use super::Doing;

    #[test]
    fn wait_events_are_classed() {
        assert_eq!(super::doing("", ""), Doing::Running);
        assert_eq!(super::doing("Lock", "transactionid"), Doing::Lock);
        assert_eq!(super::doing("Lock", "tuple"), Doing::Lock);
        assert_eq!(super::doing("IO", "WALSync"), Doing::Wal);
        assert_eq!(super::doing("IO", "WALWrite"), Doing::Wal);
        assert_eq!(super::doing("LWLock", "WALWrite"), Doing::Wal);
        assert_eq!(super::doing("IO", "DataFileExtend"), Doing::Other);
        assert_eq!(super::doing("LWLock", "BufferContent"), Doing::Other);
    }

    #[test]
    fn shares_are_of_the_samples_in_a_batch() {
        let mut counts = super::Counts::default();
        // Two writers: one running and one waiting; then one on the WAL;
        // then none in a batch.
        counts.add(&[Doing::Running, Doing::Lock]);
        counts.add(&[Doing::Wal]);
        counts.add(&[]);
        let w = counts.shares();
        assert_eq!(w.samples, 3);
        assert!((w.busy - 2.0 / 3.0).abs() < 1e-9);
        assert!((w.lock - 1.0 / 3.0).abs() < 1e-9);
        assert!((w.wal - 1.0 / 3.0).abs() < 1e-9);
        assert!((w.running - 1.0 / 3.0).abs() < 1e-9);
        assert!(w.other.abs() < 1e-9);
    }
}
