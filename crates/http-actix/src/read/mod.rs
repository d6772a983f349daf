//! The read side: `/messages` and one message, the feed and its live
//! stream, export, conversations, `/stats`, and erasure (which the stream
//! must hear of). Every read handler takes
//! [`ReadAccess`](crate::guard::ReadAccess), erasure
//! [`AdminAccess`](crate::guard::AdminAccess), and all [`ReadState`].

mod conversations;
mod dto;
mod erase;
mod export;
mod feed;
mod feed_query;
mod message;
mod messages;
pub(crate) mod messages_query;
mod records;
mod state;
mod stats;
mod stream;
mod strict;

pub(crate) use conversations::conversations;
pub use dto::{record_json, record_line};
pub(crate) use erase::{erase_message, erase_sender};
pub(crate) use export::export;
pub(crate) use feed::{feed, message_stream};
pub(crate) use message::message;
pub(crate) use messages::messages;
pub(crate) use records::{events, raw, status};
pub(crate) use state::ReadState;
pub(crate) use stats::{daily, stats};
pub(crate) use stream::Hub;
