//! The full record of a message beyond the assignment's five fields: who
//! sent it through which scheme ([`Source`]), what kind of message it is
//! ([`Kind`]), its media, the sender's name, the message it answers, the
//! business number it came to, the delivery id, and the sender's raw JSON.
//! An [`Envelope`] carries them beside the [`Message`](crate::Message).

use std::fmt;

/// The longest kind, name or id kept in an envelope, in characters.
pub const MAX_ENVELOPE_CHARS: usize = 1024;

/// The scheme a message's request was verified by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// `POST /webhook` with `X-Signature` (the assignment's format).
    XSignature,
    /// `POST /webhook` with `webhook-signature` (or `svix-signature`).
    StandardWebhooks,
    /// `POST /webhook/whatsapp`, Meta's WhatsApp Cloud API.
    WhatsApp,
}

impl Source {
    /// Every source.
    pub const ALL: [Self; 3] = [Self::XSignature, Self::StandardWebhooks, Self::WhatsApp];

    /// The wire name: `x-signature`, `standard-webhooks`, `whatsapp`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::XSignature => "x-signature",
            Self::StandardWebhooks => "standard-webhooks",
            Self::WhatsApp => "whatsapp",
        }
    }

    /// The source with this wire name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A short text an envelope keeps (a kind, a name, an id): 1 to
/// [`MAX_ENVELOPE_CHARS`] characters without U+0000.
fn short(text: &str) -> Option<String> {
    (!text.is_empty() && text.chars().count() <= MAX_ENVELOPE_CHARS && !text.contains('\0'))
        .then(|| text.to_owned())
}

/// What kind of message this is: `text` for `POST /webhook`; for WhatsApp,
/// Meta's `type` as sent (`image`, `audio`, … or a type Meta adds later).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Kind(String);

impl Kind {
    /// A kind; `None` unless 1 to [`MAX_ENVELOPE_CHARS`] characters
    /// without U+0000.
    #[must_use]
    pub fn new(kind: &str) -> Option<Self> {
        short(kind).map(Self)
    }

    /// `text`.
    #[must_use]
    pub fn text() -> Self {
        Self("text".to_owned())
    }

    /// The kind as sent.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A media attachment as the sender described it (WhatsApp sends an id to
/// fetch the file by, valid for 7 days, not the file).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Media {
    id: String,
    mime_type: Option<String>,
    sha256: Option<String>,
    filename: Option<String>,
    voice: Option<bool>,
}

impl Media {
    /// Media with this id; `None` for an empty, over-long or NUL-holding id.
    #[must_use]
    pub fn new(id: &str) -> Option<Self> {
        Some(Self {
            id: short(id)?,
            mime_type: None,
            sha256: None,
            filename: None,
            voice: None,
        })
    }

    /// With its MIME type (ignored when not a valid short text).
    #[must_use]
    pub fn with_mime_type(mut self, mime_type: Option<&str>) -> Self {
        self.mime_type = mime_type.and_then(short);
        self
    }

    /// With the file's SHA-256 as the sender wrote it.
    #[must_use]
    pub fn with_sha256(mut self, sha256: Option<&str>) -> Self {
        self.sha256 = sha256.and_then(short);
        self
    }

    /// With the file name (documents).
    #[must_use]
    pub fn with_filename(mut self, filename: Option<&str>) -> Self {
        self.filename = filename.and_then(short);
        self
    }

    /// Whether it is a voice note, when the sender says so.
    #[must_use]
    pub fn with_voice(mut self, voice: Option<bool>) -> Self {
        self.voice = voice;
        self
    }

    /// The id to fetch the media by.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The MIME type.
    #[must_use]
    pub fn mime_type(&self) -> Option<&str> {
        self.mime_type.as_deref()
    }

    /// The file's SHA-256, as sent.
    #[must_use]
    pub fn sha256(&self) -> Option<&str> {
        self.sha256.as_deref()
    }

    /// The file name.
    #[must_use]
    pub fn filename(&self) -> Option<&str> {
        self.filename.as_deref()
    }

    /// A voice note, when the sender says.
    #[must_use]
    pub fn voice(&self) -> Option<bool> {
        self.voice
    }
}

/// Everything a message carries beyond its five fields. A message stored
/// before hookbox kept these has no source, kind `text` and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Envelope {
    source: Option<Source>,
    kind: Kind,
    sender_name: Option<String>,
    media: Option<Media>,
    reply_to: Option<String>,
    business_number_id: Option<String>,
    delivery_id: Option<String>,
    raw: Option<Vec<u8>>,
}

impl Default for Envelope {
    fn default() -> Self {
        Self {
            source: None,
            kind: Kind::text(),
            sender_name: None,
            media: None,
            reply_to: None,
            business_number_id: None,
            delivery_id: None,
            raw: None,
        }
    }
}

impl Envelope {
    /// A message of `kind` that arrived through `source`.
    #[must_use]
    pub fn new(source: Source, kind: Kind) -> Self {
        Self {
            source: Some(source),
            kind,
            ..Self::default()
        }
    }

    /// What a stored row holds, source included when known.
    #[must_use]
    pub fn stored(source: Option<Source>, kind: Kind) -> Self {
        Self {
            source,
            kind,
            ..Self::default()
        }
    }

    /// With the sender's display name (WhatsApp's `profile.name`).
    #[must_use]
    pub fn with_sender_name(mut self, name: Option<&str>) -> Self {
        self.sender_name = name.and_then(short);
        self
    }

    /// With a media attachment.
    #[must_use]
    pub fn with_media(mut self, media: Option<Media>) -> Self {
        self.media = media;
        self
    }

    /// With the id of the message this one answers (WhatsApp `context.id`).
    #[must_use]
    pub fn with_reply_to(mut self, id: Option<&str>) -> Self {
        self.reply_to = id.and_then(short);
        self
    }

    /// With the business number it came to (`metadata.phone_number_id`).
    #[must_use]
    pub fn with_business_number_id(mut self, id: Option<&str>) -> Self {
        self.business_number_id = id.and_then(short);
        self
    }

    /// With the delivery's id (Standard Webhooks `webhook-id`).
    #[must_use]
    pub fn with_delivery_id(mut self, id: Option<&str>) -> Self {
        self.delivery_id = id.and_then(short);
        self
    }

    /// With the sender's JSON for this message, exactly as received.
    #[must_use]
    pub fn with_raw(mut self, raw: Option<Vec<u8>>) -> Self {
        self.raw = raw;
        self
    }

    /// The scheme it arrived through; `None` for rows stored before it was
    /// kept.
    #[must_use]
    pub fn source(&self) -> Option<Source> {
        self.source
    }

    /// Its kind.
    #[must_use]
    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    /// The sender's display name.
    #[must_use]
    pub fn sender_name(&self) -> Option<&str> {
        self.sender_name.as_deref()
    }

    /// Its media.
    #[must_use]
    pub fn media(&self) -> Option<&Media> {
        self.media.as_ref()
    }

    /// The message it answers.
    #[must_use]
    pub fn reply_to(&self) -> Option<&str> {
        self.reply_to.as_deref()
    }

    /// The business number it came to.
    #[must_use]
    pub fn business_number_id(&self) -> Option<&str> {
        self.business_number_id.as_deref()
    }

    /// The delivery's id.
    #[must_use]
    pub fn delivery_id(&self) -> Option<&str> {
        self.delivery_id.as_deref()
    }

    /// The raw JSON, when kept.
    #[must_use]
    pub fn raw(&self) -> Option<&[u8]> {
        self.raw.as_deref()
    }

    /// The same envelope without its raw bytes (`KEEP_RAW=off`).
    #[must_use]
    pub fn without_raw(mut self) -> Self {
        self.raw = None;
        self
    }
}

/// What [`MessageStore::raw`](crate::MessageStore::raw) found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RawLookup {
    /// No message has this id.
    NotFound,
    /// The message is stored without its raw bytes (`KEEP_RAW=off`).
    NotKept,
    /// The bytes, exactly as received.
    Bytes(Vec<u8>),
}

impl RawLookup {
    /// What a store's lookup of one message's raw column means: no row,
    /// a row whose column is empty (`NULL`), or the bytes.
    #[must_use]
    pub fn from_row(row: Option<Option<Vec<u8>>>) -> Self {
        match row {
            None => Self::NotFound,
            Some(None) => Self::NotKept,
            Some(Some(bytes)) => Self::Bytes(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_keep_what_is_valid_and_drop_the_rest() {
        let media = Media::new("m1")
            .expect("id")
            .with_mime_type(Some("audio/ogg; codecs=opus"))
            .with_filename(Some(""))
            .with_voice(Some(true));
        assert_eq!(media.filename(), None, "an empty name is no name");
        let e = Envelope::new(Source::WhatsApp, Kind::new("audio").expect("kind"))
            .with_media(Some(media))
            .with_sender_name(Some("Kerry"))
            .with_reply_to(Some("a\0b"));
        assert_eq!(e.reply_to(), None, "NUL is never kept");
        assert_eq!(e.sender_name(), Some("Kerry"));
        assert_eq!(e.media().and_then(Media::voice), Some(true));
        assert_eq!(Envelope::default().kind().as_str(), "text");
        assert!(Kind::new("").is_none() && Media::new("").is_none());
        assert!(Kind::new(&"x".repeat(MAX_ENVELOPE_CHARS + 1)).is_none());
        for s in Source::ALL {
            assert_eq!(Source::from_name(s.as_str()), Some(s));
        }
    }
}
