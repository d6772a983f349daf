//! Crashes and shutdowns under load: a 200 means the message is stored.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use testkit::{Client, Server};

use crate::{body, stored_ids};

/// Every stored id, walking keyset pages.
/// Senders posting unique messages until told to stop or refused; returns
/// the ids answered 200.
struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(client: Client, round: usize, senders: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let threads = (0..senders)
            .map(|t| {
                let (stop, acked) = (Arc::clone(&stop), Arc::clone(&acked));
                std::thread::spawn(move || {
                    for i in 0..100_000 {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let id = format!("r{round}-t{t}-{i}");
                        let b = body(
                            &id,
                            &format!("+{}", t + 1),
                            "2025-01-15T10:00:00Z",
                            Some("load"),
                        );
                        match client.signed_webhook(&b) {
                            Ok(r) if r.status == 200 => acked.lock().expect("lock").push(id),
                            Ok(r) => assert_eq!(
                                r.status,
                                503,
                                "only 200 or 503 under load: {}",
                                r.text()
                            ),
                            // Refused or reset: the server is gone.
                            Err(_) => return,
                        }
                    }
                })
            })
            .collect();
        Self {
            stop,
            acked,
            threads,
        }
    }

    /// Waits until some webhooks are acknowledged (a store's first writes
    /// may take a moment: PostgreSQL's writer connects on first use), then a
    /// little longer, so the kill lands mid-ingest.
    fn wait_for_acks(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.acked.lock().expect("lock").len() < 20 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    fn finish(self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().expect("sender thread");
        }
        Arc::try_unwrap(self.acked)
            .expect("threads done")
            .into_inner()
            .expect("lock")
    }
}

#[test]
fn kill_9_mid_ingest_loses_nothing_acknowledged() {
    let mut server = Server::start();
    let mut all_acked = HashSet::new();
    for round in 0..3 {
        let load = Load::start(server.client(), round, 8);
        load.wait_for_acks();
        server.kill();
        let acked = load.finish();
        assert!(
            !acked.is_empty(),
            "round {round}: nothing was acknowledged before the kill"
        );
        all_acked.extend(acked);

        server = server.restart();
        assert_eq!(
            server.client().get("/health/ready").expect("ready").status,
            200
        );
        let stored = stored_ids(server.client());
        let stored_set: HashSet<&String> = stored.iter().collect();
        assert_eq!(stored.len(), stored_set.len(), "an id stored twice");
        let missing: Vec<&String> = all_acked
            .iter()
            .filter(|id| !stored_set.contains(id))
            .collect();
        assert!(
            missing.is_empty(),
            "round {round}: {} acknowledged ids lost, e.g. {:?}",
            missing.len(),
            missing.first()
        );
        let total = server.client().get("/stats").expect("stats").json()["total_messages"].as_u64();
        assert_eq!(
            total,
            Some(stored.len() as u64),
            "stats agree with the rows"
        );
        eprintln!(
            "round {round}: {} acknowledged so far, {} stored",
            all_acked.len(),
            stored.len()
        );
    }
}

#[test]
fn sigterm_under_load_finishes_in_flight_requests_and_exits_cleanly() {
    let mut server = Server::start();
    let load = Load::start(server.client(), 0, 8);
    load.wait_for_acks();
    let start = Instant::now();
    let status = server.terminate();
    let took = start.elapsed();
    let acked = load.finish();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(6), "took {took:?}");
    assert!(!acked.is_empty());

    let server = server.restart();
    let stored: HashSet<String> = stored_ids(server.client()).into_iter().collect();
    let lost = acked.iter().filter(|id| !stored.contains(*id)).count();
    assert_eq!(lost, 0, "{lost} of {} acknowledged ids lost", acked.len());
}

#[test]
fn slow_and_idle_clients_cannot_starve_others() {
    use std::io::{Read, Write};
    let server = Server::start();
    let client = server.client();
    // Many idle connections, and one body trickled a byte at a time.
    let idle: Vec<_> = (0..200)
        .map(|_| client.connect().expect("connect"))
        .collect();
    let b = body("slow", "+1", "2025-01-15T10:00:00Z", None);
    let sig = testkit::sign(&b);
    let trickler = std::thread::spawn(move || {
        let mut s = client.connect().expect("connect");
        let head = format!(
            "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Signature: {sig}\r\nContent-Length: {}\r\n\r\n",
            b.len()
        );
        s.write_all(head.as_bytes()).expect("head");
        let started = Instant::now();
        for byte in &b {
            if s.write_all(&[*byte]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
            if started.elapsed() > Duration::from_secs(20) {
                break;
            }
        }
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        (started.elapsed(), answer)
    });
    // Meanwhile everyone else is served promptly.
    for i in 0..20 {
        let started = Instant::now();
        let r = client
            .signed_webhook(&body(
                &format!("fast{i}"),
                "+1",
                "2025-01-15T10:00:00Z",
                None,
            ))
            .expect("post");
        assert_eq!(r.status, 200);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "request {i} took {:?}",
            started.elapsed()
        );
    }
    let (took, answer) = trickler.join().expect("trickler");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert!(answer.contains("request body timed out"), "{answer}");
    drop(idle);
    let stored = stored_ids(server.client());
    assert!(!stored.contains(&"slow".to_owned()));
}

#[test]
fn oversize_headers_get_a_4xx_and_the_server_carries_on() {
    let server = Server::start();
    let c = server.client();
    // Past actix-http's 128 KiB limit on a request head.
    let huge = "a".repeat(256 * 1024);
    let r = c.request("GET", "/health/live", &[("X-Huge", &huge)], None);
    match r {
        Ok(r) => assert!((400..500).contains(&r.status), "{}", r.status),
        // A server may also just close the connection on a header flood.
        Err(e) => eprintln!("connection closed: {e}"),
    }
    let many: Vec<(String, String)> = (0..500)
        .map(|i| (format!("X-H{i}"), "v".to_owned()))
        .collect();
    let headers: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    if let Ok(r) = c.request("GET", "/health/live", &headers, None) {
        assert!(
            r.status == 200 || (400..500).contains(&r.status),
            "{}",
            r.status
        );
    }
    assert_eq!(c.get("/health/live").expect("live").status, 200);
}
