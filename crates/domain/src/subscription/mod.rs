//! Subscriptions: a consumer's URL that every matching stored message is
//! pushed to, in feed order, signed as Standard Webhooks, with retries and
//! a dead-letter list. This module holds the validated parts
//! ([`SubscriptionId`], [`TargetUrl`], [`SubscriptionSecret`],
//! [`SubscriptionFilter`]), the stored record ([`Subscription`]), the retry
//! rules ([`RetryPolicy`], [`Verdict`]) and the
//! [`SubscriptionStore`](crate::SubscriptionStore) port.

mod port;
mod record;
mod retry;
mod target;

pub use port::{
    Claim, DeadLetter, DeadLetterQuery, Fence, NewSubscription, RetryOutcome, Start, Step,
    SubscriptionChange, SubscriptionStore,
};
pub use record::{
    HeadFailure, LAG_CAP, Subscription, SubscriptionFilter, SubscriptionId, SubscriptionSecret,
    SubscriptionState,
};
pub use retry::{RetryPolicy, Verdict, parse_retry_after};
pub use target::{TargetUrl, UrlProblem};
