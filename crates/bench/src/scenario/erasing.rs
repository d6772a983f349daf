//! Erasure and export over the seeded store: ingest with and without an
//! erasure of a sender with 1,000 messages beside it (the erasure must not
//! stall ingest), then the whole store exported as NDJSON, its rate and
//! the server's resident memory while it streams.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use testkit::sign;

use super::context::Ctx;
use super::ingest::Ingested;
use crate::load;
use crate::report::Erasing;
use crate::requests::webhook_request;
use crate::traffic::fields;

/// The admin token of the bench's server.
const ADMIN: &str = "bench-admin-token";
/// The sender whose messages are erased.
const VICTIM: &str = "+19990001000";

pub(super) fn run(ctx: &mut Ctx<'_>, ingested: &Ingested) -> Result<Erasing, String> {
    let server = ingested
        .builder
        .clone()
        .without("PORT")
        .env("ADMIN_TOKENS", ADMIN)
        .discard_stdout()
        .try_start()
        .map_err(|e| format!("hookbox did not start: {e:?}"))?;
    let addr = server.client().addr();
    let victims = ctx.o.erase_rows;
    let seed: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..victims)
            .map(|n| {
                let b = json!({"message_id": format!("victim-{n}"), "from": VICTIM,
                    "to": "+14155550100", "ts": "2025-06-01T10:00:00Z", "text": "erase me"})
                .to_string()
                .into_bytes();
                webhook_request(&b, &sign(&b))
            })
            .collect(),
    );
    let seeded = load::run(&[addr], &seed, 16, ctx.deadline);
    ctx.report.check(
        seeded.only(200),
        format!("seeding the sender to erase: {:?}", seeded.statuses),
    );
    let half = ctx.o.messages / 2;
    let p99_plain = ingest(ctx, addr, "ingest, no erasure (baseline)", "eb", half, None)?.0;
    let (p99_erasing, erased, erase_ms) =
        ingest(ctx, addr, "ingest while erasing", "ee", half, Some(addr))?;
    let ratio = p99_erasing / p99_plain.max(1e-9);
    println!(
        "ingest p99 while erasing {victims} messages {p99_erasing:.2} ms = {ratio:.2} x without ({p99_plain:.2} ms); erased {erased} in {erase_ms:.0} ms"
    );
    ctx.report.check(
        erased == victims,
        format!("erased {erased} of the sender's {victims} messages"),
    );
    ctx.report.check(
        ratio <= 2.0 || ctx.o.quick,
        format!("ingest p99 while erasing is {ratio:.2} x without (> 2)"),
    );
    let (rows, rate, before, peak) = export(addr, server.pid(), ctx.deadline)?;
    println!(
        "export: {rows} rows at {rate:.0} rows/s; server RSS {before:.1} MB before, {peak:.1} MB at most while streaming"
    );
    ctx.report.check(
        rate >= 50_000.0 || ctx.o.quick,
        format!("export {rate:.0} rows/s < 50,000"),
    );
    ctx.report.check(
        peak <= before + 64.0,
        format!("export RSS grew from {before:.1} MB to {peak:.1} MB"),
    );
    Ok(Erasing {
        ingest_p99_ms_without: p99_plain,
        ingest_p99_ms_while_erasing: p99_erasing,
        ratio,
        erased,
        erase_ms,
        export_rows: rows,
        export_rows_per_second: rate,
        export_rss_mb_before: before,
        export_rss_mb_peak: peak,
    })
}

/// One ingest load of `count` messages; with `erase_at`, a `DELETE
/// /messages?from=` of the victim a fifth of the way in. Its p99, how many
/// were erased and how long the erasure took.
fn ingest(
    ctx: &mut Ctx<'_>,
    addr: std::net::SocketAddr,
    name: &str,
    prefix: &str,
    count: u64,
    erase_at: Option<std::net::SocketAddr>,
) -> Result<(f64, u64, f64), String> {
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..count)
            .map(|n| {
                let b = fields(prefix, n, &ctx.senders, &mut ctx.rng).json();
                webhook_request(&b, &sign(&b))
            })
            .collect(),
    );
    let eraser = erase_at.map(|at| {
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            let started = Instant::now();
            let auth = format!("Bearer {ADMIN}");
            let r = testkit::Client::at(at).request(
                "DELETE",
                &format!("/messages?from={}", VICTIM.replace('+', "%2B")),
                &[("Authorization", &auth)],
                None,
            );
            let erased = r
                .ok()
                .map_or(0, |r| r.json()["deleted"].as_u64().unwrap_or(0));
            (erased, started.elapsed().as_secs_f64() * 1000.0)
        })
    });
    let r = load::run(&[addr], &bodies, ctx.o.concurrency, ctx.deadline);
    ctx.report.phase(name, &r, Some(200));
    let (erased, ms) = match eraser {
        Some(t) => t.join().map_err(|_| "the eraser panicked".to_owned())?,
        None => (0, 0.0),
    };
    Ok((r.percentile_ms(99.0), erased, ms))
}

/// The server's resident memory now, in MB.
fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Streams `GET /messages/export` to the end, counting lines and keeping
/// none; samples the server's RSS meanwhile. Rows, rows/s, RSS before and
/// at most during.
fn export(
    addr: std::net::SocketAddr,
    pid: u32,
    deadline: Duration,
) -> Result<(u64, f64, f64, f64), String> {
    let before = rss_mb(pid);
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut peak: f64 = 0.0;
            while !done.load(Ordering::SeqCst) {
                peak = peak.max(rss_mb(pid));
                std::thread::sleep(Duration::from_millis(50));
            }
            peak
        })
    };
    let started = Instant::now();
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /messages/export HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::with_capacity(1 << 20, stream);
    let mut head = String::new();
    while reader.read_line(&mut head).map_err(|e| e.to_string())? > 2 {
        head.clear();
    }
    // Chunk framing lines are short hex; record lines are JSON objects.
    let mut rows = 0_u64;
    let mut buf = vec![0_u8; 1 << 20];
    let mut last = 0_u8;
    loop {
        let n = reader.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 || started.elapsed() > deadline {
            break;
        }
        for &b in &buf[..n] {
            if b == b'\n' && last == b'}' {
                rows += 1;
            }
            last = b;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    done.store(true, Ordering::SeqCst);
    let peak = sampler.join().unwrap_or(0.0);
    #[expect(clippy::cast_precision_loss, reason = "a rate")]
    let rate = rows as f64 / secs.max(1e-9);
    Ok((rows, rate, before, peak))
}
