//! The JSON shapes hookbox answers with, converted from domain types at the edge.

use domain::{DayCount, FeedItem, FeedPage, Message, Page, Stats};
use serde::Serialize;
use serde_json::value::RawValue;

/// One message on the wire.
#[derive(Debug, Serialize)]
pub(crate) struct MessageDto<'a> {
    message_id: &'a str,
    from: &'a str,
    to: &'a str,
    ts: &'a str,
    text: Option<&'a str>,
}

impl<'a> From<&'a Message> for MessageDto<'a> {
    fn from(m: &'a Message) -> Self {
        Self {
            message_id: m.id().as_str(),
            from: m.from().as_str(),
            to: m.to().as_str(),
            ts: m.ts().as_str(),
            text: m.text().map(domain::MessageText::as_str),
        }
    }
}

/// `GET /messages`.
#[derive(Debug, Serialize)]
pub(crate) struct PageDto<'a> {
    data: Vec<MessageDto<'a>>,
    total: u64,
    limit: u32,
    offset: u64,
}

impl<'a> PageDto<'a> {
    pub(crate) fn new(page: &'a Page, limit: u32, offset: u64) -> Self {
        Self {
            data: page.messages.iter().map(MessageDto::from).collect(),
            total: page.total,
            limit,
            offset,
        }
    }
}

#[derive(Debug, Serialize)]
struct SenderDto<'a> {
    from: &'a str,
    count: u64,
}

/// `GET /stats`.
#[derive(Debug, Serialize)]
pub(crate) struct StatsDto<'a> {
    total_messages: u64,
    senders_count: u64,
    messages_per_sender: Vec<SenderDto<'a>>,
    first_message_ts: Option<&'a str>,
    last_message_ts: Option<&'a str>,
}

impl<'a> From<&'a Stats> for StatsDto<'a> {
    fn from(s: &'a Stats) -> Self {
        Self {
            total_messages: s.total_messages,
            senders_count: s.senders_count,
            messages_per_sender: s
                .top_senders
                .iter()
                .map(|c| SenderDto {
                    from: c.from.as_str(),
                    count: c.count,
                })
                .collect(),
            first_message_ts: s.first_message_ts.as_ref().map(domain::Timestamp::as_str),
            last_message_ts: s.last_message_ts.as_ref().map(domain::Timestamp::as_str),
        }
    }
}

/// A message's full record: the assignment's five fields, its `seq`, and
/// everything its envelope keeps. The feed, the stream and (later) a
/// message by id answer with it.
#[derive(Debug, Serialize)]
pub(crate) struct FeedItemDto<'a> {
    seq: u64,
    message_id: &'a str,
    from: &'a str,
    to: &'a str,
    ts: &'a str,
    text: Option<&'a str>,
    source: Option<&'static str>,
    received_at: String,
    kind: &'a str,
    sender_name: Option<&'a str>,
    media: Option<MediaDto<'a>>,
    reply_to: Option<&'a str>,
    business_number_id: Option<&'a str>,
    delivery_id: Option<&'a str>,
    /// The sender's JSON, embedded as JSON; `null` when not kept.
    raw: Option<Box<RawValue>>,
}

#[derive(Debug, Serialize)]
struct MediaDto<'a> {
    id: &'a str,
    mime_type: Option<&'a str>,
    sha256: Option<&'a str>,
    filename: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    voice: Option<bool>,
}

/// RFC 3339 in UTC with `Z`.
pub(crate) use crate::instants::rfc3339;

impl<'a> From<&'a FeedItem> for FeedItemDto<'a> {
    fn from(item: &'a FeedItem) -> Self {
        let m = &item.message;
        let e = m.envelope();
        Self {
            seq: item.seq.get(),
            message_id: m.id().as_str(),
            from: m.from().as_str(),
            to: m.to().as_str(),
            ts: m.ts().as_str(),
            text: m.text().map(domain::MessageText::as_str),
            source: e.source().map(domain::Source::as_str),
            received_at: rfc3339(item.received_at),
            kind: e.kind().as_str(),
            sender_name: e.sender_name(),
            media: e.media().map(|media| MediaDto {
                id: media.id(),
                mime_type: media.mime_type(),
                sha256: media.sha256(),
                filename: media.filename(),
                voice: media.voice(),
            }),
            reply_to: e.reply_to(),
            business_number_id: e.business_number_id(),
            delivery_id: e.delivery_id(),
            raw: e.raw().and_then(embedded),
        }
    }
}

impl<'a> FeedItemDto<'a> {
    /// The record for one line of NDJSON: as the feed's, except that raw
    /// bytes holding a line break (a pretty-printed body) are carried as a
    /// JSON string of those bytes, so the record stays on its line. (A
    /// message's raw bytes are always a JSON object, so a string `raw` is
    /// never ambiguous.)
    pub(crate) fn for_lines(item: &'a FeedItem) -> Self {
        let mut dto = Self::from(item);
        if let Some(raw) = item
            .message
            .envelope()
            .raw()
            .filter(|r| r.contains(&b'\n') || r.contains(&b'\r'))
        {
            dto.raw = std::str::from_utf8(raw)
                .ok()
                .and_then(|text| serde_json::to_string(text).ok())
                .and_then(|quoted| RawValue::from_string(quoted).ok());
        }
        dto
    }
}

/// One record as `GET /messages/{message_id}` shows it: the body of a
/// forwarded delivery.
#[must_use]
pub fn record_json(item: &FeedItem) -> String {
    serde_json::to_string(&FeedItemDto::from(item)).unwrap_or_default()
}

/// One record as a line of NDJSON (without the newline).
#[must_use]
pub fn record_line(item: &FeedItem) -> String {
    serde_json::to_string(&FeedItemDto::for_lines(item)).unwrap_or_default()
}

/// Stored raw bytes as a JSON value to embed; `None` if they are not JSON
/// (never, for what hookbox stored: it parsed them first).
pub(crate) fn embedded(raw: &[u8]) -> Option<Box<RawValue>> {
    let text = std::str::from_utf8(raw).ok()?;
    RawValue::from_string(text.to_owned()).ok()
}

/// `GET /messages/feed`.
#[derive(Debug, Serialize)]
pub(crate) struct FeedPageDto<'a> {
    data: Vec<FeedItemDto<'a>>,
    next: u64,
}

impl<'a> From<&'a FeedPage> for FeedPageDto<'a> {
    fn from(page: &'a FeedPage) -> Self {
        Self {
            data: page.items.iter().map(FeedItemDto::from).collect(),
            next: page.next.get(),
        }
    }
}

#[derive(Debug, Serialize)]
struct DayDto {
    day: String,
    count: u64,
}

/// `GET /stats/daily`.
#[derive(Debug, Serialize)]
pub(crate) struct DailyDto {
    days: Vec<DayDto>,
}

impl DailyDto {
    pub(crate) fn new(days: &[DayCount]) -> Self {
        Self {
            days: days
                .iter()
                .map(|d| DayDto {
                    day: format!(
                        "{:04}-{:02}-{:02}",
                        d.day.year(),
                        u8::from(d.day.month()),
                        d.day.day()
                    ),
                    count: d.count,
                })
                .collect(),
        }
    }
}
