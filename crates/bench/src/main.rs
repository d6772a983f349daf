//! `hookbox-bench`: see the crate README.
#![expect(
    clippy::print_stdout,
    reason = "a command-line tool that prints its report"
)]

mod load;
mod options;
mod postgres_direct;
mod report;
mod runs;
mod scenario;
mod soak;
mod traffic;
mod verify_only;

use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::{Client, request_bytes};

fn main() -> std::process::ExitCode {
    let options = match options::parse_args() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("hookbox-bench: {e}");
            }
            print!("{}", options::HELP);
            return std::process::ExitCode::from(2);
        }
    };
    let result = match options.soak_seconds {
        Some(seconds) => soak::scenario(&options, seconds),
        None => runs::run_many(&options),
    };
    match result {
        Ok(failures) if failures.is_empty() => std::process::ExitCode::SUCCESS,
        Ok(failures) => {
            for f in failures {
                eprintln!("hookbox-bench: CHECK FAILED: {f}");
            }
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("hookbox-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

pub(crate) fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

pub(crate) fn webhook_request(body: &[u8], signature: &str) -> Vec<u8> {
    request_bytes(
        "POST",
        "/webhook",
        &[
            ("Content-Type", "application/json"),
            ("X-Signature", signature),
        ],
        Some(body),
        true,
    )
}

pub(crate) fn get_request(target: &str) -> Vec<u8> {
    request_bytes("GET", target, &[], None, true)
}

/// Writes a JSON report, creating its folder.
pub(crate) fn write_report(path: &str, report: &Value) -> Result<(), String> {
    if let Some(parent) = std::path::Path::new(path).parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(path, serde_json::to_vec_pretty(report).unwrap_or_default())
        .map_err(|e| format!("{path}: {e}"))?;
    println!("report: {path}");
    Ok(())
}

/// Every stored id, walking keyset pages of 100.
pub(crate) fn walk_ids(client: Client, deadline: Duration) -> Result<Vec<String>, String> {
    let start = Instant::now();
    let mut ids = Vec::new();
    let mut target = "/messages?limit=100".to_owned();
    loop {
        let r = client.get(&target).map_err(|e| e.to_string())?;
        let page = r.json();
        for m in page["data"].as_array().into_iter().flatten() {
            ids.push(m["message_id"].as_str().unwrap_or_default().to_owned());
        }
        match r.header("x-next-cursor") {
            Some(c) if start.elapsed() < deadline => {
                target = format!("/messages?limit=100&cursor={c}")
            }
            _ => return Ok(ids),
        }
    }
}

/// Copies the files of `from` (the database and its WAL) into `to`.
pub(crate) fn keep_files(from: &std::path::Path, to: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if let Some(name) = path.file_name()
            && path.is_file()
        {
            std::fs::copy(&path, to.join(name)).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

pub(crate) fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len())
        .sum()
}
