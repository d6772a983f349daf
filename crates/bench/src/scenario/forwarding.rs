//! Forwarding beside ingest: ingest at the bench's concurrency without a
//! subscription (the baseline), with one to a loopback receiver that
//! answers at once (deliveries/s, the lag during the burst and how long it
//! takes to drain after it), and with one to a receiver that fails every
//! attempt (which must cost ingest nothing measurable).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit::{Client, sign};

use super::context::Ctx;
use super::ingest::Ingested;
use crate::load;
use crate::report::Forwarding;
use crate::requests::webhook_request;
use crate::traffic::fields;

const ADMIN: &str = "bench-admin-token";

/// A lean consumer: every request counted, answered with `status` at once.
struct Consumer {
    addr: SocketAddr,
    received: Arc<AtomicU64>,
}

impl Consumer {
    fn start(status: u16) -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let received = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || serve(stream, status, &counter));
            }
        });
        Ok(Self { addr, received })
    }

    fn url(&self) -> String {
        format!("http://{}/in", self.addr)
    }
}

fn serve(stream: TcpStream, status: u16, counter: &AtomicU64) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
    loop {
        let mut length = 0_usize;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        counter.fetch_add(1, Ordering::Relaxed);
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

fn admin(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, String> {
    let auth = format!("Bearer {ADMIN}");
    let bytes = body.map(Value::to_string);
    let r = Client::at(addr)
        .request(
            method,
            path,
            &[("Authorization", &auth)],
            bytes.as_deref().map(str::as_bytes),
        )
        .map_err(|e| e.to_string())?;
    if r.status >= 300 {
        return Err(format!("{method} {path}: {} {}", r.status, r.text()));
    }
    Ok(if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    })
}

pub(super) fn run(ctx: &mut Ctx<'_>, ingested: &Ingested) -> Result<Forwarding, String> {
    let server = ingested
        .builder
        .clone()
        .without("PORT")
        .env("ADMIN_TOKENS", ADMIN)
        .env("FORWARD_MAX_ATTEMPTS", "100")
        .discard_stdout()
        .try_start()
        .map_err(|e| format!("hookbox did not start: {e:?}"))?;
    let addr = server.client().addr();
    let half = ctx.o.messages / 2;
    let baseline = ingest(ctx, addr, "ingest, no subscription", "fb", half)?;

    let fast = Consumer::start(200)?;
    let sub = admin(
        addr,
        "POST",
        "/subscriptions",
        Some(&json!({"url": fast.url()})),
    )?;
    let id = sub["id"].as_str().unwrap_or_default().to_owned();
    let watching = Arc::new(AtomicBool::new(true));
    let max_lag = Arc::new(AtomicU64::new(0));
    let watcher = {
        let (watching, max_lag, id) = (Arc::clone(&watching), Arc::clone(&max_lag), id.clone());
        std::thread::spawn(move || {
            while watching.load(Ordering::Relaxed) {
                if let Ok(s) = admin(addr, "GET", &format!("/subscriptions/{id}"), None) {
                    max_lag.fetch_max(s["lag"].as_u64().unwrap_or(0), Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let started = Instant::now();
    let with_fast = ingest(ctx, addr, "ingest, fast subscription", "ff", half)?;
    let burst_end = Instant::now();
    let stored = half;
    let drain_deadline = burst_end + Duration::from_secs(30);
    while fast.received.load(Ordering::Relaxed) < stored && Instant::now() < drain_deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let drain_ms = burst_end.elapsed().as_secs_f64() * 1000.0;
    let delivered = fast.received.load(Ordering::Relaxed);
    let rate = delivered as f64 / started.elapsed().as_secs_f64().max(1e-9);
    watching.store(false, Ordering::Relaxed);
    let _ = watcher.join();
    admin(addr, "DELETE", &format!("/subscriptions/{id}"), None)?;
    println!(
        "forwarding: {delivered} of {stored} delivered at {rate:.0}/s; lag at most {} during the burst, drained {drain_ms:.0} ms after it",
        max_lag.load(Ordering::Relaxed)
    );
    ctx.report.check(
        delivered >= stored,
        format!("delivered {delivered} of {stored}"),
    );
    ctx.report.check(
        drain_ms <= 2000.0 || ctx.o.quick,
        format!("the lag drained {drain_ms:.0} ms after the burst (> 2 s)"),
    );

    let failing = Consumer::start(500)?;
    admin(
        addr,
        "POST",
        "/subscriptions",
        Some(&json!({"url": failing.url()})),
    )?;
    let with_failing = ingest(ctx, addr, "ingest, failing subscription", "fx", half)?;
    let ratio = with_failing / baseline.max(1e-9);
    println!(
        "ingest p99 {with_failing:.2} ms with a failing subscription = {ratio:.2} x without ({baseline:.2} ms); {:.2} ms with a fast one",
        with_fast
    );
    ctx.report.check(
        ratio <= 1.1 || ctx.o.quick,
        format!("ingest p99 with a failing subscription is {ratio:.2} x without (> 1.1)"),
    );
    Ok(Forwarding {
        deliveries_per_second: rate,
        delivered,
        max_lag: max_lag.load(Ordering::Relaxed),
        drain_ms,
        ingest_p99_ms_without: baseline,
        ingest_p99_ms_with_fast_subscription: with_fast,
        ingest_p99_ms_with_failing_subscription: with_failing,
        failing_ratio: ratio,
    })
}

/// One ingest load of `count` new messages; its p99.
fn ingest(
    ctx: &mut Ctx<'_>,
    addr: SocketAddr,
    name: &str,
    prefix: &str,
    count: u64,
) -> Result<f64, String> {
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..count)
            .map(|n| {
                let b = fields(prefix, n, &ctx.senders, &mut ctx.rng).json();
                webhook_request(&b, &sign(&b))
            })
            .collect(),
    );
    let r = load::run(&[addr], &bodies, ctx.o.concurrency, ctx.deadline);
    ctx.report.phase(name, &r, Some(200));
    Ok(r.percentile_ms(99.0))
}
