//! `--soak SECONDS`: mixed writes and reads at a fixed concurrency for a
//! fixed time, sampling the server's memory, to show it stays flat and that
//! nothing answers 5xx.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use testkit::{Connection, Server, request_bytes, sign};

use serde_json::json;

use crate::options::Options;
use crate::traffic::{Rng, Senders, fields};

/// What a soak measured.
pub(crate) struct SoakResult {
    pub(crate) requests: u64,
    pub(crate) statuses: BTreeMap<u16, u64>,
    pub(crate) io_errors: u64,
    /// (seconds since start, RSS MB)
    pub(crate) rss: Vec<(f64, f64)>,
    pub(crate) elapsed: Duration,
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// `id_space`: when set, webhook ids are drawn from that many only, so once
/// all are stored every write is a replay and the data stops growing.
pub(crate) fn run(
    seconds: u64,
    concurrency: usize,
    senders: &Senders,
    id_space: Option<u64>,
) -> Result<SoakResult, String> {
    let server = Server::builder()
        .discard_stdout()
        .try_start()
        .map_err(|e| format!("hookbox did not start: {e:?}"))?;
    let addr = server.client().addr();
    let duration = Duration::from_secs(seconds);
    let stop = Arc::new(AtomicBool::new(false));
    let ids = Arc::new(AtomicU64::new(0));
    let merged = Arc::new(Mutex::new((BTreeMap::<u16, u64>::new(), 0_u64, 0_u64)));
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (stop, ids, merged, senders) = (
                Arc::clone(&stop),
                Arc::clone(&ids),
                Arc::clone(&merged),
                senders.clone(),
            );
            std::thread::spawn(move || {
                let mut rng = Rng::new(1000 + w as u64);
                let mut conn = Connection::new(addr);
                let (mut statuses, mut sent, mut errors) =
                    (BTreeMap::<u16, u64>::new(), 0_u64, 0_u64);
                // Bounded by time (and, as a backstop, by count).
                while !stop.load(Ordering::Relaxed) && sent < 50_000_000 {
                    let raw = if rng.below(10) < 7 {
                        let n = ids.fetch_add(1, Ordering::Relaxed);
                        let n = id_space.map_or(n, |space| n % space.max(1));
                        // One in ten is a replay of an earlier id.
                        let n = if rng.below(10) == 0 {
                            rng.below(n.max(1))
                        } else {
                            n
                        };
                        let body = fields("k", n, &senders, &mut rng).json();
                        let sig = sign(&body);
                        request_bytes(
                            "POST",
                            "/webhook",
                            &[("Content-Type", "application/json"), ("X-Signature", &sig)],
                            Some(&body),
                            true,
                        )
                    } else {
                        let target = match rng.below(5) {
                            0 => "/messages?limit=50".to_owned(),
                            1 => format!(
                                "/messages?limit=20&offset={}",
                                rng.below(ids.load(Ordering::Relaxed).max(1))
                            ),
                            2 => "/messages?since=2025-07-01T00:00:00Z&limit=10".to_owned(),
                            3 => "/messages?q=hello&limit=10".to_owned(),
                            _ => "/stats".to_owned(),
                        };
                        request_bytes("GET", &target, &[], None, true)
                    };
                    match conn.send(&raw) {
                        Ok(r) => *statuses.entry(r.status).or_default() += 1,
                        Err(_) => errors += 1,
                    }
                    sent += 1;
                }
                let mut m = merged
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                for (s, n) in statuses {
                    *m.0.entry(s).or_default() += n;
                }
                m.1 += sent;
                m.2 += errors;
            })
        })
        .collect();
    let mut rss = Vec::new();
    while start.elapsed() < duration {
        rss.push((start.elapsed().as_secs_f64(), rss_mb(server.pid())));
        std::thread::sleep(
            Duration::from_secs(1)
                .min(duration.saturating_sub(start.elapsed()))
                .max(Duration::from_millis(10)),
        );
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    let elapsed = start.elapsed();
    rss.push((elapsed.as_secs_f64(), rss_mb(server.pid())));
    let (statuses, requests, io_errors) = Arc::try_unwrap(merged)
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        })
        .unwrap_or_default();
    drop(server);
    Ok(SoakResult {
        requests,
        statuses,
        io_errors,
        rss,
        elapsed,
    })
}

/// `--soak SECONDS`: the soak, its report and its failures.
pub(crate) fn scenario(o: &Options, seconds: u64) -> Result<Vec<String>, String> {
    let mut rng = Rng::new(7);
    let senders = Senders::new(o.senders, &mut rng);
    println!(
        "soak: {seconds} s at concurrency {}, 70 % writes (10 % of them replays), 30 % reads",
        o.concurrency
    );
    let r = run(seconds, o.concurrency, &senders, o.soak_ids)?;
    #[expect(clippy::cast_precision_loss, reason = "request counts")]
    let rate = r.requests as f64 / r.elapsed.as_secs_f64();
    let server_errors: u64 = r
        .statuses
        .iter()
        .filter(|(s, _)| **s >= 500)
        .map(|(_, n)| n)
        .sum();
    let half = r.rss.len() / 2;
    let peak = |xs: &[(f64, f64)]| xs.iter().map(|x| x.1).fold(0.0, f64::max);
    let (first_half, second_half) = (peak(&r.rss[..half.max(1)]), peak(&r.rss[half..]));
    println!(
        "requests {} in {:.0} s ({rate:.0}/s), statuses {:?}, io errors {}",
        r.requests,
        r.elapsed.as_secs_f64(),
        r.statuses,
        r.io_errors
    );
    println!(
        "RSS MB: peak first half {first_half:.1}, peak second half {second_half:.1}, last {:.1}",
        r.rss.last().map_or(0.0, |x| x.1)
    );
    let result = json!({
        "soak_seconds": r.elapsed.as_secs_f64(), "concurrency": o.concurrency, "requests": r.requests,
        "soak_ids": o.soak_ids,
        "per_second": rate,
        "statuses": r.statuses.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "io_errors": r.io_errors, "rss_mb": r.rss,
        "rss_peak_first_half_mb": first_half, "rss_peak_second_half_mb": second_half,
    });
    crate::files::write_report(&o.out, &result)?;
    let mut failures = Vec::new();
    if server_errors > 0 {
        failures.push(format!("{server_errors} responses were 5xx"));
    }
    if r.io_errors > 0 {
        failures.push(format!("{} requests failed at the connection", r.io_errors));
    }
    Ok(failures)
}
