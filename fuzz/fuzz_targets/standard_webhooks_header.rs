//! Any Standard Webhooks headers against any body: no panic; only a header
//! holding the true `v1` signature verifies, and it always does.
#![no_main]

use domain::{SigningKeys, StandardHeaders, WebhookSecret};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_700_000_000;

fn headers(signature: &[u8]) -> StandardHeaders<'_> {
    StandardHeaders {
        id: Some(b"msg_1"),
        timestamp: Some(b"1700000000"),
        signature: Some(signature),
    }
}

fuzz_target!(|data: &[u8]| {
    let split = usize::from(data.first().copied().unwrap_or(0)).min(data.len().saturating_sub(1));
    let rest = data.get(1..).unwrap_or_default();
    let (header, body) = rest.split_at(split.min(rest.len()));
    let keys = SigningKeys::new(
        WebhookSecret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("non-empty"),
    );
    let good = keys.sign_standard("msg_1", NOW, body);
    let verdict = keys.verify_standard(headers(header), body, NOW, 300);
    // Header values are trimmed of ASCII white space, then split on spaces.
    let holds_good = header
        .trim_ascii()
        .split(|b| *b == b' ')
        .any(|entry| entry == good.as_bytes());
    assert_eq!(verdict.is_ok(), holds_good, "header {header:?}");
    assert!(keys.verify_standard(headers(good.as_bytes()), body, NOW, 300).is_ok());
    let _ = domain::parse_signatures(header);
});
