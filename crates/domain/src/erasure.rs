//! [`Erasure`]: what a data subject's erasure request deletes.

use crate::message::{MessageId, Msisdn};

/// The messages one erasure deletes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Erasure {
    /// The message with this id.
    Message(MessageId),
    /// Every message from this sender.
    Sender(Msisdn),
}

impl Erasure {
    /// Whether `message` is one this erasure deletes.
    #[must_use]
    pub fn covers(&self, message: &crate::Message) -> bool {
        match self {
            Self::Message(id) => message.id() == id,
            Self::Sender(from) => message.from() == from,
        }
    }
}
