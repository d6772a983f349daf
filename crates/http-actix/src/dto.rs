//! The JSON shapes hookbox answers with, converted from domain types at the edge.

use domain::{Message, Page, Stats};
use serde::Serialize;

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

/// `{"status": …}` bodies.
#[derive(Debug, Serialize)]
pub(crate) struct StatusDto {
    pub(crate) status: &'static str,
}
