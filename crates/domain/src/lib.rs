#![doc = include_str!("../README.md")]

mod feed;
mod message;
mod query;
mod receipt;
mod signature;
mod standard_webhooks;
mod stats;
mod store;
mod timestamp;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use feed::{
    DEFAULT_FEED_LIMIT, DayCount, FeedError, FeedItem, FeedLimit, FeedPage, FeedQuery,
    MAX_FEED_LIMIT, Seq, every_day,
};
pub use message::{
    Field, FieldError, MAX_ID_CHARS, MAX_MSISDN_DIGITS, MAX_TEXT_CHARS, Message, MessageId,
    MessageInput, MessageText, Msisdn, Problem, RawField, ValidationErrors,
};
pub use query::{
    Cursor, DEFAULT_LIMIT, Limit, MAX_LIMIT, MessageQuery, Offset, Page, QueryError, SearchText,
    fold_case,
};
pub use receipt::{Completer, Receipt, ready, receipt};
pub use signature::{EmptySecret, SecretSlot, SignatureError, SigningKeys, WebhookSecret};
pub use standard_webhooks::{
    DEFAULT_TOLERANCE_SECONDS, StandardHeaders, StandardSignatureError, parse_signatures,
};
pub use stats::{SenderCount, Stats, TOP_SENDERS};
pub use store::{BoxError, InsertOutcome, MessageStore, StoreError, SubmitResult};
pub use timestamp::{
    Timestamp, TimestampError, after_day, date_of_day_key, day_key, day_of_sort_key,
};
