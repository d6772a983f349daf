//! [`Message`] and its validated parts.
//!
//! Every part has a private field and a fallible constructor, so a `Message`
//! that breaks a rule cannot be built: code that holds one never re-checks.

use std::fmt;

use crate::record::Envelope;
use crate::timestamp::{Timestamp, TimestampError};

/// The longest [`MessageText`], in Unicode scalar values (Rust `char`s).
pub const MAX_TEXT_CHARS: usize = 4096;

/// The longest [`MessageId`], in Unicode scalar values.
pub const MAX_ID_CHARS: usize = 512;

/// The most digits an [`Msisdn`] may carry after its `+` (E.164's limit).
pub const MAX_MSISDN_DIGITS: usize = 15;

/// The sender's identifier for a message: a non-empty string of at most
/// [`MAX_ID_CHARS`] characters, without NUL.
///
/// It is the idempotency key: the first message stored under an id wins.
/// The bounds keep it storable everywhere: a B-tree key in PostgreSQL holds
/// at most about 2.7 kB, and PostgreSQL's text cannot hold U+0000.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(String);

impl MessageId {
    /// # Errors
    /// [`Problem::Empty`] for the empty string, [`Problem::TooLong`] beyond
    /// [`MAX_ID_CHARS`] characters, [`Problem::NulCharacter`] with U+0000.
    pub fn new(id: impl Into<String>) -> Result<Self, Problem> {
        let id = id.into();
        if id.is_empty() {
            return Err(Problem::Empty);
        }
        if id.len() > MAX_ID_CHARS && id.chars().count() > MAX_ID_CHARS {
            return Err(Problem::TooLong { max: MAX_ID_CHARS });
        }
        if id.contains('\0') {
            return Err(Problem::NulCharacter);
        }
        Ok(Self(id))
    }

    /// The id as received.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164-like form: `+` followed by 1 to 15 ASCII digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Msisdn(String);

impl Msisdn {
    /// # Errors
    /// [`Problem::NotMsisdn`] when the text is not `+` and 1 to 15 digits.
    pub fn new(number: impl Into<String>) -> Result<Self, Problem> {
        let number = number.into();
        let ok = number.strip_prefix('+').is_some_and(|digits| {
            (1..=MAX_MSISDN_DIGITS).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
        });
        if ok {
            Ok(Self(number))
        } else {
            Err(Problem::NotMsisdn)
        }
    }

    /// From digits alone, as WhatsApp sends a sender (`15551234567`
    /// becomes `+15551234567`).
    ///
    /// # Errors
    /// [`Problem::NotMsisdn`] unless `digits` is 1 to 15 ASCII digits.
    pub fn from_digits(digits: &str) -> Result<Self, Problem> {
        Self::new(format!("+{digits}"))
    }

    /// From a number as people write it (WhatsApp's
    /// `display_phone_number`: `+1 555-012 3456`, `15550123456`): its
    /// digits, the rest (spaces, dashes, dots, brackets, a leading `+`)
    /// ignored.
    ///
    /// # Errors
    /// [`Problem::NotMsisdn`] unless there are 1 to 15 digits and nothing
    /// but those separators.
    pub fn from_display(number: &str) -> Result<Self, Problem> {
        let separators = |c: char| matches!(c, ' ' | '-' | '.' | '(' | ')' | '+');
        if !number.chars().all(|c| c.is_ascii_digit() || separators(c)) {
            return Err(Problem::NotMsisdn);
        }
        Self::from_digits(
            &number
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>(),
        )
    }

    /// The number, `+` included.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A message body: at most [`MAX_TEXT_CHARS`] characters (the empty text is allowed).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MessageText(String);

impl MessageText {
    /// # Errors
    /// [`Problem::TooLong`] beyond [`MAX_TEXT_CHARS`] characters,
    /// [`Problem::NulCharacter`] with U+0000.
    pub fn new(text: impl Into<String>) -> Result<Self, Problem> {
        let text = text.into();
        // Bytes bound chars from above: skip the count for short texts.
        if text.len() > MAX_TEXT_CHARS && text.chars().count() > MAX_TEXT_CHARS {
            return Err(Problem::TooLong {
                max: MAX_TEXT_CHARS,
            });
        }
        if text.contains('\0') {
            return Err(Problem::NulCharacter);
        }
        Ok(Self(text))
    }

    /// The text as received.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text as [`crate::text::fold_case`] folds it, for case-insensitive search.
    #[must_use]
    pub fn folded(&self) -> String {
        crate::text::fold_case(&self.0)
    }
}

macro_rules! debug_display_as_str {
    ($($ty:ident),*) => {$(
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($ty)).field(&self.0).finish()
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
debug_display_as_str!(MessageId, Msisdn, MessageText);

/// One inbound message, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    id: MessageId,
    from: Msisdn,
    to: Msisdn,
    ts: Timestamp,
    text: Option<MessageText>,
    envelope: Envelope,
}

impl Message {
    /// Assembles a message from parts that are already valid.
    #[must_use]
    pub fn new(
        id: MessageId,
        from: Msisdn,
        to: Msisdn,
        ts: Timestamp,
        text: Option<MessageText>,
    ) -> Self {
        Self {
            id,
            from,
            to,
            ts,
            text,
            envelope: Envelope::default(),
        }
    }

    /// The same message with `envelope`: what the sender said beyond the
    /// five fields.
    #[must_use]
    pub fn with_envelope(mut self, envelope: Envelope) -> Self {
        self.envelope = envelope;
        self
    }

    /// The same message without its raw bytes (`KEEP_RAW=off`).
    #[must_use]
    pub fn without_raw(mut self) -> Self {
        self.envelope = self.envelope.without_raw();
        self
    }

    /// What the sender said beyond the five fields.
    #[must_use]
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// Validates every field of a decoded payload at once.
    ///
    /// # Errors
    /// [`ValidationErrors`] with one [`FieldError`] per field that breaks a
    /// rule, in field order (`message_id`, `from`, `to`, `ts`, `text`).
    pub fn parse(input: MessageInput<'_>) -> Result<Self, ValidationErrors> {
        let mut errors = Vec::new();
        let id = check(
            &mut errors,
            Field::MessageId,
            required(input.message_id).and_then(MessageId::new),
        );
        let from = check(
            &mut errors,
            Field::From,
            required(input.from).and_then(Msisdn::new),
        );
        let to = check(
            &mut errors,
            Field::To,
            required(input.to).and_then(Msisdn::new),
        );
        let ts = check(
            &mut errors,
            Field::Ts,
            required(input.ts).and_then(|s| Timestamp::parse(s).map_err(Problem::Timestamp)),
        );
        let text = check(
            &mut errors,
            Field::Text,
            match input.text {
                RawField::Missing | RawField::Null => Ok(None),
                RawField::Str(s) => MessageText::new(s).map(Some),
                RawField::NotAString => Err(Problem::NotAString),
            },
        );
        match (id, from, to, ts, text) {
            (Some(id), Some(from), Some(to), Some(ts), Some(text)) if errors.is_empty() => {
                Ok(Self::new(id, from, to, ts, text))
            }
            _ => Err(ValidationErrors(errors)),
        }
    }

    /// The idempotency key.
    #[must_use]
    pub fn id(&self) -> &MessageId {
        &self.id
    }

    /// The sender.
    #[must_use]
    pub fn from(&self) -> &Msisdn {
        &self.from
    }

    /// The recipient.
    #[must_use]
    pub fn to(&self) -> &Msisdn {
        &self.to
    }

    /// When the sender says the message was sent.
    #[must_use]
    pub fn ts(&self) -> &Timestamp {
        &self.ts
    }

    /// The body, if any.
    #[must_use]
    pub fn text(&self) -> Option<&MessageText> {
        self.text.as_ref()
    }
}

fn check<T>(errors: &mut Vec<FieldError>, field: Field, result: Result<T, Problem>) -> Option<T> {
    result
        .map_err(|problem| errors.push(FieldError { field, problem }))
        .ok()
}

fn required(field: RawField<'_>) -> Result<&str, Problem> {
    match field {
        RawField::Missing => Err(Problem::Missing),
        RawField::Null | RawField::NotAString => Err(Problem::NotAString),
        RawField::Str(s) => Ok(s),
    }
}

/// One field of a decoded payload, before validation.
///
/// The caller's decoder (JSON, form, protobuf…) says what it found; the
/// rules about what is acceptable stay here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RawField<'a> {
    /// The field is absent.
    Missing,
    /// The field is present with an explicit null.
    Null,
    /// The field holds a string.
    Str(&'a str),
    /// The field holds something else (a number, a list…).
    NotAString,
}

/// A decoded payload's fields, borrowed from the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageInput<'a> {
    /// `message_id`
    pub message_id: RawField<'a>,
    /// `from`
    pub from: RawField<'a>,
    /// `to`
    pub to: RawField<'a>,
    /// `ts`
    pub ts: RawField<'a>,
    /// `text` (optional: missing and null both mean "no text")
    pub text: RawField<'a>,
}

/// The fields of a message, by their wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// `message_id`
    MessageId,
    /// `from`
    From,
    /// `to`
    To,
    /// `ts`
    Ts,
    /// `text`
    Text,
}

impl Field {
    /// Every field, in wire order.
    pub const ALL: [Self; 5] = [Self::MessageId, Self::From, Self::To, Self::Ts, Self::Text];

    /// The field's name on the wire.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::MessageId => "message_id",
            Self::From => "from",
            Self::To => "to",
            Self::Ts => "ts",
            Self::Text => "text",
        }
    }

    /// The field's place in [`Self::ALL`] (wire order).
    #[must_use]
    pub fn index(self) -> usize {
        match self {
            Self::MessageId => 0,
            Self::From => 1,
            Self::To => 2,
            Self::Ts => 3,
            Self::Text => 4,
        }
    }

    /// The field with this wire name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// What is wrong with one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A required field is absent.
    #[error("Field required")]
    Missing,
    /// The value is not a string (null counts as not a string for required fields).
    #[error("Input should be a valid string")]
    NotAString,
    /// The string is empty.
    #[error("String should have at least 1 character")]
    Empty,
    /// The string is not `+` and 1 to 15 digits.
    #[error("String should match pattern '^\\+[0-9]{{1,15}}$'")]
    NotMsisdn,
    /// The string is longer than allowed.
    #[error("String should have at most {max} characters")]
    TooLong {
        /// The limit, in characters.
        max: usize,
    },
    /// The timestamp breaks a rule.
    #[error("Value error, timestamp {0}")]
    Timestamp(TimestampError),
    /// The string holds U+0000, which no store keeps as text everywhere.
    #[error("Value error, must not contain the NUL character (U+0000)")]
    NulCharacter,
}

impl Problem {
    /// A stable, machine-readable code (pydantic's names where one exists).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::NotAString => "string_type",
            Self::Empty => "string_too_short",
            Self::NotMsisdn => "string_pattern_mismatch",
            Self::TooLong { .. } => "string_too_long",
            Self::Timestamp(_) | Self::NulCharacter => "value_error",
        }
    }
}

/// One field and what is wrong with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}: {problem}", field.name())]
pub struct FieldError {
    /// Which field.
    pub field: Field,
    /// What is wrong.
    pub problem: Problem,
}

/// Every problem found in one payload (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    /// The problems, in field order.
    #[must_use]
    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

#[cfg(test)]
mod tests {
    use super::*;
    use RawField::{Missing, NotAString as Other, Null, Str};

    fn input<'a>(
        id: RawField<'a>,
        from: RawField<'a>,
        to: RawField<'a>,
        ts: RawField<'a>,
        text: RawField<'a>,
    ) -> MessageInput<'a> {
        MessageInput {
            message_id: id,
            from,
            to,
            ts,
            text,
        }
    }

    const FROM: RawField<'static> = Str("+919876543210");
    const TO: RawField<'static> = Str("+14155550100");
    const TS: RawField<'static> = Str("2025-01-15T10:00:00Z");

    #[test]
    fn msisdn_rules() {
        let cases = [
            ("+1", true),
            ("+919876543210", true),
            ("+123456789012345", true),
            ("+1234567890123456", false),
            ("+", false),
            ("919876543210", false),
            ("++1", false),
            ("+1 2", false),
            ("+1-2", false),
            ("+١٢٣", false),
            (" +1", false),
            ("", false),
        ];
        for (number, ok) in cases {
            assert_eq!(Msisdn::new(number).is_ok(), ok, "{number:?}");
        }
    }

    #[test]
    fn text_length_counts_chars_not_bytes() {
        let cases = [
            (String::new(), true),
            ("a".repeat(4096), true),
            ("a".repeat(4097), false),
            ("é".repeat(4096), true),
            ("😀".repeat(4096), true),
            ("😀".repeat(4097), false),
        ];
        for (text, ok) in cases {
            assert_eq!(
                MessageText::new(text.clone()).is_ok(),
                ok,
                "{} chars",
                text.chars().count()
            );
        }
    }

    #[test]
    fn message_id_must_not_be_empty() {
        assert_eq!(MessageId::new(""), Err(Problem::Empty));
        assert_eq!(
            MessageId::new(" ").map(|m| m.as_str().to_owned()),
            Ok(" ".to_owned())
        );
    }

    #[test]
    fn parse_reports_every_problem_in_field_order() {
        type Expect = &'static [(Field, &'static str)];
        let cases: &[(MessageInput<'_>, Expect)] = &[
            (input(Str("m1"), FROM, TO, TS, Str("Hello")), &[]),
            (input(Str("m1"), FROM, TO, TS, Missing), &[]),
            (input(Str("m1"), FROM, TO, TS, Null), &[]),
            (input(Str("m1"), FROM, TO, TS, Str("")), &[]),
            (
                input(Missing, Missing, Missing, Missing, Missing),
                &[
                    (Field::MessageId, "missing"),
                    (Field::From, "missing"),
                    (Field::To, "missing"),
                    (Field::Ts, "missing"),
                ],
            ),
            (
                input(Str(""), FROM, TO, TS, Missing),
                &[(Field::MessageId, "string_too_short")],
            ),
            (
                input(Null, FROM, TO, TS, Missing),
                &[(Field::MessageId, "string_type")],
            ),
            (
                input(Other, FROM, TO, TS, Missing),
                &[(Field::MessageId, "string_type")],
            ),
            (
                input(Str("m"), Str("123"), Str("+1x"), TS, Missing),
                &[
                    (Field::From, "string_pattern_mismatch"),
                    (Field::To, "string_pattern_mismatch"),
                ],
            ),
            (
                input(
                    Str("m"),
                    FROM,
                    TO,
                    Str("2025-01-15T10:00:00+05:30"),
                    Missing,
                ),
                &[(Field::Ts, "value_error")],
            ),
            (
                input(Str("m"), FROM, TO, TS, Other),
                &[(Field::Text, "string_type")],
            ),
        ];
        for (inp, expected) in cases {
            let got: Vec<(Field, &str)> = match Message::parse(*inp) {
                Ok(_) => vec![],
                Err(e) => e
                    .errors()
                    .iter()
                    .map(|e| (e.field, e.problem.code()))
                    .collect(),
            };
            assert_eq!(&got, expected, "{inp:?}");
        }
    }

    #[test]
    fn too_long_text_is_rejected_with_limit() {
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        let err = Message::parse(input(Str("m"), FROM, TO, TS, Str(&long))).expect_err("too long");
        assert_eq!(err.errors()[0].problem, Problem::TooLong { max: 4096 });
        assert_eq!(
            err.errors()[0].problem.to_string(),
            "String should have at most 4096 characters"
        );
    }

    #[test]
    fn numbers_from_digits_and_display_forms() {
        let ok = |r: Result<Msisdn, Problem>| r.map(|m| m.as_str().to_owned());
        assert_eq!(
            ok(Msisdn::from_digits("15551234567")),
            Ok("+15551234567".to_owned())
        );
        assert_eq!(
            ok(Msisdn::from_digits("1234567890123456")),
            Err(Problem::NotMsisdn)
        );
        assert_eq!(ok(Msisdn::from_digits("+1555")), Err(Problem::NotMsisdn));
        assert_eq!(ok(Msisdn::from_digits("")), Err(Problem::NotMsisdn));
        assert_eq!(
            ok(Msisdn::from_display("+1 555-012 (3456)")),
            Ok("+15550123456".to_owned())
        );
        assert_eq!(
            ok(Msisdn::from_display("15550783881")),
            Ok("+15550783881".to_owned())
        );
        assert_eq!(
            ok(Msisdn::from_display("555 CALL NOW")),
            Err(Problem::NotMsisdn)
        );
        assert_eq!(ok(Msisdn::from_display("--")), Err(Problem::NotMsisdn));
    }

    #[test]
    fn ids_are_bounded_and_nul_is_refused_everywhere() {
        assert!(MessageId::new("i".repeat(MAX_ID_CHARS)).is_ok());
        assert!(MessageId::new("é".repeat(MAX_ID_CHARS)).is_ok());
        assert_eq!(
            MessageId::new("i".repeat(MAX_ID_CHARS + 1)),
            Err(Problem::TooLong { max: MAX_ID_CHARS })
        );
        assert_eq!(MessageId::new("a\0"), Err(Problem::NulCharacter));
        assert_eq!(MessageText::new("a\0b").err(), Some(Problem::NulCharacter));
        assert!(MessageId::new("a\u{1}\n").is_ok());
        assert_eq!(Problem::NulCharacter.code(), "value_error");
    }

    #[test]
    fn parsed_message_keeps_values() {
        let m = Message::parse(input(Str("m1"), FROM, TO, TS, Str("Hello"))).expect("valid");
        assert_eq!(m.id().as_str(), "m1");
        assert_eq!(m.from().as_str(), "+919876543210");
        assert_eq!(m.to().as_str(), "+14155550100");
        assert_eq!(m.ts().as_str(), "2025-01-15T10:00:00Z");
        assert_eq!(m.text().map(MessageText::as_str), Some("Hello"));
    }
}
