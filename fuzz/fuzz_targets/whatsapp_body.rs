//! Any bytes as a WhatsApp notification: no panic; every message that comes
//! out is valid (the domain's constructors made it) and keeps an exact
//! slice of the input as its raw bytes; every skipped message is kept as an
//! event; every event's bytes are part of the input. Seeds with every kind
//! Meta sends are in `fuzz/seeds/whatsapp_body/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Whether `part` occurs in `whole`.
fn within(whole: &[u8], part: &[u8]) -> bool {
    part.is_empty() || whole.windows(part.len()).any(|w| w == part)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = http_actix::whatsapp::decode(data) {
        for m in &decoded.messages {
            assert!(m.from().as_str().starts_with('+'));
            assert!(m.to().as_str().starts_with('+'));
            assert!(m.ts().as_str().ends_with('Z'));
            assert!(!m.id().as_str().is_empty());
            let e = m.envelope();
            assert_eq!(e.source(), Some(domain::Source::WhatsApp));
            assert!(!e.kind().as_str().is_empty());
            let raw = e.raw().expect("a message keeps its raw bytes");
            assert!(within(data, raw), "raw is a slice of the notification");
            // JSON by syntax, as the server embeds it (`RawValue`): a string
            // escape that decodes to no character (a lone surrogate) in a
            // field hookbox does not read stays as sent.
            assert!(serde_json::from_slice::<&serde_json::value::RawValue>(raw).is_ok());
        }
        let unmapped = decoded
            .events
            .iter()
            .filter(|k| k.kind == "message")
            .count();
        assert_eq!(unmapped, decoded.skipped.len(), "every skipped message is kept");
        for kept in &decoded.events {
            assert!(within(data, kept.event.raw()), "an event keeps bytes of the input");
        }
        for s in &decoded.statuses {
            assert!(!s.message_id().is_empty());
        }
    }
});
