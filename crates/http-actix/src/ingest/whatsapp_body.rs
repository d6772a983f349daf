//! WhatsApp Cloud API notifications: the JSON Meta sends, read into typed
//! structs, and how each inbound message becomes a [`Message`]. The rules
//! (numbers, times, the inbox text of each kind in
//! [`domain::whatsapp::Content`]) are `domain`'s; the shapes are here.

use domain::whatsapp::Content;
use domain::{Message, MessageId, MessageText, Msisdn, Timestamp};
use serde::Deserialize;
use serde_json::Value;

use crate::problem::ErrorDetail;

/// The `object` of notifications that carry messages.
pub(crate) const BUSINESS_ACCOUNT: &str = "whatsapp_business_account";

#[derive(Deserialize)]
struct Notification {
    object: String,
    /// Meta always sends it; a body without it is not a notification.
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    field: Option<String>,
    #[serde(default)]
    value: ChangeValue,
}

#[derive(Deserialize, Default)]
struct ChangeValue {
    metadata: Option<Metadata>,
    #[serde(default)]
    messages: Vec<Value>,
    #[serde(default)]
    statuses: Vec<Value>,
}

#[derive(Deserialize)]
struct Metadata {
    display_phone_number: Option<String>,
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
    /// The inbound messages, mapped, in order.
    pub messages: Vec<Message>,
    /// Inbound messages that could not be mapped.
    pub skipped: Vec<Skipped>,
    /// Delivery receipts (`statuses`): acknowledged, not stored.
    pub statuses: usize,
    /// Changes of other `field`s than `messages`.
    pub other_fields: usize,
    /// Whether the `object` is not a business account (all ignored).
    pub other_object: bool,
}

/// Decodes a notification's raw bytes (already verified).
///
/// # Errors
/// The 422 entries when the body is not a JSON object of this shape.
pub fn decode(bytes: &[u8]) -> Result<Decoded, Vec<ErrorDetail>> {
    let notification: Notification = serde_json::from_slice(bytes).map_err(|e| {
        vec![ErrorDetail::new(
            &["body"],
            format!("not a WhatsApp notification: {e}"),
            "json_invalid",
        )]
    })?;
    let mut decoded = Decoded::default();
    if notification.object != BUSINESS_ACCOUNT {
        decoded.other_object = true;
        return Ok(decoded);
    }
    for change in notification.entry.into_iter().flat_map(|e| e.changes) {
        if change.field.as_deref() != Some("messages") {
            decoded.other_fields += 1;
            continue;
        }
        let value = change.value;
        decoded.statuses += value.statuses.len();
        let to = value
            .metadata
            .and_then(|m| m.display_phone_number)
            .ok_or("metadata.display_phone_number is missing")
            .and_then(|n| {
                Msisdn::from_display(&n)
                    .map_err(|_| "metadata.display_phone_number is not a phone number")
            });
        for raw in &value.messages {
            match map_message(raw, to.as_ref()) {
                Ok(m) => decoded.messages.push(m),
                Err(reason) => decoded.skipped.push(Skipped {
                    id: raw.get("id").and_then(Value::as_str).map(str::to_owned),
                    reason,
                }),
            }
        }
    }
    Ok(decoded)
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
    image: Option<Captioned>,
    #[serde(default, deserialize_with = "lenient")]
    video: Option<Captioned>,
    #[serde(default, deserialize_with = "lenient")]
    document: Option<Captioned>,
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
    contacts: Option<Vec<Contact>>,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default, deserialize_with = "lenient")]
    body: Option<String>,
}

#[derive(Deserialize)]
struct Captioned {
    #[serde(default, deserialize_with = "lenient")]
    caption: Option<String>,
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

#[derive(Deserialize)]
struct Contact {
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
    /// The content that decides the inbox text; a message without `type`
    /// is read as `text`.
    fn content(self) -> Content {
        match self.kind.as_deref().unwrap_or("text") {
            "text" => Content::Text {
                body: self.text.and_then(|t| t.body),
            },
            "image" => captioned(self.image),
            "video" => captioned(self.video),
            "document" => captioned(self.document),
            "button" => Content::Button {
                text: self.button.and_then(|b| b.text),
            },
            "interactive" => Content::Interactive {
                title: self.interactive.and_then(|i| {
                    let title =
                        |t: Option<Titled>| t.and_then(|t| t.title).filter(|t| !t.is_empty());
                    title(i.button_reply).or_else(|| title(i.list_reply))
                }),
            },
            "reaction" => Content::Reaction {
                emoji: self.reaction.and_then(|r| r.emoji),
            },
            "system" => Content::System {
                body: self.system.and_then(|s| s.body),
            },
            "location" => self.location.map_or(Content::Other, |l| Content::Location {
                name: l.name,
                address: l.address,
                latitude: l.latitude,
                longitude: l.longitude,
            }),
            "contacts" => Content::Contacts {
                names: self
                    .contacts
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|c| c.name.and_then(|n| n.formatted_name))
                    .collect(),
            },
            _ => Content::Other,
        }
    }
}

fn captioned(media: Option<Captioned>) -> Content {
    Content::Captioned {
        caption: media.and_then(|m| m.caption),
    }
}

fn map_message(raw: &Value, to: Result<&Msisdn, &&str>) -> Result<Message, String> {
    let to = to.map_err(|e| (*e).to_owned())?.clone();
    let m = Inbound::deserialize(raw).map_err(|_| "not a JSON object".to_owned())?;
    let id =
        m.id.as_deref()
            .ok_or("id is missing")
            .and_then(|id| MessageId::new(id).map_err(|_| "id is empty, too long or holds NUL"))?;
    let from = m
        .from
        .as_deref()
        .ok_or("from is missing")
        .and_then(|f| Msisdn::from_digits(f).map_err(|_| "from is not 1 to 15 digits"))?;
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
    Ok(Message::new(id, from, to, ts, text))
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
            r#"{"id":"wamid.s","status":"read"}"#,
        ))
        .expect("decodes");
        assert_eq!(d.messages.len(), 1);
        assert_eq!(d.statuses, 1);
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
    fn other_objects_and_fields_are_only_counted() {
        let d = decode(br#"{"object":"page","entry":[]}"#).expect("decodes");
        assert!(d.other_object);
        assert!(
            decode(br#"{"object":"whatsapp_business_account"}"#).is_err(),
            "entry is required"
        );
        let d = decode(br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"account_update","value":{}}]}]}"#).expect("decodes");
        assert_eq!((d.other_fields, d.messages.len()), (1, 0));
        assert!(decode(b"[1]").is_err());
        assert!(decode(b"not json").is_err());
    }
}
