//! Any bytes as a WhatsApp notification: no panic; every message that comes
//! out is valid (the domain's constructors made it), and nothing is both
//! stored and skipped.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = http_actix::whatsapp::decode(data) {
        for m in &decoded.messages {
            assert!(m.from().as_str().starts_with('+'));
            assert!(m.to().as_str().starts_with('+'));
            assert!(m.ts().as_str().ends_with('Z'));
            assert!(!m.id().as_str().is_empty());
        }
        if decoded.other_object {
            assert!(decoded.messages.is_empty() && decoded.skipped.is_empty());
        }
    }
});
