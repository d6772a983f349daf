//! [`Stats`]: what `GET /stats` reports.

use crate::message::Msisdn;
use crate::timestamp::Timestamp;

/// How many senders [`Stats::top_senders`] lists at most.
pub const TOP_SENDERS: usize = 10;

/// One sender and how many of its messages are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderCount {
    /// The sender.
    pub from: Msisdn,
    /// Its stored messages.
    pub count: u64,
}

/// Message-level analytics over everything stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats {
    /// Stored messages.
    pub total_messages: u64,
    /// Distinct senders.
    pub senders_count: u64,
    /// Up to [`TOP_SENDERS`] senders, by count descending, then by number ascending.
    pub top_senders: Vec<SenderCount>,
    /// The `ts` of the earliest message (first by `message_id` among equal
    /// instants); `None` when nothing is stored.
    pub first_message_ts: Option<Timestamp>,
    /// The `ts` of the latest message (last by `message_id` among equal
    /// instants); `None` when nothing is stored.
    pub last_message_ts: Option<Timestamp>,
}
