//! Any header value against any body: no panic; only the true signature
//! (in its accepted spellings) verifies.
#![no_main]

use domain::{SigningKeys, WebhookSecret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len().saturating_sub(1));
    let (header, body) = data.get(1..).unwrap_or_default().split_at(split.min(data.len().saturating_sub(1)));
    let secret = WebhookSecret::new("fuzz-secret").expect("non-empty");
    let keys = SigningKeys::new(secret.clone());
    let good = secret.sign(body);
    let verdict = keys.verify(body, Some(header));
    // Header values are ASCII: only ASCII white space is trimmed.
    let normalized = String::from_utf8_lossy(header.trim_ascii()).to_ascii_lowercase();
    let normalized = normalized.strip_prefix("sha256=").unwrap_or(&normalized);
    assert_eq!(verdict.is_ok(), normalized == good, "header {header:?}");
    assert!(keys.verify(body, Some(good.as_bytes())).is_ok());
});
