//! WhatsApp Cloud API notifications: the JSON Meta sends, read into typed
//! structs, and what each part becomes. The rules (numbers, times, the inbox
//! text of each kind in [`domain::whatsapp::Content`], how statuses fold)
//! are `domain`'s; the shapes are here.
//!
//! Nothing is dropped: an inbound message becomes a [`Message`] with its
//! envelope (kind, media, the contact's name, the message it answers, the
//! business number, and the exact bytes of its object in the notification);
//! each status a [`StatusUpdate`]; every other change, each notification of
//! another `object`, each status of an unknown kind and each message that
//! cannot be mapped an [`Event`] holding its bytes.

use domain::whatsapp::Content;
use domain::{
    DeliveryState, Envelope, Event, Kind, Media, Message, MessageId, MessageText, Msisdn, Source,
    StatusUpdate, Timestamp,
};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::problem::ErrorDetail;

/// The `object` of notifications that carry messages.
pub(crate) const BUSINESS_ACCOUNT: &str = "whatsapp_business_account";

#[derive(Deserialize)]
struct Notification<'a> {
    object: String,
    /// Meta always sends it; a body without it is not a notification.
    #[serde(borrow)]
    entry: Vec<Entry<'a>>,
}

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(default, borrow)]
    changes: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Change<'a> {
    #[serde(default, deserialize_with = "lenient")]
    field: Option<String>,
    #[serde(default, borrow)]
    value: Option<ChangeValue<'a>>,
}

#[derive(Deserialize, Default)]
struct ChangeValue<'a> {
    #[serde(default, deserialize_with = "lenient")]
    metadata: Option<Metadata>,
    #[serde(default, deserialize_with = "lenient")]
    contacts: Option<Vec<Contact>>,
    #[serde(default, borrow)]
    messages: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    statuses: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default, deserialize_with = "lenient")]
    display_phone_number: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    phone_number_id: Option<String>,
}

/// A `contacts[]` entry of a change: who sent its messages.
#[derive(Deserialize)]
struct Contact {
    #[serde(default, deserialize_with = "lenient")]
    wa_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    #[serde(default, deserialize_with = "lenient")]
    name: Option<String>,
}

/// One entry of `statuses[]`.
#[derive(Deserialize)]
struct Status<'a> {
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    timestamp: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    recipient_id: Option<String>,
    #[serde(default, borrow)]
    errors: Option<Vec<&'a RawValue>>,
}

/// An inbound message that could not be mapped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its `id` (the `wamid…`), when it has one.
    pub id: Option<String>,
    /// What was wrong, for the WARN line.
    pub reason: String,
}

/// What one notification holds.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The inbound messages, mapped, in order, each with its envelope and
    /// raw bytes.
    pub messages: Vec<Message>,
    /// Inbound messages that could not be mapped (each is also an event).
    pub skipped: Vec<Skipped>,
    /// Delivery statuses of the messages the business sent.
    pub statuses: Vec<StatusUpdate>,
    /// Everything else, raw: other fields, other objects, unknown statuses,
    /// unmappable messages; each with what it was.
    pub events: Vec<Kept>,
}

/// A part of a notification kept as an event, and what it was: `field` (a
/// change of another field), `object` (a notification of another object),
/// `status` (a status of an unknown kind), `message` (a message that could
/// not be mapped).
#[derive(Debug)]
pub struct Kept {
    /// The metric label.
    pub kind: &'static str,
    /// The event.
    pub event: Event,
}

impl Decoded {
    fn keep(&mut self, kind: &'static str, field: &str, raw: &[u8]) {
        self.events.push(Kept {
            kind,
            event: Event::new(field, raw.to_vec()),
        });
    }
}

/// A notification that is not JSON of Meta's shape.
fn not_a_notification(e: impl std::fmt::Display) -> Vec<ErrorDetail> {
    vec![ErrorDetail::new(
        &["body"],
        format!("not a WhatsApp notification: {e}"),
        "json_invalid",
    )]
}

/// Decodes a notification's raw bytes (already verified).
///
/// # Errors
/// The 422 entries when the body is not a JSON object of this shape.
pub fn decode(bytes: &[u8]) -> Result<Decoded, Vec<ErrorDetail>> {
    let text = std::str::from_utf8(bytes).map_err(not_a_notification)?;
    let notification: Notification<'_> = serde_json::from_str(text).map_err(not_a_notification)?;
    let mut decoded = Decoded::default();
    if notification.object != BUSINESS_ACCOUNT {
        decoded.keep("object", &notification.object, bytes);
        return Ok(decoded);
    }
    for raw in notification.entry.into_iter().flat_map(|e| e.changes) {
        let change: Change<'_> = serde_json::from_str(raw.get()).map_err(not_a_notification)?;
        match (change.field.as_deref(), change.value) {
            (Some("messages"), Some(value)) => decode_change(value, &mut decoded),
            (field, _) => decoded.keep("field", field.unwrap_or("unknown"), raw.get().as_bytes()),
        }
    }
    Ok(decoded)
}

/// The messages and statuses of one `messages` change.
fn decode_change(value: ChangeValue<'_>, decoded: &mut Decoded) {
    let metadata = value.metadata;
    let to = metadata
        .as_ref()
        .and_then(|m| m.display_phone_number.as_deref())
        .ok_or("metadata.display_phone_number is missing")
        .and_then(|n| {
            Msisdn::from_display(n)
                .map_err(|_| "metadata.display_phone_number is not a phone number")
        });
    let business = metadata.as_ref().and_then(|m| m.phone_number_id.as_deref());
    let contacts = value.contacts.unwrap_or_default();
    for raw in &value.messages {
        match map_message(raw, to.as_ref(), business, &contacts) {
            Ok(m) => decoded.messages.push(m),
            Err(reason) => {
                let id = serde_json::from_str::<Value>(raw.get())
                    .ok()
                    .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned));
                decoded.skipped.push(Skipped { id, reason });
                decoded.keep("message", "messages", raw.get().as_bytes());
            }
        }
    }
    for raw in &value.statuses {
        match map_status(raw) {
            Some(update) => decoded.statuses.push(update),
            None => decoded.keep("status", "statuses", raw.get().as_bytes()),
        }
    }
}

/// A status of a known state with an id and a Unix timestamp.
fn map_status(raw: &RawValue) -> Option<StatusUpdate> {
    let status: Status<'_> = serde_json::from_str(raw.get()).ok()?;
    let state = DeliveryState::from_name(status.status.as_deref()?)?;
    let ts = Timestamp::from_unix_seconds(status.timestamp.as_deref()?).ok()?;
    let errors = status
        .errors
        .unwrap_or_default()
        .iter()
        .map(|e| e.get().as_bytes().to_vec())
        .collect();
    Some(
        StatusUpdate::new(status.id.as_deref()?, state, ts)?
            .with_recipient(status.recipient_id.as_deref())
            .with_errors(errors),
    )
}

/// One entry of `messages[]`, typed. Every field is lenient: a value of an
/// unexpected shape reads as absent, so one odd field costs that field, not
/// the message or the notification.
#[derive(Deserialize)]
struct Inbound {
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    from: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    timestamp: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "lenient")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    text: Option<Body>,
    #[serde(default, deserialize_with = "lenient")]
    image: Option<MediaObject>,
    #[serde(default, deserialize_with = "lenient")]
    video: Option<MediaObject>,
    #[serde(default, deserialize_with = "lenient")]
    document: Option<MediaObject>,
    #[serde(default, deserialize_with = "lenient")]
    audio: Option<MediaObject>,
    #[serde(default, deserialize_with = "lenient")]
    sticker: Option<MediaObject>,
    #[serde(default, deserialize_with = "lenient")]
    context: Option<Context>,
    #[serde(default, deserialize_with = "lenient")]
    button: Option<ButtonReply>,
    #[serde(default, deserialize_with = "lenient")]
    interactive: Option<Interactive>,
    #[serde(default, deserialize_with = "lenient")]
    reaction: Option<Reaction>,
    #[serde(default, deserialize_with = "lenient")]
    system: Option<Body>,
    #[serde(default, deserialize_with = "lenient")]
    location: Option<Location>,
    #[serde(default, deserialize_with = "lenient")]
    contacts: Option<Vec<SharedContact>>,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default, deserialize_with = "lenient")]
    body: Option<String>,
}

/// An image, video, document, audio or sticker: what to fetch it by.
#[derive(Deserialize)]
struct MediaObject {
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    mime_type: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    sha256: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    filename: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    voice: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    caption: Option<String>,
}

impl MediaObject {
    fn media(&self) -> Option<Media> {
        Some(
            Media::new(self.id.as_deref()?)?
                .with_mime_type(self.mime_type.as_deref())
                .with_sha256(self.sha256.as_deref())
                .with_filename(self.filename.as_deref())
                .with_voice(self.voice),
        )
    }
}

/// The message a reply answers.
#[derive(Deserialize)]
struct Context {
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
}

#[derive(Deserialize)]
struct ButtonReply {
    #[serde(default, deserialize_with = "lenient")]
    text: Option<String>,
}

#[derive(Deserialize)]
struct Titled {
    #[serde(default, deserialize_with = "lenient")]
    title: Option<String>,
}

#[derive(Deserialize)]
struct Interactive {
    #[serde(default, deserialize_with = "lenient")]
    button_reply: Option<Titled>,
    #[serde(default, deserialize_with = "lenient")]
    list_reply: Option<Titled>,
}

#[derive(Deserialize)]
struct Reaction {
    #[serde(default, deserialize_with = "lenient")]
    emoji: Option<String>,
}

#[derive(Deserialize)]
struct Location {
    #[serde(default, deserialize_with = "lenient")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    address: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    latitude: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    longitude: Option<f64>,
}

/// A contact card shared in a `contacts` message.
#[derive(Deserialize)]
struct SharedContact {
    #[serde(default, deserialize_with = "lenient")]
    name: Option<ContactName>,
}

#[derive(Deserialize)]
struct ContactName {
    #[serde(default, deserialize_with = "lenient")]
    formatted_name: Option<String>,
}

/// `T` when the value has its shape, else `None`.
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    Ok(T::deserialize(value).ok())
}

impl Inbound {
    /// The media object of the message's kind, for the kinds that have one.
    fn media_object(&self) -> Option<&MediaObject> {
        match self.kind.as_deref()? {
            "image" => self.image.as_ref(),
            "video" => self.video.as_ref(),
            "document" => self.document.as_ref(),
            "audio" => self.audio.as_ref(),
            "sticker" => self.sticker.as_ref(),
            _ => None,
        }
    }

    /// Meta's `type` as sent; a message without one reads as `text`, and
    /// one no store can keep as `unsupported`.
    fn kind(&self) -> Kind {
        match self.kind.as_deref() {
            None => Kind::text(),
            Some(k) => Kind::new(k)
                .or_else(|| Kind::new("unsupported"))
                .unwrap_or_else(Kind::text),
        }
    }

    /// The content that decides the inbox text; a message without `type`
    /// is read as `text`.
    fn content(&self) -> Content {
        match self.kind.as_deref().unwrap_or("text") {
            "text" => Content::Text {
                body: self.text.as_ref().and_then(|t| t.body.clone()),
            },
            "image" | "video" | "document" => Content::Captioned {
                caption: self.media_object().and_then(|m| m.caption.clone()),
            },
            "button" => Content::Button {
                text: self.button.as_ref().and_then(|b| b.text.clone()),
            },
            "interactive" => Content::Interactive {
                title: self.interactive.as_ref().and_then(|i| {
                    let title = |t: &Option<Titled>| {
                        t.as_ref()
                            .and_then(|t| t.title.clone())
                            .filter(|t| !t.is_empty())
                    };
                    title(&i.button_reply).or_else(|| title(&i.list_reply))
                }),
            },
            "reaction" => Content::Reaction {
                emoji: self.reaction.as_ref().and_then(|r| r.emoji.clone()),
            },
            "system" => Content::System {
                body: self.system.as_ref().and_then(|s| s.body.clone()),
            },
            "location" => self
                .location
                .as_ref()
                .map_or(Content::Other, |l| Content::Location {
                    name: l.name.clone(),
                    address: l.address.clone(),
                    latitude: l.latitude,
                    longitude: l.longitude,
                }),
            "contacts" => Content::Contacts {
                names: self
                    .contacts
                    .iter()
                    .flatten()
                    .filter_map(|c| c.name.as_ref().and_then(|n| n.formatted_name.clone()))
                    .collect(),
            },
            _ => Content::Other,
        }
    }
}

fn map_message(
    raw: &RawValue,
    to: Result<&Msisdn, &&str>,
    business: Option<&str>,
    contacts: &[Contact],
) -> Result<Message, String> {
    let to = to.map_err(|e| (*e).to_owned())?.clone();
    let m: Inbound = serde_json::from_str(raw.get()).map_err(|_| "not a JSON object".to_owned())?;
    let id =
        m.id.as_deref()
            .ok_or("id is missing")
            .and_then(|id| MessageId::new(id).map_err(|_| "id is empty, too long or holds NUL"))?;
    let from_digits = m.from.as_deref().ok_or("from is missing")?;
    let from = Msisdn::from_digits(from_digits).map_err(|_| "from is not 1 to 15 digits")?;
    let ts = m
        .timestamp
        .as_deref()
        .ok_or("timestamp is missing")
        .and_then(|t| {
            Timestamp::from_unix_seconds(t).map_err(|_| "timestamp is not Unix seconds")
        })?;
    let text = m
        .content()
        .inbox_text()
        .map(MessageText::new)
        .transpose()
        .map_err(|e| format!("text: {e}"))?;
    let sender_name = contacts
        .iter()
        .find(|c| c.wa_id.as_deref() == Some(from_digits))
        .and_then(|c| c.profile.as_ref()?.name.as_deref());
    let envelope = Envelope::new(Source::WhatsApp, m.kind())
        .with_sender_name(sender_name)
        .with_media(m.media_object().and_then(MediaObject::media))
        .with_reply_to(m.context.as_ref().and_then(|c| c.id.as_deref()))
        .with_business_number_id(business)
        .with_raw(Some(raw.get().as_bytes().to_vec()));
    Ok(Message::new(id, from, to, ts, text).with_envelope(envelope))
}
#[cfg(test)]
mod tests {
    use super::*;

    fn notification(messages: &str, statuses: &str) -> Vec<u8> {
        format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550783881","phone_number_id":"106540352242922"}},"contacts":[{{"profile":{{"name":"Kerry Fisher"}},"wa_id":"16315551181"}}],"messages":[{messages}],"statuses":[{statuses}]}}}}]}}]}}"#
        )
        .into_bytes()
    }

    #[test]
    fn maps_each_type_to_the_text_a_reader_expects() {
        let cases = [
            (r#"{"type":"text","text":{"body":"Hello"}}"#, Some("Hello")),
            (
                r#"{"type":"image","image":{"caption":"Look","id":"1"}}"#,
                Some("Look"),
            ),
            (r#"{"type":"image","image":{"id":"1"}}"#, None),
            (r#"{"type":"audio","audio":{"id":"1"}}"#, None),
            (
                r#"{"type":"button","button":{"text":"Yes","payload":"y"}}"#,
                Some("Yes"),
            ),
            (
                r#"{"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"a","title":"Option A"}}}"#,
                Some("Option A"),
            ),
            (
                r#"{"type":"reaction","reaction":{"message_id":"wamid.X","emoji":"👍"}}"#,
                Some("👍"),
            ),
            (
                r#"{"type":"location","location":{"latitude":1.5,"longitude":2.25}}"#,
                Some("1.5,2.25"),
            ),
            (
                r#"{"type":"location","location":{"latitude":1,"longitude":2,"name":"Cafe","address":"Main St"}}"#,
                Some("Cafe, Main St"),
            ),
            (
                r#"{"type":"contacts","contacts":[{"name":{"formatted_name":"Ann"}},{"name":{"formatted_name":"Bo"}}]}"#,
                Some("Ann, Bo"),
            ),
            (r#"{"type":"unsupported"}"#, None),
        ];
        for (i, (fields, text)) in cases.iter().enumerate() {
            let m = format!(
                r#"{{"from":"16315551181","id":"wamid.{i}","timestamp":"1504902988",{}"#,
                &fields[1..]
            );
            let d = decode(&notification(&m, "")).expect("decodes");
            assert_eq!(d.skipped, [], "{fields}");
            let got = &d.messages[0];
            assert_eq!(got.text().map(MessageText::as_str), *text, "{fields}");
            assert_eq!(got.from().as_str(), "+16315551181");
            assert_eq!(got.to().as_str(), "+15550783881");
            assert_eq!(got.ts().as_str(), "2017-09-08T20:36:28Z");
        }
    }

    #[test]
    fn unmappable_entries_are_skipped_and_the_rest_kept() {
        let messages = r#"{"from":"16315551181","id":"wamid.ok","timestamp":"1504902988","type":"text","text":{"body":"a"}},
            {"from":"1234567890123456","id":"wamid.long","timestamp":"1504902988","type":"text","text":{"body":"b"}},
            {"from":"16315551181","timestamp":"1504902988","type":"text","text":{"body":"c"}},
            {"from":"16315551181","id":"wamid.ts","timestamp":"soon","type":"text","text":{"body":"d"}}"#;
        let d = decode(&notification(
            messages,
            r#"{"id":"wamid.s","status":"read","timestamp":"1504902990"}"#,
        ))
        .expect("decodes");
        assert_eq!(d.messages.len(), 1);
        assert_eq!(d.statuses.len(), 1);
        assert_eq!(
            d.events.len(),
            3,
            "each skipped message is kept as an event"
        );
        let skipped: Vec<(Option<&str>, &str)> = d
            .skipped
            .iter()
            .map(|s| (s.id.as_deref(), s.reason.as_str()))
            .collect();
        assert_eq!(
            skipped,
            [
                (Some("wamid.long"), "from is not 1 to 15 digits"),
                (None, "id is missing"),
                (Some("wamid.ts"), "timestamp is not Unix seconds"),
            ]
        );
    }

    #[test]
    fn other_objects_and_fields_are_kept_as_events() {
        let d = decode(br#"{"object":"page","entry":[]}"#).expect("decodes");
        assert_eq!(d.events[0].event.field(), "page");
        assert!(
            decode(br#"{"object":"whatsapp_business_account"}"#).is_err(),
            "entry is required"
        );
        let d = decode(br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"account_update","value":{}}]}]}"#).expect("decodes");
        assert_eq!(
            (d.events[0].event.field(), d.messages.len()),
            ("account_update", 0)
        );
        assert!(decode(b"[1]").is_err());
        assert!(decode(b"not json").is_err());
    }
}
