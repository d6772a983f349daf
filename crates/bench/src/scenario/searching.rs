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

/// Rare-word feed and stream searches looping beside the cheap reads; the
/// cheap reads' phases, and how many searches ran meanwhile.
pub(super) fn beside_cheap_reads(ctx: &mut Ctx<'_>, addr: SocketAddr) -> Vec<Phase> {
    let vocabulary = traffic::vocabulary();
    let words: Arc<Vec<String>> = Arc::new(
        (4900..4980)
            .map(|r| vocabulary.word(r).to_owned())
            .collect(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let searches = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..SEARCHERS)
        .map(|i| {
            let (stop, searches, words) =
                (Arc::clone(&stop), Arc::clone(&searches), Arc::clone(&words));
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
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut rows = Vec::new();
    for (name, target) in [
        ("cheap under searches: /stats", "/stats"),
        ("cheap under searches: page", "/messages?limit=50"),
    ] {
        let requests: Arc<Vec<Vec<u8>>> = Arc::new(vec![get_request(target); ctx.o.reads]);
        let r = load::run(&[addr], &requests, ctx.o.read_concurrency, ctx.deadline);
        ctx.report.phase(name, &r, Some(200));
        rows.extend(ctx.report.rows.last().cloned());
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    println!(
        "{} rare-word feed and stream searches ran beside the cheap reads ({SEARCHERS} clients)",
        searches.load(Ordering::Relaxed)
    );
    for row in &rows {
        ctx.report.check(
            row.p99_ms <= 10.0 || ctx.o.quick,
            format!(
                "{} p99 {:.2} ms under looping searches (> 10 ms)",
                row.phase, row.p99_ms
            ),
        );
    }
    rows
}

/// The rare words' feed search alone: its p99 must stay within 50 ms.
pub(super) fn rare_feed_targets(reads: usize) -> Vec<String> {
    let vocabulary = traffic::vocabulary();
    (0..reads)
        .map(|i| {
            format!(
                "/messages/feed?q={}&limit=100",
                vocabulary.word(4900 + i % 80)
            )
        })
        .collect()
}
