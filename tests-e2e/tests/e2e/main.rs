//! End-to-end tests: the real `hookbox` binary over HTTP on loopback.

mod browser;
mod cli;
mod container;
mod contract;
mod faults;
mod forwarding;
mod lifecycle;
mod observability;
mod operations;
mod postgres_store;
mod read_side;
mod reading;
mod records;
mod reliability;
mod retention;
mod senders;
mod settings;

use serde_json::{Value, json};

/// A message body with these fields (text omitted when `None`).
pub(crate) fn body(id: &str, from: &str, ts: &str, text: Option<&str>) -> Vec<u8> {
    let mut v = json!({"message_id": id, "from": from, "to": "+14155550100", "ts": ts});
    if let Some(t) = text {
        v["text"] = Value::from(t);
    }
    serde_json::to_vec(&v).expect("serialize")
}

/// The `message_id`s of a `/messages` response.
pub(crate) fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(|m| m["message_id"].as_str().expect("id").to_owned())
        .collect()
}

/// The value of the Prometheus sample whose name and labels are exactly
/// `series` (e.g. `webhook_requests_total{result="created"}`).
pub(crate) fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Every stored `message_id`, walked page by page with the keyset cursor.
pub(crate) fn stored_ids(client: testkit::Client) -> Vec<String> {
    let mut all = Vec::new();
    let mut target = "/messages?limit=100".to_owned();
    loop {
        let r = client.get(&target).expect("page");
        assert_eq!(r.status, 200, "{}", r.text());
        all.extend(ids(&r.json()));
        match r.header("x-next-cursor") {
            Some(c) => target = format!("/messages?limit=100&cursor={c}"),
            None => return all,
        }
    }
}
