//! What `GET /messages` asks for ([`MessageQuery`]) and what it gets back ([`Page`]).

use crate::message::{Message, MessageId, Problem};
use crate::text::fold_case;
use crate::timestamp::Timestamp;

/// The page size when none is asked for.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page size.
pub const MAX_LIMIT: u32 = 100;

/// Why a query parameter was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// `limit` is outside `1..=100`.
    #[error("Input should be between 1 and {MAX_LIMIT}")]
    LimitOutOfRange,
    /// `offset` is negative or too large to address.
    #[error(
        "Input should be greater than or equal to 0 (and at most {})",
        Offset::MAX
    )]
    OffsetOutOfRange,
    /// `cursor` is not a token this service issued.
    #[error("Value error, cursor is not one this service issued")]
    BadCursor,
}

impl QueryError {
    /// A stable, machine-readable code (pydantic's names where one exists).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::LimitOutOfRange => "limit_out_of_range",
            Self::OffsetOutOfRange => "greater_than_equal",
            Self::BadCursor => "value_error",
        }
    }
}

/// How many messages one page holds: `1..=100`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u32);

impl Limit {
    /// # Errors
    /// [`QueryError::LimitOutOfRange`] outside `1..=100`.
    pub fn new(limit: i64) -> Result<Self, QueryError> {
        u32::try_from(limit)
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .map(Self)
            .ok_or(QueryError::LimitOutOfRange)
    }

    /// The limit as a number.
    #[must_use]
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for Limit {
    fn default() -> Self {
        Self(DEFAULT_LIMIT)
    }
}

/// How many matching messages to skip: `0..=Offset::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offset(u64);

impl Offset {
    /// The largest offset (what a signed 64-bit store can address).
    pub const MAX: u64 = i64::MAX as u64;

    /// # Errors
    /// [`QueryError::OffsetOutOfRange`] when negative or above [`Offset::MAX`].
    pub fn new(offset: i64) -> Result<Self, QueryError> {
        u64::try_from(offset)
            .map(Self)
            .map_err(|_| QueryError::OffsetOutOfRange)
    }

    /// The offset as a number.
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

/// A non-empty substring to look for in message text, ignoring case.
/// Every character is literal: `%` and `_` are not wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText {
    raw: String,
    folded: String,
}

impl SearchText {
    /// A needle to search for.
    ///
    /// # Errors
    /// [`Problem::Empty`] for the empty string, which every text contains
    /// (callers that read an empty `q` as no filter check for it first);
    /// [`Problem::NulCharacter`] for a needle holding U+0000, which no
    /// stored text can contain.
    pub fn new(needle: &str) -> Result<Self, Problem> {
        if needle.is_empty() {
            return Err(Problem::Empty);
        }
        if needle.contains('\0') {
            return Err(Problem::NulCharacter);
        }
        Ok(Self {
            raw: needle.to_owned(),
            folded: fold_case(needle),
        })
    }

    /// The needle as given.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The needle after [`fold_case`](crate::text::fold_case).
    #[must_use]
    pub fn folded(&self) -> &str {
        &self.folded
    }

    /// Whether a message with `text` matches: its folded text contains the
    /// folded needle. A message without text matches no needle. The rule
    /// every store's `q` follows, for callers that filter messages they
    /// already hold.
    #[must_use]
    pub fn is_in(&self, text: Option<&crate::MessageText>) -> bool {
        text.is_some_and(|t| t.folded().contains(&self.folded))
    }
}

/// A position in the `(ts instant, message_id)` order: a keyset page starts
/// just after it. Its token form is opaque to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    ts: Timestamp,
    id: MessageId,
}

const CURSOR_VERSION: &str = "c1";

impl Cursor {
    /// The position of `message`.
    #[must_use]
    pub fn after(message: &Message) -> Self {
        Self {
            ts: message.ts().clone(),
            id: message.id().clone(),
        }
    }

    /// The timestamp of the last message already seen.
    #[must_use]
    pub fn ts(&self) -> &Timestamp {
        &self.ts
    }

    /// The id of the last message already seen.
    #[must_use]
    pub fn id(&self) -> &MessageId {
        &self.id
    }

    /// An opaque, URL-safe token (`c1` and hex).
    #[must_use]
    pub fn to_token(&self) -> String {
        let mut token = String::from(CURSOR_VERSION);
        for b in self
            .ts
            .as_str()
            .bytes()
            .chain([b'\n'])
            .chain(self.id.as_str().bytes())
        {
            token.push_str(&format!("{b:02x}"));
        }
        token
    }

    /// # Errors
    /// [`QueryError::BadCursor`] for anything [`Cursor::to_token`] did not make.
    pub fn from_token(token: &str) -> Result<Self, QueryError> {
        let hex = token
            .strip_prefix(CURSOR_VERSION)
            .ok_or(QueryError::BadCursor)?;
        if hex.len() % 2 != 0 {
            return Err(QueryError::BadCursor);
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|p| u8::from_str_radix(p, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or(QueryError::BadCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| QueryError::BadCursor)?;
        let (ts, id) = text.split_once('\n').ok_or(QueryError::BadCursor)?;
        Ok(Self {
            ts: Timestamp::parse(ts).map_err(|_| QueryError::BadCursor)?,
            id: MessageId::new(id).map_err(|_| QueryError::BadCursor)?,
        })
    }
}

/// Which way a listing runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum Order {
    /// Oldest first: by the instant of `ts`, then `message_id`.
    #[default]
    Asc,
    /// Newest first: the exact reverse of [`Order::Asc`].
    Desc,
}

impl Order {
    /// The wire names, `asc` and `desc`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }

    /// The order with this wire name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "asc" => Some(Self::Asc),
            "desc" => Some(Self::Desc),
            _ => None,
        }
    }
}

/// A request for one page of stored messages.
///
/// Filters combine with AND. Matching messages are ordered by the instant of
/// `ts`, then by `message_id` (reversed for [`Order::Desc`]); `after`
/// (keyset: the messages past the cursor in this order) and `offset` both
/// apply in that order, `after` first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageQuery {
    /// Only messages from exactly this sender.
    pub from: Option<String>,
    /// Only messages to exactly this number.
    pub to: Option<String>,
    /// Only messages whose instant is at or after this one.
    pub since: Option<Timestamp>,
    /// Only messages whose instant is before this one (exclusive).
    pub until: Option<Timestamp>,
    /// Only messages whose text contains this, ignoring case.
    pub q: Option<SearchText>,
    /// Only messages after this position (keyset paging).
    pub after: Option<Cursor>,
    /// Page size.
    pub limit: Limit,
    /// Messages to skip.
    pub offset: Offset,
    /// Oldest or newest first.
    pub order: Order,
}

impl MessageQuery {
    /// Whether `message` passes the filters (`from`, `to`, `since`,
    /// `until`, `q`); the cursor and paging place the page and filter
    /// nothing. The rule every store's listing follows.
    #[must_use]
    pub fn admits(&self, message: &Message) -> bool {
        let key = message.ts().sort_key();
        self.from
            .as_deref()
            .is_none_or(|f| message.from().as_str() == f)
            && self
                .to
                .as_deref()
                .is_none_or(|t| message.to().as_str() == t)
            && self.since.as_ref().is_none_or(|s| key >= s.sort_key())
            && self.until.as_ref().is_none_or(|u| key < u.sort_key())
            && self.q.as_ref().is_none_or(|q| q.is_in(message.text()))
    }

    /// Whether `message` lies past `cursor` in this query's order.
    #[must_use]
    pub fn is_past(&self, cursor: &Cursor, message: &Message) -> bool {
        let here = (message.ts().sort_key(), message.id().as_str());
        let there = (cursor.ts().sort_key(), cursor.id().as_str());
        match self.order {
            Order::Asc => here > there,
            Order::Desc => here < there,
        }
    }
}

/// One page of messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The messages, in order.
    pub messages: Vec<Message>,
    /// How many messages match the filters, ignoring `after`, `limit` and `offset`.
    pub total: u64,
    /// Where the next page starts, when there is one.
    pub next: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_and_offset_ranges() {
        let limits = [
            (0, false),
            (1, true),
            (50, true),
            (100, true),
            (101, false),
            (-1, false),
            (i64::MAX, false),
        ];
        for (l, ok) in limits {
            assert_eq!(Limit::new(l).is_ok(), ok, "limit {l}");
        }
        let offsets = [
            (0, true),
            (1, true),
            (i64::MAX, true),
            (-1, false),
            (i64::MIN, false),
        ];
        for (o, ok) in offsets {
            assert_eq!(Offset::new(o).is_ok(), ok, "offset {o}");
        }
        assert_eq!(Limit::default().get(), 50);
        assert_eq!(Offset::default().get(), 0);
    }

    #[test]
    fn search_text_folds_unicode() {
        let cases = [
            ("HeLLo", "hello"),
            ("ÉCOLE", "école"),
            ("ΣΑΣ", "σας"),
            ("100%_", "100%_"),
        ];
        for (raw, folded) in cases {
            assert_eq!(
                SearchText::new(raw).map(|s| s.folded().to_owned()),
                Ok(folded.to_owned())
            );
        }
        assert_eq!(SearchText::new(""), Err(Problem::Empty));
        assert_eq!(SearchText::new("a\0b"), Err(Problem::NulCharacter));
    }

    #[test]
    fn cursor_round_trips_and_rejects_forgeries() {
        let c = Cursor {
            ts: Timestamp::parse("2025-01-15T10:00:00.5Z").expect("valid"),
            id: MessageId::new("m/1 é\n?&").expect("valid"),
        };
        let token = c.to_token();
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(Cursor::from_token(&token), Ok(c));
        for bad in ["", "c1", "c1zz", "x1aa", "c10", "c1616263", "c1ff0a6d"] {
            assert_eq!(
                Cursor::from_token(bad),
                Err(QueryError::BadCursor),
                "{bad:?}"
            );
        }
    }
}
