//! Conversations: each sender with their latest stored message, the
//! senders most recently heard from first ([`ConversationQuery`],
//! [`ConversationPage`]).

use crate::feed::{FeedItem, Seq};
use crate::message::Msisdn;
use crate::query::{Limit, QueryError};

/// A position in the conversations' order: a page starts with the senders
/// whose latest message is older than this one's. Opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationCursor(Seq);

const CONVERSATION_CURSOR_VERSION: &str = "v1.";

impl ConversationCursor {
    /// The position of a conversation whose latest message is at `seq`.
    #[must_use]
    pub fn at(seq: Seq) -> Self {
        Self(seq)
    }

    /// The latest message's position in the feed.
    #[must_use]
    pub fn seq(self) -> Seq {
        self.0
    }

    /// An opaque, URL-safe token.
    #[must_use]
    pub fn to_token(self) -> String {
        format!("{CONVERSATION_CURSOR_VERSION}{}", self.0)
    }

    /// # Errors
    /// [`QueryError::BadCursor`] for anything [`ConversationCursor::to_token`]
    /// did not make.
    pub fn from_token(token: &str) -> Result<Self, QueryError> {
        token
            .strip_prefix(CONVERSATION_CURSOR_VERSION)
            .and_then(|n| Seq::parse(n).ok())
            .map(Self)
            .ok_or(QueryError::BadCursor)
    }
}

/// A request for one page of conversations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConversationQuery {
    /// Only conversations after this one (keyset paging).
    pub after: Option<ConversationCursor>,
    /// Page size (as `/messages`: 1 to 100).
    pub limit: Limit,
}

/// One sender's conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// The sender.
    pub from: Msisdn,
    /// How many of their messages are stored.
    pub message_count: u64,
    /// Their latest stored message (by `seq`), with its full record.
    pub last: FeedItem,
}

/// One page of conversations, the latest activity first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationPage {
    /// The conversations, by descending `last.seq`.
    pub conversations: Vec<Conversation>,
    /// Where the next page starts, when there is one.
    pub next: Option<ConversationCursor>,
}

impl ConversationPage {
    /// A page of `conversations`, read with one more than `limit` asked
    /// for: the extra one only says that a next page exists, which starts
    /// after the last one kept. The one paging rule every store follows.
    #[must_use]
    pub fn from_overfetch(mut conversations: Vec<Conversation>, limit: Limit) -> Self {
        let limit = usize::try_from(limit.get()).unwrap_or(usize::MAX);
        let more = conversations.len() > limit;
        conversations.truncate(limit);
        let next = if more {
            conversations
                .last()
                .map(|c| ConversationCursor::at(c.last.seq))
        } else {
            None
        };
        Self {
            conversations,
            next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_forgeries() {
        let c = ConversationCursor::at(Seq::new(42).expect("seq"));
        assert_eq!(ConversationCursor::from_token(&c.to_token()), Ok(c));
        for bad in ["", "v1.", "v1.-1", "v2.4", "42", "v1.x"] {
            assert_eq!(
                ConversationCursor::from_token(bad),
                Err(QueryError::BadCursor),
                "{bad:?}"
            );
        }
    }
}
