//! The full record: envelopes and raw bytes round-trip, statuses fold, events
//! are kept once in order, and retention covers all of them.

use crate::delivery::{DeliveryState, DeliveryStatus, Event, EventQuery, StatusUpdate};
use crate::feed::{FeedLimit, FeedQuery, Seq};
use crate::message::{Message, MessageId};
use crate::record::{Envelope, Kind, Media, RawLookup, Source};
use crate::store::{InsertOutcome, MessageStore};
use crate::testing::MemoryStore;
use crate::timestamp::Timestamp;

use super::seeds::message;

/// A WhatsApp-shaped message with every envelope field set.
#[must_use]
pub fn voice_note(id: &str) -> Message {
    let media = Media::new("media-1")
        .map(|m| {
            m.with_mime_type(Some("audio/ogg; codecs=opus"))
                .with_sha256(Some("c0ffee"))
                .with_voice(Some(true))
        })
        .expect("media id");
    message(id, "+16315551181", "2025-03-01T10:00:00Z", None).with_envelope(
        Envelope::new(Source::WhatsApp, Kind::new("audio").expect("kind"))
            .with_sender_name(Some("Kerry Fisher"))
            .with_media(Some(media))
            .with_reply_to(Some("wamid.earlier"))
            .with_business_number_id(Some("106540352242922"))
            .with_raw(Some(
                format!(r#"{{"id":"{id}","type":"audio"}}"#).into_bytes(),
            )),
    )
}

fn id(s: &str) -> MessageId {
    MessageId::new(s).expect("id")
}

/// Every envelope field and the raw bytes come back from the feed exactly as
/// stored, with `received_at` the time of the insert; `raw` tells a missing
/// message from one kept without bytes.
pub fn full_records_round_trip(store: &dyn MessageStore) {
    let before = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let plain = message("p1", "+911", "2025-03-01T09:00:00Z", Some("hi")).with_envelope(
        Envelope::new(Source::StandardWebhooks, Kind::text())
            .with_delivery_id(Some("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"))
            .with_raw(Some(br#"{"message_id":"p1"}"#.to_vec())),
    );
    let bare = message("p2", "+911", "2025-03-01T09:30:00Z", Some("no raw"))
        .with_envelope(Envelope::new(Source::XSignature, Kind::text()));
    let voice = voice_note("w1");
    let sent = vec![plain, bare, voice];
    assert_eq!(
        store.insert_all(sent.clone()).expect("insert"),
        [InsertOutcome::Created; 3]
    );
    let after = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    let page = store.feed(&FeedQuery::default()).expect("feed");
    let got: Vec<&Message> = page.items.iter().map(|i| &i.message).collect();
    assert_eq!(got, sent.iter().collect::<Vec<_>>(), "every field kept");
    for item in &page.items {
        assert!(
            item.received_at > before && item.received_at < after,
            "received_at is when it was stored"
        );
    }
    assert_eq!(
        store.raw(&id("p1")).expect("raw"),
        RawLookup::Bytes(br#"{"message_id":"p1"}"#.to_vec())
    );
    assert_eq!(store.raw(&id("p2")).expect("raw"), RawLookup::NotKept);
    assert_eq!(store.raw(&id("nope")).expect("raw"), RawLookup::NotFound);
    // A duplicate keeps the first record, envelope included.
    let other = message("w1", "+16315551181", "2025-03-01T10:00:00Z", None);
    assert_eq!(
        store.insert(other).expect("insert"),
        InsertOutcome::Duplicate
    );
    let page = store.feed(&FeedQuery::default()).expect("feed");
    assert_eq!(page.items[2].message, sent[2]);
}

fn report(state: DeliveryState, ts: &str) -> StatusUpdate {
    StatusUpdate::new("wamid.out", state, Timestamp::parse(ts).expect("ts"))
        .expect("id")
        .with_recipient(Some("16315551181"))
}

/// Statuses arriving out of order, replayed, and failed fold as
/// [`DeliveryStatus::fold`] says, the same on every store.
pub fn statuses_move_forward_and_replays_change_nothing(store: &dyn MessageStore) {
    use DeliveryState::{Delivered, Failed, Read, Sent};
    assert_eq!(store.status("wamid.out").expect("status"), None);
    let delivered = report(Delivered, "2025-03-01T10:00:02Z");
    let sent = report(Sent, "2025-03-01T10:00:01Z");
    assert_eq!(
        store
            .record_statuses(vec![delivered.clone()])
            .expect("record"),
        1
    );
    let s = store.status("wamid.out").expect("status").expect("kept");
    assert_eq!(s.state, Delivered);
    assert_eq!(
        store
            .record_statuses(vec![sent.clone(), delivered.clone()])
            .expect("record"),
        1
    );
    let read = report(Read, "2025-03-01T10:00:03Z");
    assert_eq!(
        store
            .record_statuses(vec![read.clone(), read.clone()])
            .expect("record"),
        1
    );
    let s = store.status("wamid.out").expect("status").expect("kept");
    let reference = DeliveryStatus::fold(&[delivered, sent, read]).expect("folds");
    assert_eq!(s, reference);
    assert_eq!(
        s.history.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [Sent, Delivered, Read]
    );
    let failure = StatusUpdate::new(
        "wamid.failed",
        Failed,
        Timestamp::parse("2025-03-01T11:00:00Z").expect("ts"),
    )
    .expect("id")
    .with_errors(vec![
        br#"{"code":131047,"title":"Re-engagement message"}"#.to_vec(),
    ]);
    store.record_statuses(vec![failure]).expect("record");
    let late = StatusUpdate::new(
        "wamid.failed",
        Read,
        Timestamp::parse("2025-03-01T11:00:05Z").expect("ts"),
    )
    .expect("id");
    store.record_statuses(vec![late]).expect("record");
    let f = store.status("wamid.failed").expect("status").expect("kept");
    assert_eq!(f.state, Failed, "failed is final");
    assert_eq!(
        f.errors,
        [br#"{"code":131047,"title":"Re-engagement message"}"#.to_vec()]
    );
    exported_reports_walk_every_kept_one(store);
}

/// The kept reports themselves come back page by page, by message id then
/// state name, each exactly as kept (the export's part).
fn exported_reports_walk_every_kept_one(store: &dyn MessageStore) {
    let mut query = crate::delivery::StatusReportQuery {
        after: None,
        limit: crate::FeedLimit::new(2).expect("limit"),
    };
    let mut walked = Vec::new();
    loop {
        let page = store.status_reports(&query).expect("reports");
        assert!(page.items.len() <= 2);
        walked.extend(
            page.items
                .iter()
                .map(|u| (u.message_id().to_owned(), u.state().as_str())),
        );
        if let Some(u) = page
            .items
            .iter()
            .find(|u| u.state() == DeliveryState::Failed)
        {
            assert_eq!(u.errors().len(), 1, "with its errors");
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    assert_eq!(
        walked,
        [
            ("wamid.failed".to_owned(), "failed"),
            ("wamid.failed".to_owned(), "read"),
            ("wamid.out".to_owned(), "delivered"),
            ("wamid.out".to_owned(), "read"),
            ("wamid.out".to_owned(), "sent"),
        ]
    );
}

/// Events are kept once (by their bytes), numbered in commit order, read
/// back page by page and by field.
pub fn events_are_kept_once_in_order(store: &dyn MessageStore) {
    let e = |field: &str, n: u32| Event::new(field, format!(r#"{{"n":{n}}}"#).into_bytes());
    let first = vec![
        e("account_update", 1),
        e("template", 2),
        e("account_update", 1),
    ];
    assert_eq!(
        store.record_events(first).expect("record"),
        [
            InsertOutcome::Created,
            InsertOutcome::Created,
            InsertOutcome::Duplicate
        ]
    );
    assert_eq!(
        store
            .record_events(vec![e("template", 2), e("template", 3)])
            .expect("record"),
        [InsertOutcome::Duplicate, InsertOutcome::Created]
    );
    let all = store.events(&EventQuery::default()).expect("events");
    let seen: Vec<(&str, &[u8])> = all
        .items
        .iter()
        .map(|i| (i.event.field(), i.event.raw()))
        .collect();
    assert_eq!(
        seen,
        [
            ("account_update", &br#"{"n":1}"#[..]),
            ("template", br#"{"n":2}"#),
            ("template", br#"{"n":3}"#)
        ]
    );
    assert!(all.items.windows(2).all(|w| w[0].seq < w[1].seq));
    let one = store
        .events(&EventQuery {
            limit: FeedLimit::new(1).expect("limit"),
            ..EventQuery::default()
        })
        .expect("events");
    assert_eq!(one.items.len(), 1);
    let rest = store
        .events(&EventQuery {
            after: one.next,
            ..EventQuery::default()
        })
        .expect("events");
    assert_eq!(rest.items.len(), 2);
    let end = store
        .events(&EventQuery {
            after: rest.next,
            ..EventQuery::default()
        })
        .expect("events");
    assert!(end.items.is_empty());
    assert_eq!(end.next, rest.next, "an empty page stays where it was");
    let templates = store
        .events(&EventQuery {
            field: Some("template".to_owned()),
            ..EventQuery::default()
        })
        .expect("events");
    assert_eq!(templates.items.len(), 2);
    assert!(
        store
            .events(&EventQuery {
                after: Seq::new(i64::MAX).expect("seq"),
                ..EventQuery::default()
            })
            .expect("events")
            .items
            .is_empty()
    );
}

/// Retention: a purged message's raw bytes go with it; statuses and events
/// received before the cutoff go by `purge_records`, the rest stay.
pub fn retention_covers_raw_bytes_statuses_and_events(store: &dyn MessageStore) {
    store.insert(voice_note("old")).expect("insert");
    store
        .record_statuses(vec![report(DeliveryState::Sent, "2025-03-01T10:00:00Z")])
        .expect("record");
    store
        .record_events(vec![Event::new("account_update", b"{}".to_vec())])
        .expect("record");
    let past = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    assert_eq!(
        store.purge_records(past, 100).expect("purge"),
        0,
        "nothing is that old"
    );
    assert!(store.status("wamid.out").expect("status").is_some());
    let future = time::OffsetDateTime::now_utc() + time::Duration::seconds(5);
    assert_eq!(store.purge(future, 100).expect("purge"), 1);
    assert_eq!(store.raw(&id("old")).expect("raw"), RawLookup::NotFound);
    assert_eq!(store.purge_records(future, 100).expect("purge"), 2);
    assert_eq!(store.status("wamid.out").expect("status"), None);
    assert!(
        store
            .events(&EventQuery::default())
            .expect("events")
            .items
            .is_empty()
    );
    // The reference agrees.
    let reference = MemoryStore::new();
    reference.insert(voice_note("old")).expect("insert");
    assert_eq!(reference.purge(future, 100).expect("purge"), 1);
}
