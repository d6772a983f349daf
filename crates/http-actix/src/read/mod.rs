//! The read side: `/messages`, the feed and its live stream, `/stats`.
//! Every handler takes [`ReadAccess`](crate::guard::ReadAccess) and
//! [`ReadState`].

mod dto;
mod feed;
mod feed_query;
mod messages;
pub(crate) mod messages_query;
mod stats;
mod stream;

use std::sync::Arc;

use domain::MessageStore;

pub(crate) use feed::{feed, message_stream};
pub(crate) use messages::messages;
pub(crate) use stats::{daily, stats};
pub(crate) use stream::Hub;

/// What the read handlers share.
pub(crate) struct ReadState {
    pub(crate) store: Arc<dyn MessageStore>,
    pub(crate) hub: Arc<Hub>,
}
