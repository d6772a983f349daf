//! The requests the scenarios send, and the keyset walk that reads every
//! stored id back.

use std::time::{Duration, Instant};

use testkit::{Client, request_bytes};

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
