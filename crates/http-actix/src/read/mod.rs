//! The read side: `/messages`, the feed and its live stream, `/stats`.
//! Every handler takes [`ReadAccess`](crate::guard::ReadAccess) and
//! [`ReadState`].

mod dto;
mod feed;
mod feed_query;
mod messages;
pub(crate) mod messages_query;
mod records;
mod state;
mod stats;
mod stream;

pub(crate) use feed::{feed, message_stream};
pub(crate) use messages::messages;
pub(crate) use records::{events, raw, status};
pub(crate) use state::ReadState;
pub(crate) use stats::{daily, stats};
pub(crate) use stream::Hub;
