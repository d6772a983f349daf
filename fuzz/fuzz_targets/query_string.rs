//! Any query string through `GET /messages`'s parser: no panic, and every
//! accepted query is within the documented ranges.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let qs = String::from_utf8_lossy(data);
    if let Ok(q) = http_actix::inputs::parse_messages_query(&qs) {
        assert!((1..=100).contains(&q.limit.get()));
        assert!(q.offset.get() <= domain::Offset::MAX);
        if let Some(c) = &q.after {
            assert_eq!(domain::Cursor::from_token(&c.to_token()).as_ref(), Ok(c));
        }
    }
});
