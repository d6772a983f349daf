//! Searches beside cheap reads: eight clients looping rare-word searches
//! on the feed and the stream (the routes any client can reach when reads
//! are open) while `/stats` and first pages are measured. Every search has
//! its own lane of connections and uses the index, so cheap reads keep
//! their latency.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::context::Ctx;
use crate::load;
use crate::report::Phase;
use crate::requests::get_request;
use crate::traffic;

/// Looping searchers (half feed, half stream).
const SEARCHERS: usize = 8;

/// One search request on its own connection: the feed's page, or the
/// stream's catch-up read for a fifth of a second.
fn search_once(addr: SocketAddr, target: &str, stream: bool) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(if stream {
        200
    } else {
        10_000
    })));
    let req = format!("GET {target} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0_u8; 65536];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
    }
    true
}

/// The cheap reads, each on one client (a latency probe, as a person or a
/// health check sees it) and on `--read-concurrency` clients.
const CHEAP: [(&str, &str); 2] = [("/stats", "/stats"), ("page", "/messages?limit=50")];

/// Rare-word feed and stream searches looping beside the cheap reads: the
/// cheap reads' phases alone and under the searches, and how many searches
/// ran meanwhile. The target (p99 <= 10 ms) is on the one-client probe:
/// the searches must not take the cheap reads' turn; at
/// `--read-concurrency` the cheap reads also queue behind each other on
/// two cores, which is reported beside it.
pub(super) fn beside_cheap_reads(ctx: &mut Ctx<'_>, addr: SocketAddr) -> Vec<Phase> {
    let mut rows = Vec::new();
    for (name, target) in CHEAP {
        let phase = format!("cheap alone, 1 client: {name}");
        rows.extend(cheap_phase(ctx, addr, &phase, target, 1));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let searches = Arc::new(AtomicU64::new(0));
    let threads = start_searchers(addr, &stop, &searches);
    std::thread::sleep(Duration::from_millis(300));
    let mut probes = Vec::new();
    for (name, target) in CHEAP {
        let phase = format!("cheap under searches, 1 client: {name}");
        probes.extend(cheap_phase(ctx, addr, &phase, target, 1));
        let phase = format!("cheap under searches: {name}");
        let clients = ctx.o.read_concurrency;
        rows.extend(cheap_phase(ctx, addr, &phase, target, clients));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    println!(
        "{} rare-word feed and stream searches ran beside the cheap reads ({SEARCHERS} clients)",
        searches.load(Ordering::Relaxed)
    );
    for row in &probes {
        ctx.report.check(
            row.p99_ms <= 10.0 || ctx.o.quick,
            format!(
                "{} p99 {:.2} ms under looping searches (> 10 ms)",
                row.phase, row.p99_ms
            ),
        );
    }
    rows.extend(probes);
    rows
}

/// `--reads` requests for `target` from `clients` clients, as one phase.
fn cheap_phase(
    ctx: &mut Ctx<'_>,
    addr: SocketAddr,
    phase: &str,
    target: &str,
    clients: usize,
) -> Option<Phase> {
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(vec![get_request(target); ctx.o.reads]);
    let r = load::run(&[addr], &requests, clients, ctx.deadline);
    ctx.report.phase(phase, &r, Some(200));
    ctx.report.rows.last().cloned()
}

/// The eight looping searchers, until `stop`.
fn start_searchers(
    addr: SocketAddr,
    stop: &Arc<AtomicBool>,
    searches: &Arc<AtomicU64>,
) -> Vec<std::thread::JoinHandle<()>> {
    let vocabulary = traffic::vocabulary();
    let words: Arc<Vec<String>> = Arc::new(
        (4900..4900 + RARE_WORDS)
            .map(|r| vocabulary.word(r).to_owned())
            .collect(),
    );
    (0..SEARCHERS)
        .map(|i| {
            let (stop, searches, words) =
                (Arc::clone(stop), Arc::clone(searches), Arc::clone(&words));
            std::thread::spawn(move || {
                let mut n = i;
                while !stop.load(Ordering::Relaxed) {
                    let word = &words[n % words.len()];
                    let stream = i % 2 == 1;
                    let target = if stream {
                        format!("/messages/stream?q={word}&after=0")
                    } else {
                        format!("/messages/feed?q={word}&limit=100")
                    };
                    if search_once(addr, &target, stream) {
                        searches.fetch_add(1, Ordering::Relaxed);
                    }
                    n += SEARCHERS;
                }
            })
        })
        .collect()
}

/// How many rare words the feed's search phase cycles through.
pub(super) const RARE_WORDS: usize = 80;

/// The rare words' feed search alone, `reads` requests cycling through
/// them: its p99 must stay within 50 ms.
pub(super) fn rare_feed_targets(reads: usize) -> Vec<String> {
    let vocabulary = traffic::vocabulary();
    (0..reads)
        .map(|i| {
            format!(
                "/messages/feed?q={}&limit=100",
                vocabulary.word(4900 + i % RARE_WORDS)
            )
        })
        .collect()
}
