#![doc = include_str!("../README.md")]

mod conversation;
mod delivery;
mod erasure;
mod feed;
mod message;
mod query;
pub mod receipt;
mod record;
mod signature;
mod standard_webhooks;
mod stats;
pub mod store;
mod subscription;
pub mod text;
mod timestamp;
pub mod whatsapp;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use conversation::{Conversation, ConversationCursor, ConversationPage, ConversationQuery};
pub use delivery::{
    DeliveryState, DeliveryStatus, Event, EventPage, EventQuery, StatusKey, StatusReportPage,
    StatusReportQuery, StatusUpdate, StoredEvent,
};
pub use erasure::Erasure;
pub use feed::{
    DEFAULT_DAYS, DEFAULT_FEED_LIMIT, DayCount, DayRange, DayRangeError, FeedError, FeedItem,
    FeedLimit, FeedPage, FeedQuery, MAX_DAYS, MAX_FEED_LIMIT, Seq, every_day,
};
pub use message::{
    Field, FieldError, MAX_ID_CHARS, MAX_MSISDN_DIGITS, MAX_TEXT_CHARS, Message, MessageId,
    MessageInput, MessageText, Msisdn, Problem, RawField, ValidationErrors,
};
pub use query::{
    Cursor, DEFAULT_LIMIT, Limit, MAX_LIMIT, MessageQuery, Offset, Order, Page, QueryError,
    SearchText,
};
pub use receipt::Receipt;
pub use record::{Envelope, Kind, MAX_ENVELOPE_CHARS, Media, RawLookup, Source};
pub use signature::{EmptySecret, SecretSlot, SignatureError, SigningKeys, WebhookSecret};
pub use standard_webhooks::{
    DEFAULT_TOLERANCE_SECONDS, StandardHeaders, StandardSignatureError, parse_signatures,
};
pub use stats::{SenderCount, Stats, TOP_SENDERS};
pub use store::{InsertOutcome, MessageStore, PoolGauges, StoreError, StoreGauges, SubmitResult};
pub use subscription::{
    Claim, DeadLetter, DeadLetterQuery, Fence, HeadFailure, LAG_CAP, NewSubscription, RetryOutcome,
    RetryPolicy, Start, Step, Subscription, SubscriptionChange, SubscriptionFilter, SubscriptionId,
    SubscriptionSecret, SubscriptionState, SubscriptionStore, TargetUrl, UrlProblem, Verdict,
    parse_retry_after,
};
pub use timestamp::{Timestamp, TimestampError};
