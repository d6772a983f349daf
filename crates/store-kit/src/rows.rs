//! Row mapping: a stored row becomes a [`Message`] through the same rules a
//! webhook passes ([`Message::parse`]), so a corrupt row is a
//! [`StoreError`], never an invalid message.

use domain::{Envelope, Kind, Media, Message, MessageInput, RawField, Source, StoreError};

/// The stored columns of one message.
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a> {
    /// `message_id`.
    pub id: &'a str,
    /// `from`, as stored (`+` and digits).
    pub from: &'a str,
    /// `to`, as stored.
    pub to: &'a str,
    /// `ts`, as received.
    pub ts: &'a str,
    /// `text`, when the message has one.
    pub text: Option<&'a str>,
}

/// The message a row holds.
///
/// # Errors
/// [`StoreError::Internal`] naming the fields that break the rules (the
/// values are not shown: they are personal data).
pub fn message(columns: Columns<'_>) -> Result<Message, StoreError> {
    Message::parse(MessageInput {
        message_id: RawField::Str(columns.id),
        from: RawField::Str(columns.from),
        to: RawField::Str(columns.to),
        ts: RawField::Str(columns.ts),
        text: columns.text.map_or(RawField::Null, RawField::Str),
    })
    .map_err(|errors| {
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.name()).collect();
        StoreError::Internal(format!("stored row has an invalid {}", fields.join(", ")).into())
    })
}

/// The stored envelope columns of one message; `None` is SQL `NULL`.
#[derive(Debug, Clone, Default)]
pub struct EnvelopeColumns<'a> {
    /// `source`: `NULL` for rows stored before it was kept.
    pub source: Option<&'a str>,
    /// `kind`.
    pub kind: Option<&'a str>,
    /// `sender_name`.
    pub sender_name: Option<&'a str>,
    /// `media_id`; the other media columns count only with it.
    pub media_id: Option<&'a str>,
    /// `media_mime_type`.
    pub media_mime_type: Option<&'a str>,
    /// `media_sha256`.
    pub media_sha256: Option<&'a str>,
    /// `media_filename`.
    pub media_filename: Option<&'a str>,
    /// `media_voice`.
    pub media_voice: Option<bool>,
    /// `reply_to`.
    pub reply_to: Option<&'a str>,
    /// `business_number_id`.
    pub business_number_id: Option<&'a str>,
    /// `delivery_id`.
    pub delivery_id: Option<&'a str>,
    /// `raw`.
    pub raw: Option<Vec<u8>>,
}

/// The envelope a row holds.
///
/// # Errors
/// [`StoreError::Internal`] for a source or kind no build writes.
pub fn envelope(c: EnvelopeColumns<'_>) -> Result<Envelope, StoreError> {
    let corrupt =
        |what: &str| StoreError::Internal(format!("stored row has an invalid {what}").into());
    let source = c
        .source
        .map(|s| Source::from_name(s).ok_or_else(|| corrupt("source")))
        .transpose()?;
    let kind = match c.kind {
        None => Kind::text(),
        Some(k) => Kind::new(k).ok_or_else(|| corrupt("kind"))?,
    };
    let media = c.media_id.and_then(Media::new).map(|m| {
        m.with_mime_type(c.media_mime_type)
            .with_sha256(c.media_sha256)
            .with_filename(c.media_filename)
            .with_voice(c.media_voice)
    });
    Ok(Envelope::stored(source, kind)
        .with_sender_name(c.sender_name)
        .with_media(media)
        .with_reply_to(c.reply_to)
        .with_business_number_id(c.business_number_id)
        .with_delivery_id(c.delivery_id)
        .with_raw(c.raw))
}

/// The envelope's columns, for an insert (raw bytes apart).
#[must_use]
pub fn envelope_columns(e: &Envelope) -> EnvelopeColumns<'_> {
    let media = e.media();
    EnvelopeColumns {
        source: e.source().map(Source::as_str),
        kind: Some(e.kind().as_str()),
        sender_name: e.sender_name(),
        media_id: media.map(Media::id),
        media_mime_type: media.and_then(Media::mime_type),
        media_sha256: media.and_then(Media::sha256),
        media_filename: media.and_then(Media::filename),
        media_voice: media.and_then(Media::voice),
        reply_to: e.reply_to(),
        business_number_id: e.business_number_id(),
        delivery_id: e.delivery_id(),
        raw: None,
    }
}

/// Several byte strings in one column: each as its length in decimal, a
/// colon, and the bytes, so any bytes survive.
#[must_use]
pub fn pack(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(part.len().to_string().as_bytes());
        out.push(b':');
        out.extend_from_slice(part);
    }
    out
}

/// The byte strings [`pack`] joined.
///
/// # Errors
/// [`StoreError::Internal`] when the column was not written by [`pack`].
pub fn unpack(mut packed: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
    let corrupt = || StoreError::Internal("stored list is corrupt".into());
    let mut parts = Vec::new();
    while !packed.is_empty() {
        let colon = packed.iter().position(|b| *b == b':').ok_or_else(corrupt)?;
        let len: usize = std::str::from_utf8(&packed[..colon])
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(corrupt)?;
        let rest = &packed[colon + 1..];
        let part = rest.get(..len).ok_or_else(corrupt)?;
        parts.push(part.to_vec());
        packed = &rest[len..];
    }
    Ok(parts)
}

/// Microseconds since the Unix epoch, as both stores keep record times.
#[must_use]
pub fn micros(at: time::OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

/// The instant [`micros`] wrote.
///
/// # Errors
/// [`StoreError::Internal`] for a value out of range.
pub fn from_micros(us: i64) -> Result<time::OffsetDateTime, StoreError> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .map_err(|_| StoreError::Internal("stored time is out of range".into()))
}

#[cfg(test)]
mod tests {
    use super::{Columns, message};

    #[test]
    fn lists_and_envelopes_round_trip() {
        let parts = vec![b"a:b".to_vec(), Vec::new(), b"{\"x\":\n1}".to_vec()];
        assert_eq!(super::unpack(&super::pack(&parts)).expect("unpack"), parts);
        assert!(super::unpack(b"9:abc").is_err());
        let voice = domain::testing::contract::voice_note("w1");
        let e = voice.envelope();
        let mut cols = super::envelope_columns(e);
        cols.raw = e.raw().map(<[u8]>::to_vec);
        assert_eq!(&super::envelope(cols).expect("envelope"), e);
        let at = time::OffsetDateTime::now_utc();
        let back = super::from_micros(super::micros(at)).expect("in range");
        assert!((at - back).abs() < time::Duration::microseconds(1));
    }

    #[test]
    fn a_valid_row_is_a_message_and_a_corrupt_one_an_error() {
        let row = Columns {
            id: "m1",
            from: "+911",
            to: "+14155550100",
            ts: "2025-01-15T10:00:00.5Z",
            text: None,
        };
        let m = message(row).expect("valid");
        assert_eq!(
            (m.id().as_str(), m.ts().as_str()),
            ("m1", "2025-01-15T10:00:00.5Z")
        );
        let e = message(Columns {
            from: "911",
            ts: "never",
            ..row
        })
        .expect_err("corrupt");
        let cause = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("stored row has an invalid from, ts"));
    }
}
