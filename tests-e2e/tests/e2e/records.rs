//! Nothing a sender sends is lost: every WhatsApp kind with its media,
//! names, replies and business number, statuses, other changes as events,
//! and the raw bytes, through the real binary (on PostgreSQL too with
//! `HOOKBOX_E2E_STORE=postgres`).

use domain::{SigningKeys, WebhookSecret};
use serde_json::Value;
use testkit::{Client, Server};

use crate::{body, ids, metric};

pub(crate) const APP_SECRET: &str = "records-app-secret";

fn server(extra: &[(&str, &str)]) -> Server {
    let mut b = Server::builder()
        .env("WHATSAPP_APP_SECRET", APP_SECRET)
        .env("WHATSAPP_VERIFY_TOKEN", "records-token");
    for (k, v) in extra {
        b = b.env(k, v);
    }
    b.start()
}

fn notify(c: Client, body: &str) -> u16 {
    let key = WebhookSecret::new(APP_SECRET).expect("secret");
    let sig = format!("sha256={}", key.sign(body.as_bytes()));
    c.request(
        "POST",
        "/webhook/whatsapp",
        &[
            ("Content-Type", "application/json"),
            ("X-Hub-Signature-256", &sig),
        ],
        Some(body.as_bytes()),
    )
    .expect("post")
    .status
}

/// A notification of one `messages` change to business number `number`
/// (`display`), with these message objects and statuses, exactly as given.
fn change(number: &str, display: &str, messages: &[&str], statuses: &[&str]) -> String {
    format!(
        r#"{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"{display}","phone_number_id":"{number}"}},"contacts":[{{"profile":{{"name":"Kerry Fisher"}},"wa_id":"16315551181"}},{{"profile":{{"name":"Ana"}},"wa_id":"5511987654321"}}],"messages":[{}],"statuses":[{}]}},"field":"messages"}}"#,
        messages.join(","),
        statuses.join(",")
    )
}

fn notification(changes: &[String]) -> String {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{}]}}]}}"#,
        changes.join(",")
    )
}

/// Every feed item, by `message_id`.
fn records(c: Client) -> Vec<Value> {
    let feed = c.get("/messages/feed?limit=1000").expect("feed").json();
    feed["data"].as_array().expect("data").clone()
}

fn record<'a>(all: &'a [Value], id: &str) -> &'a Value {
    all.iter()
        .find(|r| r["message_id"] == id)
        .unwrap_or_else(|| panic!("{id} is in the feed"))
}

const M_IMAGE: &str = r#"{"from":"16315551181","id":"wamid.image","timestamp":"1700000001","type":"image","image":{"caption":"Look at this","mime_type":"image/jpeg","sha256":"aGVsbG8=","id":"media.image"}}"#;
const M_VOICE: &str = r#"{"from":"16315551181","id":"wamid.voice","timestamp":"1700000002","type":"audio","audio":{"mime_type":"audio/ogg; codecs=opus","sha256":"dm9pY2U=","id":"media.voice","voice":true}}"#;
const M_DOCUMENT: &str = r#"{"from":"16315551181","id":"wamid.doc","timestamp":"1700000003","type":"document","document":{"filename":"invoice-42.pdf","mime_type":"application/pdf","sha256":"ZG9j","id":"media.doc"}}"#;
const M_STICKER: &str = r#"{"from":"16315551181","id":"wamid.sticker","timestamp":"1700000004","type":"sticker","sticker":{"mime_type":"image/webp","sha256":"c3RpY2s=","id":"media.sticker","animated":false}}"#;
const M_LOCATION: &str = r#"{"from":"16315551181","id":"wamid.loc","timestamp":"1700000005","type":"location","location":{"latitude":38.7223,"longitude":-9.1393,"name":"Cafe","address":"Main St"}}"#;
const M_CONTACTS: &str = r#"{"from":"16315551181","id":"wamid.contacts","timestamp":"1700000006","type":"contacts","contacts":[{"name":{"formatted_name":"Ann Lee","first_name":"Ann"},"phones":[{"phone":"+1 555 0100","type":"CELL"}]}]}"#;
const M_LIST: &str = r#"{"from":"16315551181","id":"wamid.list","timestamp":"1700000007","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"row-2","title":"Tomorrow","description":"after 5 pm"}}}"#;
const M_BUTTON: &str = r#"{"from":"16315551181","id":"wamid.button","timestamp":"1700000008","type":"button","button":{"payload":"yes-payload","text":"Yes"}}"#;
const M_REACTION: &str = r#"{"from":"16315551181","id":"wamid.reaction","timestamp":"1700000009","type":"reaction","reaction":{"message_id":"wamid.image","emoji":"\ud83d\udc4d"}}"#;
const M_REPLY: &str = r#"{"context":{"from":"15550783881","id":"wamid.sent-by-us"},"from":"16315551181","id":"wamid.reply","timestamp":"1700000010","type":"text","text":{"body":"Yes, that works"}}"#;
const M_FUTURE: &str = r#"{"from":"16315551181","id":"wamid.future","timestamp":"1700000011","type":"hologram","hologram":{"id":"h1"}}"#;

#[test]
fn every_whatsapp_kind_keeps_its_media_name_reply_and_bytes() {
    let s = server(&[]);
    let c = s.client();
    let all_messages = [
        M_IMAGE, M_VOICE, M_DOCUMENT, M_STICKER, M_LOCATION, M_CONTACTS, M_LIST, M_BUTTON,
        M_REACTION, M_REPLY, M_FUTURE,
    ];
    let posted = notification(&[change("106540352242922", "15550783881", &all_messages, &[])]);
    assert_eq!(notify(c, &posted), 200);
    let all = records(c);
    assert_eq!(all.len(), all_messages.len());
    let kind_text = [
        ("wamid.image", "image", Value::from("Look at this")),
        ("wamid.voice", "audio", Value::Null),
        ("wamid.doc", "document", Value::Null),
        ("wamid.sticker", "sticker", Value::Null),
        ("wamid.loc", "location", Value::from("Cafe, Main St")),
        ("wamid.contacts", "contacts", Value::from("Ann Lee")),
        ("wamid.list", "interactive", Value::from("Tomorrow")),
        ("wamid.button", "button", Value::from("Yes")),
        ("wamid.reaction", "reaction", Value::from("👍")),
        ("wamid.reply", "text", Value::from("Yes, that works")),
        ("wamid.future", "hologram", Value::Null),
    ];
    for (id, kind, text) in kind_text {
        let r = record(&all, id);
        assert_eq!(r["kind"], kind, "{r}");
        assert_eq!(r["text"], text, "{r}");
        assert_eq!(r["source"], "whatsapp");
        assert_eq!(r["sender_name"], "Kerry Fisher", "{r}");
        assert_eq!(r["business_number_id"], "106540352242922");
        assert_eq!(r["to"], "+15550783881");
        assert!(
            r["received_at"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{r}"
        );
        assert_eq!(r["delivery_id"], Value::Null);
    }
    let voice = &record(&all, "wamid.voice")["media"];
    assert_eq!(voice["id"], "media.voice");
    assert_eq!(voice["mime_type"], "audio/ogg; codecs=opus");
    assert_eq!(voice["sha256"], "dm9pY2U=");
    assert_eq!(voice["voice"], true);
    assert_eq!(
        record(&all, "wamid.doc")["media"]["filename"],
        "invoice-42.pdf"
    );
    assert_eq!(
        record(&all, "wamid.sticker")["media"]["id"],
        "media.sticker"
    );
    assert_eq!(record(&all, "wamid.image")["media"]["voice"], Value::Null);
    assert_eq!(record(&all, "wamid.loc")["media"], Value::Null);
    assert_eq!(record(&all, "wamid.reply")["reply_to"], "wamid.sent-by-us");
    assert_eq!(record(&all, "wamid.image")["reply_to"], Value::Null);
    // `raw`: the message's own object, embedded as JSON, and its exact
    // bytes at /raw (escapes and key order as posted).
    for m in all_messages {
        let v: Value = serde_json::from_str(m).expect("json");
        let id = v["id"].as_str().expect("id");
        assert_eq!(record(&all, id)["raw"], v, "{id}");
        let raw = c.get(&format!("/messages/{id}/raw")).expect("raw");
        assert_eq!(raw.status, 200);
        assert_eq!(raw.header("content-type"), Some("application/json"));
        assert_eq!(raw.body, m.as_bytes(), "{id}: the exact slice");
    }
    // `/messages` keeps the assignment's shape: exactly five keys.
    let page = c.get("/messages").expect("list").json();
    for item in page["data"].as_array().expect("data") {
        let mut keys: Vec<&str> = item
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["from", "message_id", "text", "to", "ts"]);
    }
    let missing = c.get("/messages/wamid.nope/raw").expect("raw");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["detail"], "message not found");
}

#[test]
fn one_notification_from_two_business_numbers_keeps_each_number() {
    let s = server(&[]);
    let c = s.client();
    let to_a = r#"{"from":"16315551181","id":"wamid.a","timestamp":"1700000001","type":"text","text":{"body":"to A"}}"#;
    let to_b = r#"{"from":"5511987654321","id":"wamid.b","timestamp":"1700000002","type":"text","text":{"body":"to B"}}"#;
    let posted = notification(&[
        change("111111111111111", "15550001111", &[to_a], &[]),
        change("222222222222222", "15550002222", &[to_b], &[]),
    ]);
    assert_eq!(notify(c, &posted), 200);
    let all = records(c);
    let a = record(&all, "wamid.a");
    let b = record(&all, "wamid.b");
    assert_eq!(
        (&a["to"], &a["business_number_id"]),
        (&"+15550001111".into(), &"111111111111111".into())
    );
    assert_eq!(
        (&b["to"], &b["business_number_id"]),
        (&"+15550002222".into(), &"222222222222222".into())
    );
    assert_eq!(b["sender_name"], "Ana", "the contact whose wa_id sent it");
}

fn status(id: &str, state: &str, ts: u64, extra: &str) -> String {
    format!(
        r#"{{"id":"{id}","status":"{state}","timestamp":"{ts}","recipient_id":"16315551181"{extra}}}"#
    )
}

#[test]
fn statuses_move_forward_whatever_order_meta_sends_them_in() {
    let s = server(&[]);
    let c = s.client();
    let post = |statuses: &[String]| {
        let refs: Vec<&str> = statuses.iter().map(String::as_str).collect();
        notify(
            c,
            &notification(&[change("106540352242922", "15550783881", &[], &refs)]),
        )
    };
    assert_eq!(c.get("/statuses/wamid.out").expect("status").status, 404);
    assert_eq!(
        post(&[status("wamid.out", "delivered", 1_700_000_002, "")]),
        200
    );
    assert_eq!(
        c.get("/statuses/wamid.out").expect("status").json()["status"],
        "delivered"
    );
    assert_eq!(post(&[status("wamid.out", "sent", 1_700_000_001, "")]), 200);
    let s1 = c.get("/statuses/wamid.out").expect("status").json();
    assert_eq!(
        s1["status"], "delivered",
        "sent after delivered does not go back: {s1}"
    );
    assert_eq!(post(&[status("wamid.out", "read", 1_700_000_003, "")]), 200);
    // Meta's replay of the same statuses changes nothing.
    assert_eq!(post(&[status("wamid.out", "read", 1_700_000_003, "")]), 200);
    assert_eq!(
        post(&[status("wamid.out", "delivered", 1_700_000_002, "")]),
        200
    );
    let s2 = c.get("/statuses/wamid.out").expect("status").json();
    assert_eq!(s2["status"], "read");
    assert_eq!(s2["message_id"], "wamid.out");
    assert_eq!(s2["recipient"], "16315551181");
    let history: Vec<(&str, &str)> = s2["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| {
            (
                h["status"].as_str().expect("s"),
                h["ts"].as_str().expect("ts"),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            ("sent", "2023-11-14T22:13:21Z"),
            ("delivered", "2023-11-14T22:13:22Z"),
            ("read", "2023-11-14T22:13:23Z")
        ]
    );
    assert_eq!(s2["errors"], Value::Array(Vec::new()));
    let errors = r#","errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message","error_data":{"details":"Message failed to send because more than 24 hours have passed"}}]"#;
    assert_eq!(
        post(&[status("wamid.failed", "failed", 1_700_000_010, errors)]),
        200
    );
    assert_eq!(
        post(&[status("wamid.failed", "read", 1_700_000_020, "")]),
        200
    );
    let f = c.get("/statuses/wamid.failed").expect("status").json();
    assert_eq!(f["status"], "failed", "failed is final: {f}");
    assert_eq!(f["errors"][0]["code"], 131_047);
    assert_eq!(
        f["errors"][0]["error_data"]["details"],
        "Message failed to send because more than 24 hours have passed"
    );
}

#[test]
fn other_changes_and_objects_are_kept_as_events_once() {
    let s = server(&[]);
    let c = s.client();
    let template = r#"{"value":{"event":"APPROVED","message_template_id":594425479261596,"message_template_name":"order_update","message_template_language":"en_US","reason":"NONE"},"field":"message_template_status_update"}"#;
    let account = r#"{"value":{"phone_number":"15550783881","event":"VERIFIED_ACCOUNT"},"field":"account_update"}"#;
    let posted = format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","time":1700000000,"changes":[{template},{account}]}}]}}"#
    );
    assert_eq!(notify(c, &posted), 200);
    assert_eq!(notify(c, &posted), 200, "Meta's retry");
    let page = r#"{"object":"page","entry":[{"id":"1","time":1700000000,"changes":[]}]}"#;
    assert_eq!(notify(c, page), 200);
    let events = c.get("/whatsapp/events").expect("events").json();
    let data = events["data"].as_array().expect("data");
    let fields: Vec<&str> = data
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(
        fields,
        ["message_template_status_update", "account_update", "page"],
        "each once, in order: {events}"
    );
    assert_eq!(
        data[0]["raw"],
        serde_json::from_str::<Value>(template).expect("json")
    );
    assert_eq!(
        data[2]["raw"],
        serde_json::from_str::<Value>(page).expect("json")
    );
    assert!(
        data.windows(2)
            .all(|w| w[0]["seq"].as_u64() < w[1]["seq"].as_u64())
    );
    assert!(
        data[0]["received_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(events["next"], data[2]["seq"]);
    let only = c
        .get("/whatsapp/events?field=account_update")
        .expect("events")
        .json();
    assert_eq!(only["data"].as_array().map(Vec::len), Some(1));
    let after = c
        .get(&format!("/whatsapp/events?after={}", data[0]["seq"]))
        .expect("events")
        .json();
    assert_eq!(after["data"].as_array().map(Vec::len), Some(2));
    let m = c.get("/metrics").expect("metrics").text();
    assert_eq!(
        metric(&m, r#"hookbox_whatsapp_ignored_total{kind="field"}"#),
        Some(2.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, r#"hookbox_whatsapp_ignored_total{kind="object"}"#),
        Some(1.0)
    );
    // An unmappable message is skipped, and kept as an event.
    let bad = r#"{"from":"not-digits","id":"wamid.bad","timestamp":"1700000001","type":"text","text":{"body":"x"}}"#;
    let posted = notification(&[change("106540352242922", "15550783881", &[bad], &[])]);
    assert_eq!(notify(c, &posted), 200);
    let kept = c
        .get("/whatsapp/events?field=messages")
        .expect("events")
        .json();
    assert_eq!(kept["data"][0]["raw"]["id"], "wamid.bad");
    assert_eq!(c.get("/messages").expect("list").json()["total"], 0);
    let bad_query = c.get("/whatsapp/events?limit=0").expect("events");
    assert_eq!(bad_query.status, 422);
}

#[test]
fn a_plain_webhook_keeps_its_body_which_re_verifies_and_standard_webhooks_its_id() {
    let s = server(&[]);
    let c = s.client();
    // Spacing and key order as a sender might write them.
    let posted = b"{ \"text\": \"Hello\",\n  \"message_id\": \"p1\", \"from\": \"+919876543210\", \"to\": \"+14155550100\", \"ts\": \"2025-01-15T10:00:00Z\" }";
    let signature = testkit::sign(posted);
    assert_eq!(
        c.webhook(posted, Some(&signature)).expect("post").status,
        200
    );
    let raw = c.get("/messages/p1/raw").expect("raw");
    assert_eq!(raw.status, 200);
    assert_eq!(raw.body, posted);
    let keys = SigningKeys::new(WebhookSecret::new(testkit::SECRET).expect("secret"));
    assert!(
        keys.verify(&raw.body, Some(signature.as_bytes())).is_ok(),
        "the stored body re-verifies against its X-Signature"
    );
    let all = records(c);
    let p1 = record(&all, "p1");
    assert_eq!(
        (p1["source"].as_str(), p1["kind"].as_str()),
        (Some("x-signature"), Some("text"))
    );
    assert_eq!(p1["media"], Value::Null);
    assert_eq!(p1["sender_name"], Value::Null);
    // Standard Webhooks: the delivery's id is kept.
    let b = body("sw1", "+919876543210", "2025-01-15T10:00:00Z", Some("hi"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let ts = now.to_string();
    let sig = keys.sign_standard(
        "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        i64::try_from(now).expect("now"),
        &b,
    );
    let r = c
        .request(
            "POST",
            "/webhook",
            &[
                ("Content-Type", "application/json"),
                ("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"),
                ("webhook-timestamp", &ts),
                ("webhook-signature", &sig),
            ],
            Some(&b),
        )
        .expect("post");
    assert_eq!(r.status, 200, "{}", r.text());
    let all = records(c);
    let sw = record(&all, "sw1");
    assert_eq!(sw["source"], "standard-webhooks");
    assert_eq!(sw["delivery_id"], "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
    assert_eq!(
        ids(&c.get("/messages").expect("list").json()),
        ["p1", "sw1"]
    );
}

#[test]
fn keep_raw_off_stores_no_bytes_and_says_so() {
    let s = server(&[("KEEP_RAW", "off")]);
    let c = s.client();
    let b = body("k1", "+919876543210", "2025-01-15T10:00:00Z", Some("hi"));
    assert_eq!(c.signed_webhook(&b).expect("post").status, 200);
    let posted = notification(&[change("106540352242922", "15550783881", &[M_VOICE], &[])]);
    assert_eq!(notify(c, &posted), 200);
    for id in ["k1", "wamid.voice"] {
        let raw = c.get(&format!("/messages/{id}/raw")).expect("raw");
        assert_eq!(raw.status, 404, "{id}");
        let detail = raw.json()["detail"].as_str().unwrap_or_default().to_owned();
        assert!(detail.contains("KEEP_RAW=off"), "{detail}");
    }
    let all = records(c);
    assert!(all.iter().all(|r| r["raw"].is_null()));
    // Everything else is still kept.
    assert_eq!(record(&all, "wamid.voice")["media"]["voice"], true);
}

/// Posts a mix of what a WhatsApp sender sends: messages of several kinds
/// (media, location, a reply), statuses of two sent messages (one failed,
/// with its error) and two other changes kept as events. For tests that
/// move a whole store.
pub(crate) fn post_whatsapp_mix(c: Client) {
    let statuses = [
        status("wamid.out", "sent", 1_700_000_001, ""),
        status("wamid.out", "delivered", 1_700_000_002, ""),
        status(
            "wamid.failed",
            "failed",
            1_700_000_003,
            r#","errors":[{"code":131047,"title":"Re-engagement message"}]"#,
        ),
    ];
    let refs: Vec<&str> = statuses.iter().map(String::as_str).collect();
    let messages = change(
        "106540352242922",
        "15550783881",
        &[M_IMAGE, M_VOICE, M_DOCUMENT, M_LOCATION, M_REPLY],
        &refs,
    );
    let template = r#"{"value":{"event":"APPROVED","message_template_id":594425479261596,"message_template_name":"order_update","message_template_language":"en_US","reason":"NONE"},"field":"message_template_status_update"}"#;
    let account = r#"{"value":{"phone_number":"15550783881","event":"VERIFIED_ACCOUNT"},"field":"account_update"}"#;
    let body = notification(&[messages, template.to_owned(), account.to_owned()]);
    assert_eq!(notify(c, &body), 200);
}
