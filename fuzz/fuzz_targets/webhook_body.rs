//! Any bytes through webhook decoding and validation: no panic, and a valid
//! message round-trips through its JSON form.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = http_actix::inputs::validate_webhook_body(data) {
        let mut v = serde_json::json!({
            "message_id": m.id().as_str(), "from": m.from().as_str(),
            "to": m.to().as_str(), "ts": m.ts().as_str(),
        });
        if let Some(t) = m.text() {
            v["text"] = serde_json::Value::from(t.as_str());
        }
        let again = http_actix::inputs::validate_webhook_body(&serde_json::to_vec(&v).expect("json"));
        assert_eq!(again.expect("round trip"), m);
    }
});
