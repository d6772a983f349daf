//! The stored subscription and its validated parts.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::feed::{FeedItem, FeedLimit, FeedQuery, Seq};
use crate::message::Msisdn;
use crate::query::SearchText;
use crate::record::Kind;
use crate::signature::{SigningKeys, WebhookSecret};
use crate::store::{MessageStore, StoreError};

use super::target::TargetUrl;

/// A subscription's id: `sub_` and 32 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(String);

impl SubscriptionId {
    /// A new id from 16 random bytes (the caller owns the randomness).
    #[must_use]
    pub fn from_random(bytes: [u8; 16]) -> Self {
        let mut id = String::with_capacity(36);
        id.push_str("sub_");
        for b in bytes {
            id.push_str(&format!("{b:02x}"));
        }
        Self(id)
    }

    /// An id as a client or a store spells it; `None` unless it has the
    /// shape [`SubscriptionId::from_random`] makes.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix("sub_")?;
        (hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(text.to_owned()))
    }

    /// The id's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The secret a subscription's deliveries are signed with: `whsec_` and the
/// base64 of 32 random bytes, the form Standard Webhooks libraries take.
#[derive(Clone, PartialEq, Eq)]
pub struct SubscriptionSecret(String);

impl std::fmt::Debug for SubscriptionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubscriptionSecret(<redacted>)")
    }
}

impl SubscriptionSecret {
    /// A new secret from 32 random bytes.
    #[must_use]
    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self(format!("whsec_{}", STANDARD.encode(bytes)))
    }

    /// A secret as a store keeps it; `None` unless it is `whsec_` and
    /// non-empty base64.
    #[must_use]
    pub fn from_stored(text: &str) -> Option<Self> {
        let key = STANDARD.decode(text.strip_prefix("whsec_")?).ok()?;
        (!key.is_empty()).then(|| Self(text.to_owned()))
    }

    /// The secret's text (shown once, when the subscription is created).
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The keys that sign a delivery.
    #[must_use]
    pub fn signing_keys(&self) -> SigningKeys {
        // Never empty: `from_random` and `from_stored` both make "whsec_…".
        let secret = WebhookSecret::new(self.0.as_bytes().to_vec())
            .unwrap_or_else(|_| unreachable!("a subscription secret is never empty"));
        SigningKeys::new(secret)
    }
}

/// Which stored messages a subscription delivers: all of them, or those
/// from one sender, containing a word, or of some kinds (all given filters
/// must match).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionFilter {
    /// Only messages from exactly this sender.
    pub from: Option<Msisdn>,
    /// Only messages whose text contains this, ignoring case.
    pub q: Option<SearchText>,
    /// Only messages of these kinds (empty: every kind).
    pub kinds: Vec<Kind>,
}

impl SubscriptionFilter {
    /// Whether `item` is delivered.
    #[must_use]
    pub fn admits(&self, item: &FeedItem) -> bool {
        self.feed_query(Seq::START, FeedLimit::default())
            .admits(&item.message)
            && (self.kinds.is_empty() || self.kinds.contains(item.message.envelope().kind()))
    }

    /// The feed query that reads the candidates after `after`: `from` and
    /// `q` are applied by the store; kinds by [`SubscriptionFilter::admits`].
    #[must_use]
    pub fn feed_query(&self, after: Seq, limit: FeedLimit) -> FeedQuery {
        FeedQuery {
            after,
            from: self.from.as_ref().map(|f| f.as_str().to_owned()),
            q: self.q.clone(),
            since: None,
            until: None,
            limit,
        }
    }
}

/// Whether a subscription delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscriptionState {
    /// Delivering.
    Active,
    /// Not delivering until resumed (by a client, or after a `410 Gone`).
    Paused,
}

impl SubscriptionState {
    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
        }
    }

    /// A wire name back.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "active" => Some(Self::Active),
            "paused" => Some(Self::Paused),
            _ => None,
        }
    }
}

/// A stored subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Its id.
    pub id: SubscriptionId,
    /// Where deliveries go.
    pub url: TargetUrl,
    /// What signs them.
    pub secret: SubscriptionSecret,
    /// Which messages it delivers.
    pub filter: SubscriptionFilter,
    /// Whether it delivers.
    pub state: SubscriptionState,
    /// Why it is paused: `"paused"` by a client, `"gone"` after a 410.
    pub paused_reason: Option<String>,
    /// The last feed position handled (delivered or dead-lettered):
    /// delivery goes on after it.
    pub position: Seq,
    /// Moves on every change a worker must notice (a change of URL, filter
    /// or state, a replay): a worker's writes carry the generation it read,
    /// and a store refuses them once it has moved.
    pub generation: u64,
    /// The message holding back the ones after it, while it is retried.
    pub head: Option<HeadFailure>,
    /// Messages delivered so far.
    pub delivered: u64,
    /// Messages on the dead-letter list.
    pub dead_letters: u64,
    /// When it was created.
    pub created_at: time::OffsetDateTime,
    /// The worker delivering it, and until when its lease runs.
    pub lease: Option<(String, time::OffsetDateTime)>,
}

/// Lag is counted exactly up to this many messages ("at least" past it).
pub const LAG_CAP: u64 = 10_000;

impl Subscription {
    /// Matching messages stored after the position, counted up to `cap`.
    ///
    /// # Errors
    /// The store's error.
    pub fn backlog(&self, store: &dyn MessageStore, cap: u64) -> Result<u64, StoreError> {
        if self.filter.q.is_none() && self.filter.kinds.is_empty() {
            // Counted in the store's index.
            let from = self.filter.from.as_ref().map(Msisdn::as_str);
            return store.count_after(self.position, from, cap);
        }
        let mut after = self.position;
        let mut count = 0;
        loop {
            let page = store.feed(&self.filter.feed_query(after, FeedLimit::MAX))?;
            count += page.items.iter().filter(|i| self.filter.admits(i)).count() as u64;
            if page.items.len() < FeedLimit::MAX.get() as usize || count >= cap {
                return Ok(count.min(cap));
            }
            after = page.next;
        }
    }
}

/// The message holding back the ones after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadFailure {
    /// Its feed position.
    pub seq: Seq,
    /// Its id.
    pub message_id: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// What the last one came to.
    pub last_error: String,
    /// When the next attempt is due.
    pub next_attempt: time::OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_secrets_have_one_shape() {
        let id = SubscriptionId::from_random([0xab; 16]);
        assert_eq!(id.as_str(), format!("sub_{}", "ab".repeat(16)));
        assert_eq!(SubscriptionId::parse(id.as_str()), Some(id));
        for bad in ["sub_", "sub_AB", "x", &format!("sub_{}", "g".repeat(32))] {
            assert_eq!(SubscriptionId::parse(bad), None, "{bad}");
        }
        let secret = SubscriptionSecret::from_random([7; 32]);
        assert!(secret.expose().starts_with("whsec_"));
        assert_eq!(
            SubscriptionSecret::from_stored(secret.expose()),
            Some(secret.clone())
        );
        assert_eq!(SubscriptionSecret::from_stored("whsec_"), None);
        assert!(!format!("{secret:?}").contains("whsec"));
        let keys = secret.signing_keys();
        let signed = keys.sign_standard("sub_x:1", 1_700_000_000, b"{}");
        assert!(signed.starts_with("v1,"));
    }
}
