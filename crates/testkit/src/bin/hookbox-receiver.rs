//! A consumer for forwarding tests: a real HTTP/1.1 server on a loopback
//! port that answers each request with the next status of its script and
//! prints one JSON line per request on stdout (headers that matter, body).
//!
//! `hookbox-receiver [--statuses 500,500,200] [--retry-after S]
//! [--delays-ms 1500,0]`: the last status (and delay) repeats;
//! `--retry-after` goes on every 429; a delay holds the answer back. The first line
//! printed is `{"port":N}`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

struct Script {
    statuses: Vec<u16>,
    delays: Vec<u64>,
    retry_after: Option<String>,
    served: AtomicUsize,
    out: Mutex<std::io::Stdout>,
}

fn main() {
    let mut statuses = vec![200];
    let mut retry_after = None;
    let mut delays = vec![0];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--statuses" => {
                statuses = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .filter_map(|s| s.trim().parse().ok())
                    .collect();
            }
            "--retry-after" => retry_after = args.next(),
            "--delays-ms" => {
                delays = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .filter_map(|s| s.trim().parse().ok())
                    .collect();
            }
            other => {
                eprintln!("hookbox-receiver: unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    if statuses.is_empty() {
        statuses.push(200);
    }
    if delays.is_empty() {
        delays.push(0);
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| {
        eprintln!("hookbox-receiver: cannot listen: {e}");
        std::process::exit(1)
    });
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let script = Arc::new(Script {
        statuses,
        delays,
        retry_after,
        served: AtomicUsize::new(0),
        out: Mutex::new(std::io::stdout()),
    });
    script.line(&serde_json::json!({ "port": port }).to_string());
    for stream in listener.incoming().flatten() {
        let script = Arc::clone(&script);
        std::thread::spawn(move || serve(stream, &script));
    }
}

impl Script {
    fn line(&self, text: &str) {
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }
}

/// Serves one kept-alive connection until the client closes it.
fn serve(stream: TcpStream, script: &Script) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = serde_json::Map::new();
        let mut length = 0_usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                let name = name.trim().to_ascii_lowercase();
                if name == "content-length" {
                    length = value.trim().parse().unwrap_or(0);
                }
                headers.insert(name, value.trim().into());
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let n = script.served.fetch_add(1, Ordering::SeqCst);
        let status = script.statuses[n.min(script.statuses.len() - 1)];
        script.line(
            &serde_json::json!({
                "n": n,
                "status": status,
                "at_ms": std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis()),
                "request": request_line.trim_end(),
                "headers": headers,
                "body": String::from_utf8_lossy(&body),
            })
            .to_string(),
        );
        let delay = script.delays[n.min(script.delays.len() - 1)];
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let retry = match (&script.retry_after, status) {
            (Some(s), 429) => format!("Retry-After: {s}\r\n"),
            _ => String::new(),
        };
        let answer = format!("HTTP/1.1 {status} Scripted\r\nContent-Length: 2\r\n{retry}\r\nok");
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
